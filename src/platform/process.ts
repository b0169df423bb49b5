import type { ExitCode } from '../cli/exit-codes.js';

/** 'drain' lets the event loop finish what is in flight (a hard stop covers leaks); 'now' exits at once. */
export type Ending = 'drain' | 'now';

// How long a drained command may still wait on a leaked handle before it exits anyway.
const DRAIN_HARD_STOP_MS = 2000;

// The one place that ends the process. 'now' is for a command that has awaited every write it makes (stdio is
// synchronous on Linux): check-mysql, where closing its spent sockets through the event loop cost 2 ms of every run.
export function finish(code: ExitCode, ending: Ending = 'drain'): void {
  if (ending === 'now') process.exit(code);
  process.exitCode = code;
  const t = setTimeout(() => process.exit(code), DRAIN_HARD_STOP_MS);
  t.unref();
}

// A last-resort watchdog: whatever is still running after ms, the process exits with code.
export function installWatchdog(ms: number, code: ExitCode, onFire?: () => void): () => void {
  const t = setTimeout(() => {
    onFire?.();
    process.exit(code);
  }, ms);
  t.unref();
  return () => clearTimeout(t);
}

// SIGTERM/SIGINT (keepalived stopping, an operator's Ctrl-C) call handler instead of killing the process outright.
export function onTerminate(handler: (signal: NodeJS.Signals) => void): () => void {
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
