import type { ExitCode } from '../cli/exit-codes.js';

// The one place that ends the process: set the code and let the event loop drain; a hard stop covers leaks.
export function finish(code: ExitCode, hardStopAfterMs = 2000): void {
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
