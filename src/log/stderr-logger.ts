import type { LogFields, Logger } from './types.js';

type Write = (line: string) => void;

// Zero-dependency logger: one JSON-ish line per entry to a writer (stderr by default).
export function createLineLogger(write: Write = (l) => process.stderr.write(l), base: LogFields = {}): Logger {
  const emit = (level: string, msg: string, fields?: LogFields): void => {
    const all = { ...base, ...fields };
    const extra = Object.keys(all).length > 0 ? ` ${safeJson(all)}` : '';
    write(`${new Date().toISOString()} ${level} ${msg}${extra}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLineLogger(write, { ...base, ...fields }),
    close: async () => {},
  };
}

/** A logger that records entries in memory, for tests and for --explain. */
export interface MemoryLogger extends Logger {
  readonly entries: { level: string; msg: string; fields: LogFields }[];
}

export function createMemoryLogger(base: LogFields = {}, entries: MemoryLogger['entries'] = []): MemoryLogger {
  const push = (level: string) => (msg: string, fields?: LogFields) => {
    entries.push({ level, msg, fields: { ...base, ...fields } });
  };
  return {
    entries,
    debug: push('debug'),
    info: push('info'),
    warn: push('warn'),
    error: push('error'),
    child: (fields) => createMemoryLogger({ ...base, ...fields }, entries),
    close: async () => {},
  };
}

export function safeJson(v: unknown): string {
  return JSON.stringify(v, (key, value: unknown) => {
    if (key === 'password' || key === 'passphrase') return '***';
    if (value instanceof Error) return { name: value.name, message: value.message, code: (value as NodeJS.ErrnoException).code };
    if (typeof value === 'bigint') return value.toString();
    return value;
  });
}
