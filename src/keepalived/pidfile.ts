import type { PidFileRead, ProcessInfo } from '../platform/procfs.js';

/** What stopping keepalived did, for the log and the exit path. */
export type StopOutcome =
  | { readonly action: 'signalled'; readonly pid: number; readonly detail: string }
  | { readonly action: 'not-running'; readonly detail: string }
  | { readonly action: 'refused'; readonly pid?: number; readonly detail: string }
  | { readonly action: 'failed'; readonly pid: number; readonly detail: string }
  | { readonly action: 'dry-run'; readonly pid: number; readonly detail: string };

/** The few process operations stopping keepalived needs; the real ones read /proc and call process.kill. */
export interface ProcessControl {
  readPidFile(path: string): PidFileRead;
  readProcess(pid: number): ProcessInfo | undefined;
  sendSigterm(pid: number): void;
}

export const KEEPALIVED_COMM = 'keepalived';

// The precise form of the seed's `pkill keepalived`: SIGTERM to the pid in keepalived's pid file, and only if that pid is keepalived.
export function stopKeepalived(pidFile: string, ctl: ProcessControl, opts: { dryRun?: boolean } = {}): StopOutcome {
  const read = ctl.readPidFile(pidFile);
  if (!read.ok) return { action: 'not-running', detail: `${read.why}; nothing to stop` };
  const p = ctl.readProcess(read.pid);
  if (p === undefined) return { action: 'not-running', detail: `pid file ${pidFile} holds ${read.pid}, which is not running (stale pid file)` };
  // A recycled pid must never be signalled: the comm check is what makes this safer than pkill.
  if (p.comm !== KEEPALIVED_COMM) {
    return { action: 'refused', pid: p.pid, detail: `pid file ${pidFile} holds ${p.pid}, which is ${p.comm}, not keepalived; not signalled` };
  }
  if (p.state === 'Z') return { action: 'not-running', detail: `keepalived pid ${p.pid} is already a zombie` };
  if (opts.dryRun) return { action: 'dry-run', pid: p.pid, detail: `would send SIGTERM to keepalived pid ${p.pid} (from ${pidFile})` };
  try {
    ctl.sendSigterm(p.pid);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    if (code === 'ESRCH') return { action: 'not-running', detail: `keepalived pid ${p.pid} exited before the signal` };
    return { action: 'failed', pid: p.pid, detail: `SIGTERM to keepalived pid ${p.pid} failed: ${code}` };
  }
  return { action: 'signalled', pid: p.pid, detail: `sent SIGTERM to keepalived pid ${p.pid} (from ${pidFile})` };
}
