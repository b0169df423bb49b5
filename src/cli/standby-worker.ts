import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

// keepalived's FIFO consumer keeps one detached worker started ahead with its modules loaded: a state change is handed
// to it over a pipe instead of waiting for a node start and the failover code to load (~150 ms of every failover).

/** What the consumer holds of the worker it started ahead. */
export interface Standby {
  /** Gives it request `seq`; `onLost` runs when it ends without having taken it (it died), so a fresh worker can. */
  hand(seq: number, onLost: () => void): void;
  /** No request for it: its stdin closes and it exits. */
  release(): void;
}

const TAKEN = 'taken';

export function startStandby(argv: readonly string[]): Standby {
  // setsid, as for every worker: keepalived's stop signals its process group, and a promotion must not die half-done.
  const child = spawn(process.execPath, [...argv], { detached: true, stdio: ['pipe', 'pipe', 'ignore'] });
  let taken = false;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => { if (d.includes(TAKEN)) taken = true; });
  // A pipe to a standby that died is EPIPE: its 'close' decides what happens to the request.
  child.stdin.on('error', () => undefined);
  child.on('error', () => undefined);
  child.unref();
  for (const s of [child.stdin, child.stdout] as unknown as { unref?: () => void }[]) s.unref?.();
  return {
    hand(seq, onLost) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        onLost();
        return;
      }
      // 'close' comes after its stdout has been read to the end: a "taken" it wrote is seen first.
      child.once('close', () => { if (!taken) onLost(); });
      child.stdin.end(`${seq}\n`);
    },
    release() {
      child.stdin.end();
    },
  };
}

/**
 * Which build of a file is installed: a build or an install replaces or rewrites it. A standby started before that
 * holds the old code in memory and must not run a transition with it.
 */
export function codeStamp(file: string): string {
  const st = statSync(file, { throwIfNoEntry: false });
  return st === undefined ? 'missing' : `${st.ino}:${st.size}:${st.mtimeMs}`;
}

export type HandOff =
  | { readonly kind: 'taken'; readonly seq: number }
  | { readonly kind: 'declined'; readonly seq: number }
  | { readonly kind: 'released' };

/**
 * In the standby: the request number handed over, taken, or declined when `current()` says the code installed now is
 * not the code this process loaded (it then exits without taking it, and the consumer starts a worker on the new code);
 * released when the consumer went away first (EOF).
 */
export async function awaitHandOff(input: Readable, output: NodeJS.WritableStream, current: () => boolean): Promise<HandOff> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!/^\d{1,15}$/.test(line.trim())) return { kind: 'released' };
    const seq = Number(line.trim());
    if (!current()) return { kind: 'declined', seq };
    // The consumer may be gone by now: a write to its closed pipe is nobody's failure.
    output.on('error', () => undefined);
    output.write(`${TAKEN}\n`);
    return { kind: 'taken', seq };
  }
  return { kind: 'released' };
}
