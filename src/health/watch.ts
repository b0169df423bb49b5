import type { Config } from '../config/schema.js';
import { describeError, isAppError } from '../errors.js';
import type { Logger } from '../log/types.js';
import type { Clock } from '../platform/clock.js';
import { scope } from '../platform/deadline.js';
import { decisionFor, type CheckDecision } from './decision-journal.js';
import type { Verdict } from './evaluate.js';
import type { Round, RoundRun } from './round.js';

// The fast profile's resident watcher: one check round every check.watch.intervalMs, its verdict in a file keepalived
// tracks (track_file, weight 0: non-zero is FAULT at once). check-mysql stays the vrrp_script, the backstop when this dies.

/** What stateDir/check.down holds: 1 holds the node out of the VRRP race, 0 lets it in. */
export type TrackValue = '0' | '1';

/** What one round gave: a verdict, or none (check.deadlineMs passed, or the round failed), which check-mysql would exit non-zero on. */
export type RoundResult =
  | { readonly kind: 'verdict'; readonly verdict: Verdict }
  | { readonly kind: 'no-verdict'; readonly detail: string };

export interface WatchState {
  /** What the file holds, as far as this watcher knows (undefined: not read or not written yet). */
  readonly track: TrackValue | undefined;
  /** The last round's outcome in one word, so a change is logged and journalled once, not every round. */
  readonly seen: string | undefined;
}

export interface WatchStep {
  readonly state: WatchState;
  /** Write the file: it changes. */
  readonly write?: TrackValue;
  /** The outcome changed: journal it, then log this line. */
  readonly change?: { readonly line: string; readonly level: 'info' | 'warn' | 'error' };
}

export function trackValueFor(r: RoundResult): TrackValue {
  return r.kind === 'verdict' && r.verdict.status === 'healthy' ? '0' : '1';
}

function outcomeKey(r: RoundResult): string {
  if (r.kind === 'no-verdict') return 'no-verdict';
  return r.verdict.status === 'down' ? `down:${r.verdict.reason}` : `healthy:${r.verdict.how}`;
}

// Decides what a round changes: the file only when its value changes, one journal entry and log line per new outcome.
export function watchStep(state: WatchState, r: RoundResult): WatchStep {
  const track = trackValueFor(r);
  const seen = outcomeKey(r);
  const next = { track, seen };
  const write = track !== state.track ? { write: track } : {};
  if (seen === state.seen && write.write === undefined) return { state: next };
  const file = write.write !== undefined ? `check.down ${state.track ?? 'unset'} → ${track}` : `check.down stays ${track}`;
  if (r.kind === 'no-verdict') return { state: next, ...write, change: { line: `${file}: no verdict (${r.detail})`, level: 'error' } };
  const v = r.verdict;
  if (v.status === 'down') return { state: next, ...write, change: { line: `${file}: down (${v.reason}): ${v.summary}`, level: 'error' } };
  const level = v.how === 'answered' ? 'info' : v.how === 'alive-but-refusing' ? 'error' : 'warn';
  return { state: next, ...write, change: { line: `${file}: healthy (${v.how}): ${v.summary}`, level } };
}

// Slack on top of the longest gap between two beats (a round to its deadline, then an interval's sleep).
const BEAT_GRACE_MS = 1000;

/** Whether a watcher's heartbeat (watch.beat's mtime) is recent enough that it is alive and running rounds. */
export function beatIsFresh(beatMs: number | undefined, now: number, check: Config['check']): boolean {
  return beatMs !== undefined && now - beatMs <= check.deadlineMs + check.watch.intervalMs + BEAT_GRACE_MS;
}

export interface WatchPorts {
  readonly clock: Clock;
  /** One check round (checkRound); throws DEADLINE_EXCEEDED when run.signal fires first. */
  readonly round: (run: RoundRun) => Promise<Round>;
  /** Fsynced append to the decision journal: a decision is on disk before the file it announces. */
  readonly record: (entry: CheckDecision) => void;
  /** Replaces stateDir/check.down atomically. */
  readonly writeTrack: (value: TrackValue) => Promise<void>;
  /** Marks the heartbeat after every round (stateDir/watch.beat's mtime). */
  readonly beat: () => void;
  readonly log: Logger;
  readonly who: () => { node: string; pid: number; at: string };
}

// Runs rounds until stop fires; a round never outlives check.deadlineMs, and rounds start intervalMs apart (or at once after a slow one).
export async function watchLoop(config: Config, initial: TrackValue | undefined, ports: WatchPorts, stop: AbortSignal): Promise<void> {
  const { clock } = ports;
  let state: WatchState = { track: initial, seen: undefined };
  while (!stop.aborted) {
    const startedAt = clock.now();
    const round = scope(stop, config.check.deadlineMs, 'check.deadlineMs');
    const run: RoundRun = { signal: round.signal, startedAt, deadlineAt: startedAt + config.check.deadlineMs };
    const result = await oneRound(ports, run).finally(round.end);
    if (stop.aborted) return;
    const step = watchStep(state, result);
    if (step.change) {
      const verdict = result.kind === 'verdict' ? result.verdict : undefined;
      const noVerdict = result.kind === 'no-verdict' ? result.detail : '';
      ports.record({ ...decisionFor(verdict, config.check.onDown, Number(step.state.track), ports.who(), noVerdict), action: step.write !== undefined ? 'track-file' : 'none' });
      ports.log[step.change.level](step.change.line, { check: step.state.track, seen: step.state.seen });
    }
    state = step.state;
    if (step.write !== undefined) {
      try {
        await ports.writeTrack(step.write);
      } catch (err) {
        ports.log.error(`cannot write check.down: ${describeError(err)}; trying again next round`);
        state = { ...step.state, track: undefined };
      }
    }
    ports.beat();
    try {
      await clock.sleep(Math.max(0, config.check.watch.intervalMs - (clock.now() - startedAt)), stop);
    } catch {
      return;
    }
  }
}

async function oneRound(ports: WatchPorts, run: RoundRun): Promise<RoundResult> {
  try {
    return { kind: 'verdict', verdict: (await ports.round(run)).health.verdict };
  } catch (err) {
    if (isAppError(err) && err.code === 'DEADLINE_EXCEEDED') return { kind: 'no-verdict', detail: err.message };
    return { kind: 'no-verdict', detail: `the round failed: ${describeError(err)}` };
  }
}
