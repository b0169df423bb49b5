import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';
import type { LogFields, Logger } from './types.js';
import { safeJson } from './stderr-logger.js';

export interface FileLoggerOptions {
  logDir: string;
  /** File name stem: `<stem>-YYYY-MM-DD.log`. */
  stem: string;
  /** Fields on every line (command, pid, transition id). */
  base: LogFields;
  /** Mirror every line to stderr too (a human at a terminal). */
  alsoStderr?: boolean;
}

// The only module that loads winston; reached by dynamic import so healthy check-mysql runs never pay for it.
export function createFileLogger(opts: FileLoggerOptions): Logger {
  const line = winston.format.printf((info) => {
    const { level, message, timestamp, ...rest } = info as Record<string, unknown>;
    const fields = Object.keys(rest).length > 0 ? ` ${safeJson(rest)}` : '';
    return `${String(timestamp)} ${String(level)} ${String(message)}${fields}`;
  });
  const file = new DailyRotateFile({
    dirname: opts.logDir,
    filename: `${opts.stem}-%DATE%.log`,
    datePattern: 'YYYY-MM-DD',
    // The seed's policy: 10 MB a file, 20 files kept.
    maxSize: '10m',
    maxFiles: 20,
    createSymlink: true,
    symlinkName: `${opts.stem}.log`,
    auditFile: `${opts.logDir}/.${opts.stem}-audit.json`,
  });
  const transports: winston.transport[] = [file];
  if (opts.alsoStderr) {
    transports.push(new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] }));
  }
  const root = winston.createLogger({
    level: 'debug',
    format: winston.format.combine(winston.format.timestamp(), line),
    defaultMeta: opts.base,
    transports,
  });
  const closed = { done: false };
  return wrap(root, root, closed);
}

function wrap(root: winston.Logger, w: winston.Logger, closed: { done: boolean }): Logger {
  return {
    debug: (m, f) => void w.debug(m, f),
    info: (m, f) => void w.info(m, f),
    warn: (m, f) => void w.warn(m, f),
    error: (m, f) => void w.error(m, f),
    child: (fields) => wrap(root, w.child(fields), closed),
    // winston loses lines on process.exit (winston#228): end the stream and wait for 'finish', bounded.
    close: (timeoutMs = 1000) =>
      new Promise<void>((resolve) => {
        if (closed.done) return resolve();
        closed.done = true;
        // Ref'd timers: with unref'd ones an otherwise idle process exits (code 0) before close() resolves.
        const timer = setTimeout(resolve, timeoutMs);
        root.on('finish', () => {
          clearTimeout(timer);
          // daily-rotate-file finishes its file stream a tick after the logger's 'finish'.
          setTimeout(resolve, 50);
        });
        root.end();
      }),
  };
}
