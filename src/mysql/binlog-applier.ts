import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { runCommand } from '../platform/run-command.js';
import type { BinlogApplier, BinlogChunk, MysqlTarget } from './types.js';

// The one module that runs the server's own binlog tools: `mariadb-binlog FILE | mariadb` (MySQL: mysqlbinlog | mysql).
// Credentials go through a 0600 --defaults-extra-file, never argv; both children are killed when the deadline passes.

const BINLOG_MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
// Enough of a tool's stderr to name the failing statement; the rest is noise.
const STDERR_KEEP = 4096;
// A large row event becomes one long BINLOG statement; the client's 16 MB default would cut it.
const CLIENT_MAX_PACKET = 1024 * 1024 * 1024;

const TOOLS = {
  mariadb: { dump: 'mariadb-binlog', client: 'mariadb' },
  mysql: { dump: 'mysqlbinlog', client: 'mysql' },
} as const;

export interface BinlogApplierOptions {
  /** Where the temp binlogs and the defaults file are written (the node's state dir). */
  readonly dir: string;
  readonly target: MysqlTarget;
  /** Tool overrides (absolute paths), e.g. for a non-standard install. */
  readonly tools?: Partial<Record<'mariadb' | 'mysql', { dump: string; client: string }>>;
}

// Option-file value: double-quoted with backslash escapes, so any password survives.
const optionValue = (v: string): string => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export async function writePrivate(path: string, data: Buffer | string): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A 0600 client option file for target (credentials never go on argv). */
export async function writeClientDefaults(path: string, t: MysqlTarget): Promise<void> {
  await writePrivate(path, [
    '[client]', `user=${optionValue(t.user)}`, `password=${optionValue(t.password)}`,
    ...(t.socketPath !== undefined ? [`socket=${optionValue(t.socketPath)}`] : [`host=${optionValue(t.host)}`, `port=${t.port}`]),
    `connect-timeout=${Math.max(1, Math.ceil(t.connectTimeoutMs / 1000))}`, '',
  ].join('\n'));
}

/** The real applier: one temp binlog per chunk (magic + format description + events), applied in order. */
export function createBinlogApplier(opts: BinlogApplierOptions): BinlogApplier {
  return {
    async apply(chunks: readonly BinlogChunk[], flavor: 'mysql' | 'mariadb', signal: AbortSignal): Promise<void> {
      const tools = opts.tools?.[flavor] ?? TOOLS[flavor];
      await mkdir(opts.dir, { recursive: true });
      const stem = join(opts.dir, `recover-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`);
      const cnf = `${stem}.cnf`;
      await writeClientDefaults(cnf, opts.target);
      const written: string[] = [];
      try {
        for (const [i, c] of chunks.entries()) {
          const file = `${stem}-${i}.binlog`;
          await writePrivate(file, Buffer.concat([BINLOG_MAGIC, c.formatDescription, c.events]));
          written.push(file);
          await pipeline(tools.dump, [file], tools.client, clientArgs(cnf), signal,
            `${c.sourceFile}:${c.from}-${c.to} (kept in ${file})`);
        }
        // Applied: the temp binlogs are no longer needed; on failure they stay for the operator.
        await Promise.all(written.map((f) => unlink(f).catch(() => undefined)));
      } finally {
        await unlink(cnf).catch(() => undefined);
      }
    },
  };
}

/** Arguments of the client that applies a binlog dump (long BINLOG statements, stop at the first error). */
export const clientArgs = (cnf: string, ...extra: string[]): string[] =>
  [`--defaults-extra-file=${cnf}`, ...extra, '--batch', '--binary-mode', `--max-allowed-packet=${CLIENT_MAX_PACKET}`];

// The client echoes the failing statement (base64 BINLOG blobs) around its ERROR line: keep the ERROR lines.
function firstErrors(stderr: string): string {
  const lines = stderr.trim().split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const errors = lines.filter((l) => /^ERROR\b/.test(l));
  return (errors.length > 0 ? errors : lines).slice(0, 3).join(' / ').slice(0, 600);
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

function watch(child: ChildProcess): Promise<Exit> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < STDERR_KEEP) stderr += d.toString('utf8');
  });
  return new Promise((resolve) => {
    child.once('error', (err) => resolve({ code: null, signal: null, stderr: `${stderr}${err.message}` }));
    child.once('close', (code, sig) => resolve({ code, signal: sig, stderr }));
  });
}

// dump FILE | client, both killed (by their own pids) on abort; fails unless both exit 0 with no ERROR from the client.
export async function pipeline(dumpBin: string, dumpArgs: string[], clientBin: string, clientArgv: string[], signal: AbortSignal,
  what: string): Promise<void> {
  if (signal.aborted) throw new AppError('DEADLINE_EXCEEDED', `deadline passed before applying ${what}`);
  const dump = spawn(dumpBin, dumpArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  const dumpExit = watch(dump);
  const client = spawn(clientBin, clientArgv, { stdio: [dump.stdout ?? 'ignore', 'ignore', 'pipe'] });
  const clientExit = watch(client);
  // The client holds the pipe now; our copy would keep it open if the client died and leave the dump blocked.
  dump.stdout?.destroy();
  const kill = (): void => {
    for (const c of [dump, client]) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) c.kill('SIGKILL');
  };
  signal.addEventListener('abort', kill, { once: true });
  try {
    const [d, c] = await Promise.all([dumpExit, clientExit]);
    if (signal.aborted) throw new AppError('DEADLINE_EXCEEDED', `applying ${what}: deadline passed; ${dumpBin} and ${clientBin} were killed`);
    const bad = (e: Exit): boolean => e.code !== 0 || e.signal !== null;
    if (bad(d) || bad(c) || /\bERROR\b/.test(c.stderr)) {
      const line = (e: Exit): string => `exit ${e.code ?? e.signal}${e.stderr.trim() ? `: ${firstErrors(e.stderr)}` : ''}`;
      throw new AppError('FAILOVER_STEP_FAILED', `applying ${what} failed: ${dumpBin} ${line(d)}; ${clientBin} ${line(c)}`);
    }
  } finally {
    signal.removeEventListener('abort', kill);
  }
}

/** mariadb-binlog over saved binlog files: rendering, and flashback applied without writing this node's binlog. */
export interface BinlogTools {
  render(files: readonly string[], out: string, form: 'replay' | 'readable', signal: AbortSignal): Promise<void>;
  /** Undoes the row events of files (newest file first) on target with sql_log_bin=0: no new GTIDs are made. */
  flashback(files: readonly string[], signal: AbortSignal): Promise<void>;
}

export function createBinlogTools(opts: BinlogApplierOptions): BinlogTools {
  const tools = opts.tools?.mariadb ?? TOOLS.mariadb;
  return {
    async render(files, out, form, signal) {
      const args = form === 'readable' ? ['-v', '--base64-output=DECODE-ROWS'] : [];
      await runCommand([tools.dump, ...args, ...files], signal, { what: `rendering ${files.length} saved binlog(s) (${form})`, stdoutTo: out });
    },
    async flashback(files, signal) {
      await mkdir(opts.dir, { recursive: true });
      const cnf = join(opts.dir, `flashback-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}.cnf`);
      await writeClientDefaults(cnf, opts.target);
      try {
        for (const file of [...files].reverse()) {
          await pipeline(tools.dump, ['--flashback', file], tools.client, clientArgs(cnf, '--init-command=SET SESSION sql_log_bin=0'),
            signal, `flashback of ${file}`);
        }
      } finally {
        await unlink(cnf).catch(() => undefined);
      }
    },
  };
}
