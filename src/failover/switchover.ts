import { AppError, describeError } from '../errors.js';
import { exitCodeForError } from '../cli/exit-codes.js';
import { outcomeOf, type TransitionRecord } from '../history/transitions.js';
import type { Logger } from '../log/types.js';
import type { Clock } from '../platform/clock.js';
import { deadline } from '../platform/deadline.js';
import { pollUntil } from '../platform/poll.js';
import type { ErrantView, MysqlView } from '../status/model.js';
import { transitionInProgress, type NotifyActivity } from './notify-activity.js';

// A planned switchover moves the master role through keepalived: the master's keepalived is held out of the race
// (its track_file turns non-zero: FAULT at once), the peer's keepalived takes the VIP and runs notify MASTER — the
// one promotion path (fence the old master, catch up to its GTIDs, open writes) — and the old master is released
// back to BACKUP, where notify BACKUP makes it a replica of the new one. Readiness is judged first, purely.

/** keepalived's track_file (templates/keepalived*.tmpl): non-zero with weight 0 is FAULT, 0 is OK. In paths.stateDir. */
export const WEIGHT_FILE = 'switchover.weight';

export type Side = 'local' | 'peer';

export interface NodeReading {
  readonly name: string;
  /** undefined: its MySQL did not answer (`unreachable` says why). */
  readonly mysql?: MysqlView;
  readonly unreachable?: string;
  readonly keepalived: { readonly running: boolean; readonly detail: string };
  /** Its state dir's notify lock and requests (the peer's over SFTP); a string: why they could not be read. */
  readonly notify: NotifyActivity | string;
}

/** What the switchover reads before deciding (read-only on both nodes). */
export interface SwitchoverReading {
  readonly local: NodeReading;
  readonly peer: NodeReading;
  /** GTIDs each node has that the other lacks (status's comparison, from the local node's side). */
  readonly errant: ErrantView;
}

export interface SwitchoverBounds {
  /** The target's Seconds_Behind_Master must not exceed this. */
  readonly maxLagS: number;
  /** Each wait (target writable, old master replicating) ends by then. */
  readonly waitMs: number;
  /** Also wait until the old master replicates from the new one. */
  readonly waitReplicating: boolean;
}

export type SwitchoverStep =
  /** Non-zero weight on the master: its keepalived goes FAULT, the peer's takes the VIP and runs notify MASTER. */
  | { readonly kind: 'hold-out'; readonly on: Side; readonly node: string }
  | { readonly kind: 'wait-writable'; readonly on: Side; readonly node: string; readonly boundMs: number }
  /** Weight back to 0: FAULT → BACKUP, so notify BACKUP rejoins it as a replica (nopreempt keeps the VIP where it is). */
  | { readonly kind: 'release'; readonly on: Side; readonly node: string }
  | { readonly kind: 'wait-replicating'; readonly on: Side; readonly node: string; readonly boundMs: number };

export type SwitchoverDecision =
  | { readonly kind: 'go'; readonly master: Side; readonly target: Side; readonly steps: readonly SwitchoverStep[] }
  | { readonly kind: 'refuse'; readonly reasons: readonly string[] };

const other = (s: Side): Side => (s === 'local' ? 'peer' : 'local');

// Pure: every reason the target is not ready, in the order an operator fixes them; none means go.
export function decideSwitchover(r: SwitchoverReading, b: SwitchoverBounds): SwitchoverDecision {
  const reasons: string[] = [];
  for (const n of [r.local, r.peer]) {
    const busy = typeof n.notify === 'string' ? `cannot tell whether a transition is in progress on ${n.name} (${n.notify})` : transitionInProgress(n.notify, n.name);
    if (busy !== undefined) reasons.push(typeof n.notify === 'string' ? busy : `a transition is in progress (${busy})`);
  }
  for (const n of [r.local, r.peer]) {
    if (n.mysql === undefined) reasons.push(`${n.name}'s MySQL does not answer (${n.unreachable ?? '?'})`);
    if (!n.keepalived.running) reasons.push(`keepalived is not running on ${n.name} (${n.keepalived.detail})`);
  }
  const l = r.local.mysql;
  const p = r.peer.mysql;
  if (l === undefined || p === undefined) return { kind: 'refuse', reasons };
  if (l.writable === p.writable) {
    reasons.push(l.writable ? 'both nodes are writable: resolve that first (status)' : 'neither node is a writable master: nothing to switch over');
    return { kind: 'refuse', reasons };
  }
  const master: Side = l.writable ? 'local' : 'peer';
  const target = other(master);
  const t = target === 'local' ? r.local : r.peer;
  const m = master === 'local' ? r.local : r.peer;
  const tv = target === 'local' ? l : p;
  const mv = master === 'local' ? l : p;
  reasons.push(...targetProblems(t.name, tv, b.maxLagS));
  const errant = target === 'local' ? r.errant.localOnly && [...r.errant.localOnly, ...r.errant.unproven] : r.errant.peerOnly;
  if (errant === null) reasons.push(`errant transactions cannot be ruled out on ${t.name} (${r.errant.method})`);
  else if (errant.length > 0) reasons.push(`${t.name} has errant transactions ${errant.join(',')} that ${m.name} lacks`);
  if (mv.semiSync.sourceActive !== true || (mv.semiSync.clients ?? 0) < 1) {
    reasons.push(`semi-sync is off on ${m.name} (master status ${onOff(mv.semiSync.sourceActive)}, ${mv.semiSync.clients ?? 0} semi-sync replica(s))`);
  }
  if (reasons.length > 0) return { kind: 'refuse', reasons };
  return { kind: 'go', master, target, steps: switchoverSteps(master, m.name, t.name, b) };
}

function targetProblems(name: string, v: MysqlView, maxLagS: number): string[] {
  const rep = v.replication;
  if (rep === null) return [`${name} does not replicate`];
  if (rep.ioRunning !== 'Yes' || rep.sqlRunning !== 'Yes') {
    const err = [rep.lastIoError, rep.lastSqlError].filter((e) => e !== '').join('; ');
    return [`replication on ${name} is broken (IO ${rep.ioRunning || '?'}, SQL ${rep.sqlRunning || '?'}${err ? `: ${err}` : ''})`];
  }
  const out: string[] = [];
  if (rep.secondsBehind === null || rep.secondsBehind > maxLagS) {
    out.push(`${name} lags ${rep.secondsBehind ?? '?'} s behind (bound ${maxLagS} s)`);
  }
  if (v.semiSync.replicaActive !== true) out.push(`semi-sync is off on ${name} (replica status ${onOff(v.semiSync.replicaActive)})`);
  return out;
}

const onOff = (v: boolean | undefined): string => (v === undefined ? 'unknown' : v ? 'ON' : 'OFF');

function switchoverSteps(master: Side, masterName: string, targetName: string, b: SwitchoverBounds): SwitchoverStep[] {
  const target = other(master);
  return [
    { kind: 'hold-out', on: master, node: masterName },
    { kind: 'wait-writable', on: target, node: targetName, boundMs: b.waitMs },
    { kind: 'release', on: master, node: masterName },
    ...(b.waitReplicating ? [{ kind: 'wait-replicating', on: master, node: masterName, boundMs: b.waitMs } as const] : []),
  ];
}

/** The --dry-run print, and the step names the history records. */
export function describeSwitchoverStep(s: SwitchoverStep): string {
  switch (s.kind) {
    case 'hold-out': return `[hold-out] ${s.node}: write 1 to ${WEIGHT_FILE} (keepalived FAULT at once; notify FAULT fences it; ` +
      'the peer takes the VIP and runs notify MASTER: fence this node, catch up to its GTIDs, open writes)';
    case 'wait-writable': return `[wait-writable] ${s.node}: wait up to ${s.boundMs} ms until it is writable (its promotion done)`;
    case 'release': return `[release] ${s.node}: write 0 to ${WEIGHT_FILE} (keepalived FAULT → BACKUP; notify BACKUP replicates from the new master)`;
    case 'wait-replicating': return `[wait-replicating] ${s.node}: wait up to ${s.boundMs} ms until it is read-only and both replication threads run`;
  }
}

export function renderSwitchover(d: SwitchoverDecision): string[] {
  if (d.kind === 'refuse') return [`refuse: ${d.reasons.join('; ')}`];
  return d.steps.map((s) => `  ${describeSwitchoverStep(s)}`);
}

/** The side effects of a switchover, as ports; the CLI passes real adapters. */
export interface SwitchoverPorts {
  readonly clock: Clock;
  readonly log: Logger;
  /** One node's MySQL as status reads it (the waits poll this). */
  readMysql(on: Side, signal: AbortSignal): Promise<MysqlView>;
  /** Writes WEIGHT_FILE in that node's state dir (the peer's over SFTP), atomically. */
  setWeight(on: Side, value: 0 | 1, signal: AbortSignal): Promise<void>;
  /** Appends the switchover's record to this node's transitions.jsonl. */
  record(r: TransitionRecord): void;
}

export interface SwitchoverRun {
  readonly id: string;
  readonly node: string;
}

// Runs the steps; the master is released even when a wait fails, so no node stays out of the race.
export async function executeSwitchover(d: Extract<SwitchoverDecision, { kind: 'go' }>, run: SwitchoverRun, ports: SwitchoverPorts,
  signal: AbortSignal): Promise<void> {
  const { clock, log } = ports;
  const startedAt = clock.now();
  const steps: { step: string; durationMs: number; ok: boolean }[] = [];
  let heldOut: Extract<SwitchoverStep, { kind: 'hold-out' }> | undefined;
  const timed = async (s: SwitchoverStep): Promise<void> => {
    const t0 = clock.now();
    try {
      await runStep(s);
      steps.push({ step: s.kind, durationMs: clock.now() - t0, ok: true });
      log.info(`switchover step ${s.kind} on ${s.node} done`, { step: s.kind, durationMs: clock.now() - t0 });
    } catch (err) {
      steps.push({ step: s.kind, durationMs: clock.now() - t0, ok: false });
      log.error(`switchover step ${s.kind} on ${s.node} failed: ${describeError(err)}`, { step: s.kind });
      throw err;
    }
  };
  const runStep = async (s: SwitchoverStep): Promise<void> => {
    switch (s.kind) {
      case 'hold-out':
        heldOut = s;
        return ports.setWeight(s.on, 1, signal);
      case 'release':
        await ports.setWeight(s.on, 0, signal);
        heldOut = undefined;
        return;
      case 'wait-writable':
        return waitFor(ports, s, signal, (v) => v.writable, 'is not writable');
      case 'wait-replicating':
        return waitFor(ports, s, signal, (v) => !v.writable && v.replication?.ioRunning === 'Yes' && v.replication.sqlRunning === 'Yes',
          'does not replicate from the new master');
    }
  };
  let failure: unknown;
  try {
    for (const s of d.steps) await timed(s);
  } catch (err) {
    failure = err;
    if (heldOut !== undefined) {
      // Never leave a node in FAULT: the VIP stays where keepalived put it (nopreempt), and this node rejoins as BACKUP.
      const { on, node } = heldOut;
      await timed({ kind: 'release', on, node }).catch((e: unknown) =>
        log.error(`could not release ${node} (write 0 to its ${WEIGHT_FILE} by hand): ${describeError(e)}`));
    }
  }
  const endedAt = clock.now();
  const error = failure === undefined ? undefined : failure instanceof AppError ? failure : new AppError('FAILOVER_STEP_FAILED', describeError(failure));
  const exitCode = error === undefined ? 0 : exitCodeForError(error.code);
  ports.record({
    v: 1, id: run.id, node: run.node, state: 'SWITCHOVER', trigger: 'operator', origin: 'switchover', seq: 0,
    requestedAt: new Date(startedAt).toISOString(), startedAt: new Date(startedAt).toISOString(), endedAt: new Date(endedAt).toISOString(),
    durationMs: endedAt - startedAt, steps, outcome: outcomeOf(exitCode, false), exitCode,
    ...(error !== undefined ? { error: { code: error.code, message: error.message } } : {}),
  });
  if (error !== undefined) throw error;
}

async function waitFor(ports: SwitchoverPorts, s: Extract<SwitchoverStep, { boundMs: number }>, parent: AbortSignal,
  done: (v: MysqlView) => boolean, what: string): Promise<void> {
  const signal = deadline(s.boundMs + 1000, parent);
  const last = await pollUntil<MysqlView | undefined>({
    clock: ports.clock, signal, deadlineMs: s.boundMs, firstDelayMs: 20,
    // A node in the middle of its transition may refuse a connection for a moment: keep polling.
    read: (sig) => ports.readMysql(s.on, sig).catch(() => undefined),
    settled: (v) => v !== undefined && done(v),
  }).catch(() => ({ settled: false }));
  if (!last.settled) throw new AppError('DEADLINE_EXCEEDED', `${s.node} ${what} by the deadline (${s.boundMs} ms)`);
}
