import { AppError, describeError } from '../errors.js';
import type { Logger } from '../log/types.js';
import type { Clock } from '../platform/clock.js';
import type { HeldLock, TryLock } from '../platform/lock.js';
import type { TargetState } from './transition.js';

/** One recorded request for a state: numbered in arrival order, so "latest" is well defined across processes. */
export interface TransitionRequest {
  readonly seq: number;
  readonly state: TargetState;
  readonly requestedAt: string;
  readonly pid: number;
  readonly origin: string;
  readonly transitionId: string;
}

/** The last request a lock holder finished (successfully or not). */
export interface HandledRequest {
  readonly seq: number;
  readonly state: TargetState;
  readonly transitionId: string;
  readonly exitCode: number;
  readonly outcome: string;
  readonly finishedAt: string;
  readonly pid: number;
}

/** Durable request log in the state dir; every write atomic. */
export interface RequestStore {
  /** Appends a request with the next sequence number (atomic even when many processes race). */
  record(req: Omit<TransitionRequest, 'seq'>): Promise<TransitionRequest>;
  latest(): Promise<TransitionRequest | undefined>;
  get(seq: number): Promise<TransitionRequest | undefined>;
  handled(): Promise<HandledRequest | undefined>;
  markHandled(h: HandledRequest): Promise<void>;
  /** Drops request files older than the newest `keep` (lock holder only). */
  prune(keep: number): Promise<void>;
}

export interface LatestWinsDeps {
  readonly store: RequestStore;
  readonly lock: TryLock;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface LatestWinsOptions {
  /** How long to keep trying the lock before giving up (LOCK_BUSY). */
  readonly lockWaitMs: number;
  /** At most this many transitions per lock holding: a flapping VRRP cannot keep one process busy forever. */
  readonly maxTransitions: number;
}

/** Applies one request while holding the lock; returns the exit code to record. `lost` fires if the lock is taken over. */
export type ApplyRequest = (req: TransitionRequest, lost: AbortSignal) => Promise<{ exitCode: number; outcome: string }>;

/**
 * "Latest requested state wins", one transition at a time:
 * every process first records its request (done by the caller), then until some request at least as new as
 * its own has been handled, it tries the lock. The holder applies the newest unhandled request (never an older
 * one), re-reads after each, and after releasing checks once more, so a request recorded between its last
 * check and its release is never stranded (its own process, or this one, picks it up).
 */
export async function runLatestWins(mySeq: number, deps: LatestWinsDeps, opts: LatestWinsOptions, apply: ApplyRequest): Promise<number> {
  const { store, lock, clock, log } = deps;
  const until = clock.now() + opts.lockWaitMs;
  let delay = 10;
  let mine: number | undefined;
  let gapRetry = false;
  for (;;) {
    const handled = await store.handled();
    if (handled && handled.seq >= mySeq && !gapRetry) {
      if (mine !== undefined) return mine;
      if (handled.seq === mySeq) {
        log.info(`request #${mySeq} was handled by pid ${handled.pid}: ${handled.outcome}`, { handledBy: handled.transitionId });
        return handled.exitCode;
      }
      log.info(`request #${mySeq} superseded by #${handled.seq} (${handled.state}, ${handled.outcome}); not applied`,
        { supersededBy: handled.transitionId });
      return 0;
    }
    const held = await lock.tryAcquire();
    if (!held && gapRetry) {
      // Someone else holds the lock now: the late request is in their hands.
      gapRetry = false;
      continue;
    }
    gapRetry = false;
    if (held) {
      try {
        mine = (await drain(mySeq, deps, opts, apply, held)) ?? mine;
      } finally {
        await held.release();
      }
      // The gap between the holder's last check and its release: look once more, and go round if something is left.
      const latest = await store.latest();
      const after = await store.handled();
      if (!latest || (after && after.seq >= latest.seq)) {
        if (mine !== undefined) return mine;
        continue;
      }
      log.info(`request #${latest.seq} arrived while releasing the lock; trying again`);
      gapRetry = true;
      continue;
    }
    if (clock.now() >= until) {
      throw new AppError('LOCK_BUSY', `another notify held the transition lock for more than ${opts.lockWaitMs} ms; request #${mySeq} not applied`);
    }
    await clock.sleep(delay);
    delay = Math.min(250, delay * 2);
  }
}

// Holder loop: the newest unhandled request, again and again, until nothing newer is left (bounded).
async function drain(mySeq: number, deps: LatestWinsDeps, opts: LatestWinsOptions, apply: ApplyRequest,
  held: HeldLock): Promise<number | undefined> {
  const { store, log, clock } = deps;
  let mine: number | undefined;
  for (let n = 0; ; n++) {
    const latest = await store.latest();
    const handled = await store.handled();
    if (!latest || (handled && handled.seq >= latest.seq)) return mine;
    if (n >= opts.maxTransitions) {
      log.warn(`handled ${n} transitions under one lock; leaving request #${latest.seq} to its own process`);
      return mine;
    }
    if (held.lost.aborted) throw new AppError('LOCK_BUSY', 'transition lock lost; stopping');
    if (latest.seq > mySeq && n === 0) log.info(`request #${mySeq} superseded by #${latest.seq} (${latest.state}) before it started`);
    let result: { exitCode: number; outcome: string };
    try {
      result = await apply(latest, held.lost);
    } catch (err) {
      // apply maps errors to exit codes itself; anything escaping is a bug, recorded so the request is not retried forever.
      result = { exitCode: 70, outcome: `internal error: ${describeError(err)}` };
    }
    await store.markHandled({
      seq: latest.seq, state: latest.state, transitionId: latest.transitionId, exitCode: result.exitCode,
      outcome: result.outcome, finishedAt: new Date(clock.now()).toISOString(), pid: process.pid,
    });
    await store.prune(50).catch(() => undefined);
    if (latest.seq === mySeq) mine = result.exitCode;
    else if (latest.seq > mySeq && mine === undefined) mine = 0;
  }
}
