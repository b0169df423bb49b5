import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { AppError } from '../errors.js';

// Runs one program (argv, no shell) under a deadline: killed by its own pid when the signal fires.

const STDERR_KEEP = 4096;

export interface RunOptions {
  /** What the command is for, in error messages. */
  readonly what: string;
  /** stdout goes to this file (created 0600, truncated) or stream; otherwise it is collected and returned. */
  readonly stdoutTo?: string | Writable;
  readonly stdin?: Readable;
}

export async function runCommand(argv: readonly string[], signal: AbortSignal, opts: RunOptions): Promise<string> {
  const [bin, ...args] = argv;
  if (bin === undefined) throw new AppError('CONFIG_INVALID', `${opts.what}: empty command`);
  if (signal.aborted) throw new AppError('DEADLINE_EXCEEDED', `deadline passed before ${opts.what}`);
  const file = typeof opts.stdoutTo === 'string' ? await open(opts.stdoutTo, 'w', 0o600) : undefined;
  try {
    const child = spawn(bin, args, { stdio: [opts.stdin ? 'pipe' : 'ignore', file ? file.fd : 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    if (!file) {
      if (opts.stdoutTo !== undefined && typeof opts.stdoutTo !== 'string') child.stdout?.pipe(opts.stdoutTo, { end: false });
      else child.stdout?.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    }
    child.stderr?.on('data', (d: Buffer) => { if (stderr.length < STDERR_KEEP) stderr += d.toString('utf8'); });
    if (opts.stdin && child.stdin) opts.stdin.pipe(child.stdin);
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL');
    };
    signal.addEventListener('abort', kill, { once: true });
    try {
      const exit = await new Promise<{ code: number | null; sig: NodeJS.Signals | null; err?: Error }>((resolve) => {
        child.once('error', (err) => resolve({ code: null, sig: null, err }));
        child.once('close', (code, sig) => resolve({ code, sig }));
      });
      if (signal.aborted) throw new AppError('DEADLINE_EXCEEDED', `${opts.what}: deadline passed; ${bin} was killed`);
      if (exit.err || exit.code !== 0) {
        const why = exit.err?.message ?? `exit ${exit.code ?? exit.sig}`;
        const tail = stderr.trim().split('\n').slice(-3).join(' / ').slice(0, 600);
        throw new AppError('FAILOVER_STEP_FAILED', `${opts.what}: ${bin} ${why}${tail ? `: ${tail}` : ''}`);
      }
      return stdout;
    } finally {
      signal.removeEventListener('abort', kill);
    }
  } finally {
    await file?.close();
  }
}
