import type { Clock } from './clock.js';

// Polling interval for waits without a server-side wait function: start fast, back off to 1 s.
export function nextPollDelay(previousMs: number): number {
  return Math.min(1000, Math.max(20, Math.round(previousMs * 1.6)));
}

export interface PollOptions<T> {
  readonly clock: Clock;
  /** Aborting ends the wait by rejecting with the signal's reason (the caller's step deadline). */
  readonly signal: AbortSignal;
  /** Stop polling once this many ms have passed and return the last value (Infinity: only the signal ends it). */
  readonly deadlineMs: number;
  /** The value already in hand: checked before the first read. */
  readonly initial?: T;
  readonly firstDelayMs?: number;
  /** The longest sleep between reads (default 1000 ms): a wait whose read itself blocks needs no back-off. */
  readonly maxDelayMs?: number;
  readonly read: (signal: AbortSignal) => Promise<T>;
  /** True when waiting longer cannot change the outcome (done, or failed for good). */
  readonly settled: (value: T) => boolean;
  /** Called before each sleep; throwing ends the wait (e.g. a newer request is waiting). */
  readonly beforeSleep?: (value: T, delayMs: number) => Promise<void> | void;
}

export interface PollResult<T> {
  readonly value: T;
  readonly settled: boolean;
}

/** The one polling loop: read until settled or the deadline passes, sleeping with a growing interval between reads. */
export async function pollUntil<T>(o: PollOptions<T>): Promise<PollResult<T>> {
  const until = o.clock.now() + o.deadlineMs;
  let delay = o.firstDelayMs ?? 20;
  let value = 'initial' in o && o.initial !== undefined ? o.initial : await o.read(o.signal);
  for (;;) {
    if (o.settled(value)) return { value, settled: true };
    const left = until - o.clock.now();
    if (left <= 0) return { value, settled: false };
    const sleepMs = Math.max(1, Math.min(delay, left));
    await o.beforeSleep?.(value, sleepMs);
    await o.clock.sleep(sleepMs, o.signal);
    delay = Math.min(o.maxDelayMs ?? 1000, nextPollDelay(delay));
    value = await o.read(o.signal);
  }
}
