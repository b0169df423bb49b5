import { execFile } from 'node:child_process';

// Process helpers of the lab: every command has a timeout; failures carry the command's stderr, one line.

export class LabError extends Error {
  override name = 'LabError';
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export function run(cmd: string, args: readonly string[], opts: { timeoutMs?: number; input?: string; allowFail?: boolean } = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : e.killed ? 124 : 1) : 0;
      if (e && typeof e.code === 'string' && e.code === 'ENOENT') {
        reject(new LabError(`${cmd}: not installed (run scripts/install-deps.sh)`));
        return;
      }
      if (code !== 0 && !opts.allowFail) {
        const why = e?.killed ? `timed out after ${timeoutMs} ms` : `exit ${code}`;
        const tail = (stderr || stdout).trim().split('\n').slice(-3).join(' | ');
        reject(new LabError(`${cmd} ${args.join(' ').slice(0, 200)}: ${why}${tail ? `: ${tail}` : ''}`));
        return;
      }
      resolve({ stdout, stderr, code });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Runs a shell script inside a host (nsenter into the holder's net, mount, pid and uts namespaces). */
export function inHost(holderPid: number, script: string, opts: { timeoutMs?: number; allowFail?: boolean; input?: string } = {}): Promise<RunResult> {
  return run('nsenter', [...nsenterArgs(holderPid), 'bash', '-c', script], opts);
}

export function nsenterArgs(holderPid: number): string[] {
  return ['-t', String(holderPid), '-n', '-m', '-p', '-u', '--'];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined, or fails after timeoutMs naming `what`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= end) {
      throw new LabError(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message.split('\n')[0]})` : ''}`);
    }
    await sleep(everyMs);
  }
}
