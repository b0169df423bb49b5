import type { ExitCode } from '../cli/exit-codes.js';

/** 'drain' lets the event loop finish what is in flight (a hard stop covers leaks); 'now' exits at once. */
export type Ending = 'drain' | 'now';

// The one place that ends the process. 'now' is for a command that has awaited every write it makes (stdio is
// synchronous on Linux): check-mysql, where closing its spent sockets through the event loop cost 2 ms of every run.
export function finish(code: ExitCode, ending: Ending = 'drain', hardStopAfterMs = 2000): void {
  if (ending === 'now') process.exit(code);
  process.exitCode = code;
  const t = setTimeout(() => process.exit(code), hardStopAfterMs);
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
