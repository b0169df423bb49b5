import { spawn } from 'node:child_process';

/**
 * Starts `command` with `event` as one JSON line on stdin and returns at once: the caller never waits for it.
 * coreutils `timeout` bounds it (TERM after timeoutMs, KILL 1 s later) even after this process has exited;
 * setsid keeps keepalived's stop from killing it with notify's process group.
 */
export function fireAlert(command: readonly string[], timeoutMs: number, event: object, onError: (why: string) => void): void {
  const [file, ...args] = command;
  if (file === undefined) return;
  const seconds = `${Math.max(0.1, timeoutMs / 1000)}s`;
  try {
    const child = spawn('timeout', ['--kill-after=1s', seconds, file, ...args], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.once('error', (err) => onError(`alert command ${file}: ${err.message}`));
    // A command that does not read its stdin closes the pipe: that is its business, not an error of ours.
    child.stdin.once('error', () => undefined);
    child.stdin.end(`${JSON.stringify(event)}\n`);
    child.unref();
  } catch (err) {
    onError(`alert command ${file}: ${(err as Error).message}`);
  }
}
