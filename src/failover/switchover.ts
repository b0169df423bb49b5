import { AppError, describeError } from '../errors.js';
import { exitCodeForError } from '../cli/exit-codes.js';
import { outcomeOf, type TransitionRecord } from '../history/transitions.js';
import type { Logger } from '../log/types.js';
import type { Clock } from '../platform/clock.js';
import { deadline } from '../platform/deadline.js';
import { pollUntil } from '../platform/poll.js';
import { TAKEOVER_FILE, WEIGHT_FILE } from '../state/files.js';
import type { ErrantView, MysqlView } from '../status/model.js';
import { describeNotify, transitionInProgress, type NotifyActivity } from './notify-activity.js';

// A planned switchover moves the master role through keepalived: the master's keepalived is held out of the race
// (its track_file turns non-zero: FAULT at once), the peer's keepalived takes the VIP and runs notify MASTER — the
// one promotion path (fence the old master, catch up to its GTIDs, open writes) — and the old master is released
// back to BACKUP, where notify BACKUP makes it a replica of the new one. Readiness is judged first, purely; a target
// that does not become writable in time is rolled back the same way (switchoverPlan).

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
  /** Each wait (a node writable, fenced out, replicating) ends by then. */
  readonly waitMs: number;
  /** Also wait until the old master (after a rollback: the target) replicates from the master. */
  readonly waitReplicating: boolean;
}

interface On {
  readonly on: Side;
  readonly node: string;
}

export type SwitchoverStep =
  /**
   * TAKEOVER_FILE 1: that node's keepalived priority tops out (254) for the hand-over, so the held-out master's
   * priority-0 advert makes it MASTER after a skew time of 8 ms, not (256 - priority)/256 s (0.61 s at 100).
   */
  | On & { readonly kind: 'lift' }
  /** TAKEOVER_FILE 0: its configured priority again. */
  | On & { readonly kind: 'lower' }
  /** Weight 1: that node's keepalived goes FAULT at once (its notify FAULT fences it) and the other takes the VIP. */
  | On & { readonly kind: 'hold-out' }
  /**
   * Fences that node from here at once (client sessions killed, read-only), as its notify FAULT does a moment later: the
   * other node's promotion then never finds it still writable, however soon keepalived hands over. Best effort: notify's
   * own fences (FAULT here, fence-old-master on the other node) follow whatever happens to this one.
   */
  | On & { readonly kind: 'fence' }
  /** Weight 0: FAULT → BACKUP; nopreempt keeps the VIP where it is, unless the other node is out of the race: then MASTER. */
  | On & { readonly kind: 'release'; readonly becomes: 'replica' | 'master' }
  /** Sets the fact `writable` for that node: it does not fail when the bound passes (the plan decides). */
  | On & { readonly kind: 'wait-writable'; readonly boundMs: number }
  | On & { readonly kind: 'wait-replicating'; readonly boundMs: number }
  /** What that node's notify last did: why it is not writable, for the report. */
  | On & { readonly kind: 'explain' }
  /** Held out and fenced: read-only, its notify FAULT handled, nothing pending; it cannot open writes any more. */
  | On & { readonly kind: 'wait-out'; readonly boundMs: number }
  /** Sets the fact `ahead`: this node holds GTIDs `than` lacks (it opened writes and took some). */
  | On & { readonly kind: 'compare'; readonly than: string };

export type SwitchoverTest = On & { readonly kind: 'writable' | 'ahead' };

/** A switchover is a plan: steps and decision points on the facts the steps learn, like notify's (plan.ts). */
export type SwitchoverNode =
  | SwitchoverStep
  | { readonly kind: 'if'; readonly test: SwitchoverTest; readonly then: SwitchoverPlan; readonly else: SwitchoverPlan }
  /** Ends the switchover with this error (what is still held out or lifted is undone first). */
  | { readonly kind: 'fail'; readonly shown: string; readonly error: (f: SwitchoverFacts) => AppError };

export type SwitchoverPlan = readonly SwitchoverNode[];

/** What the steps learn; the decision points test these. */
export interface SwitchoverFacts {
  readonly writable: Partial<Record<Side, boolean>>;
  readonly ahead: Partial<Record<Side, boolean>>;
  /** Why that node did not become writable (its notify's last transition). */
  readonly why: Partial<Record<Side, string>>;
}

export type SwitchoverDecision =
  | { readonly kind: 'go'; readonly master: Side; readonly target: Side; readonly plan: SwitchoverPlan }
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
  const errant = onlyOn(target, r.errant);
  if (errant === null) reasons.push(`errant transactions cannot be ruled out on ${t.name} (${r.errant.method})`);
  else if (errant.length > 0) reasons.push(`${t.name} has errant transactions ${errant.join(',')} that ${m.name} lacks`);
  if (mv.semiSync.sourceActive !== true || (mv.semiSync.clients ?? 0) < 1) {
    reasons.push(`semi-sync is off on ${m.name} (master status ${onOff(mv.semiSync.sourceActive)}, ${mv.semiSync.clients ?? 0} semi-sync replica(s))`);
  }
  if (reasons.length > 0) return { kind: 'refuse', reasons };
  return { kind: 'go', master, target, plan: switchoverPlan({ on: master, node: m.name }, { on: target, node: t.name }, b) };
}

/** GTIDs only that side holds (status's comparison is from the local side); null: it cannot be told. */
const onlyOn = (side: Side, e: ErrantView): readonly string[] | null =>
  side === 'local' ? e.localOnly && [...e.localOnly, ...e.unproven] : e.peerOnly;

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

// The switch, and its rollback when the target is not writable by the bound: the target is held out in turn (its notify
// FAULT fences it, and supersedes a promotion still running) and, once it cannot open writes any more, the old master is
// released into a race the target is out of: keepalived makes it MASTER and notify MASTER re-opens its writes. Should
// the target have opened writes after the bound and taken some, it is the newer master: it is released instead.
function switchoverPlan(m: On, t: On, b: SwitchoverBounds): SwitchoverPlan {
  const rejoin = (replica: On): SwitchoverPlan => [
    { kind: 'release', ...replica, becomes: 'replica' },
    ...(b.waitReplicating ? [{ kind: 'wait-replicating', ...replica, boundMs: b.waitMs } as const] : []),
  ];
  const lead = (n: On, then: SwitchoverPlan, context: (f: SwitchoverFacts) => string): SwitchoverPlan => [
    { kind: 'release', ...n, becomes: 'master' },
    { kind: 'wait-writable', ...n, boundMs: b.waitMs },
    { kind: 'if', test: { kind: 'writable', ...n }, then, else: [
      { kind: 'explain', ...n },
      { kind: 'fail', shown: `no writable master (DEADLINE_EXCEEDED): ${n.node} did not become writable either`,
        error: (f) => new AppError('DEADLINE_EXCEEDED', `${context(f)}; ${n.node} did not become writable within ${b.waitMs} ms: no writable master ` +
          `(${f.why[n.on] ?? '?'})`) },
    ] },
  ];
  const late = (f: SwitchoverFacts): string => `${t.node} did not become writable within ${b.waitMs} ms (${f.why[t.on] ?? '?'})`;
  return [
    { kind: 'lift', ...t },
    { kind: 'hold-out', ...m },
    { kind: 'fence', ...m },
    { kind: 'wait-writable', ...t, boundMs: b.waitMs },
    { kind: 'lower', ...t },
    { kind: 'if', test: { kind: 'writable', ...t }, then: rejoin(m), else: [
      { kind: 'explain', ...t },
      { kind: 'hold-out', ...t },
      { kind: 'wait-out', ...t, boundMs: b.waitMs },
      { kind: 'compare', ...t, than: m.node },
      { kind: 'if', test: { kind: 'ahead', ...t },
        then: lead(t, rejoin(m), () => `${t.node} opened writes after the bound and took some ${m.node} lacks, so it stays the master`),
        else: lead(m, [
          ...rejoin(t),
          { kind: 'fail', shown: `rolled back (SWITCHOVER_ROLLED_BACK): ${m.node} is the master again`,
            error: (f) => new AppError('SWITCHOVER_ROLLED_BACK', `switchover rolled back: ${late(f)}; ${m.node} is the master again`) },
        ], (f) => `${late(f)}; rolling back`) },
    ] },
  ];
}

function describeStep(s: SwitchoverStep): string {
  const at = `[${s.kind}] ${s.node}`;
  switch (s.kind) {
    case 'lift': return `${at}: write 1 to ${TAKEOVER_FILE} (keepalived priority 254 for the hand-over: MASTER 8 ms after the master's priority-0 advert)`;
    case 'lower': return `${at}: write 0 to ${TAKEOVER_FILE} (its configured priority again)`;
    case 'hold-out': return `${at}: write 1 to ${WEIGHT_FILE} (keepalived FAULT at once; notify FAULT fences it; ` +
      'the other node takes the VIP and runs notify MASTER: fence this node, catch up to its GTIDs, open writes)';
    case 'fence': return `${at}: KILL each client session, SET GLOBAL read_only = 1, KILL late arrivals (what its notify FAULT does next; best effort)`;
    case 'release': return `${at}: write 0 to ${WEIGHT_FILE} (keepalived FAULT → BACKUP; ` + (s.becomes === 'replica'
      ? 'notify BACKUP replicates from the new master)' : 'the other node is out of the race: MASTER, and notify MASTER opens writes)');
    case 'wait-writable': return `${at}: wait up to ${s.boundMs} ms until it is writable (its promotion done)`;
    case 'wait-replicating': return `${at}: wait up to ${s.boundMs} ms until it is read-only and both replication threads run`;
    case 'explain': return `${at}: read its notify state (why it is not writable)`;
    case 'wait-out': return `${at}: wait up to ${s.boundMs} ms until it is read-only, its notify FAULT ran and nothing is pending (it cannot open writes now)`;
    case 'compare': return `${at}: compare GTIDs with ${s.than} (did it open writes after the bound and take some?)`;
  }
}

const describeTest = (t: SwitchoverTest): string =>
  t.kind === 'writable' ? `if ${t.node} is writable:` : `if ${t.node} holds GTIDs the other node lacks:`;

// The --dry-run print: every step and decision point, nested.
export function renderSwitchover(d: SwitchoverDecision): string[] {
  if (d.kind === 'refuse') return [`refuse: ${d.reasons.join('; ')}`];
  const walk = (p: SwitchoverPlan, indent: string): string[] => p.flatMap((n) => {
    if (n.kind === 'if') return [`${indent}${describeTest(n.test)}`, ...walk(n.then, `${indent}  `), `${indent}else:`, ...walk(n.else, `${indent}  `)];
    if (n.kind === 'fail') return [`${indent}end: ${n.shown}`];
    return [`${indent}${describeStep(n)}`];
  });
  return walk(d.plan, '  ');
}

// Pure: the answer to a decision point.
function holds(t: SwitchoverTest, f: SwitchoverFacts): boolean {
  return (t.kind === 'writable' ? f.writable : f.ahead)[t.on] === true;
}

// Pure: what a run of steps left to undo on the way out: a hold-out not followed by a release, a lift not lowered.
export function undoOnExit(ran: readonly SwitchoverStep[]): SwitchoverStep[] {
  const left = new Map<string, SwitchoverStep>();
  for (const s of ran) {
    if (s.kind === 'hold-out') left.set(`release ${s.on}`, { kind: 'release', on: s.on, node: s.node, becomes: 'replica' });
    else if (s.kind === 'lift') left.set(`lower ${s.on}`, { kind: 'lower', on: s.on, node: s.node });
    else if (s.kind === 'release' || s.kind === 'lower') left.delete(`${s.kind} ${s.on}`);
  }
  return [...left.values()];
}

/** The longest a plan can run: every wait's bound and every other step's, along its longest branch. */
export function switchoverBudgetMs(p: SwitchoverPlan, stepMs: number): number {
  return p.reduce((sum, n) => sum + (n.kind === 'if' ? Math.max(switchoverBudgetMs(n.then, stepMs), switchoverBudgetMs(n.else, stepMs))
    : n.kind === 'fail' ? 0 : 'boundMs' in n ? n.boundMs + WAIT_SLACK_MS : stepMs), 0);
}

// A wait's last read may start just before its bound.
const WAIT_SLACK_MS = 1000;

/** The side effects of a switchover, as ports; the CLI passes real adapters. */
export interface SwitchoverPorts {
  readonly clock: Clock;
  readonly log: Logger;
  /** Every step other than a wait ends by then (a weight written over SFTP, a read of both nodes). */
  readonly stepMs: number;
  /** One node's MySQL as status reads it (the waits poll this). */
  readMysql(on: Side, signal: AbortSignal): Promise<MysqlView>;
  /** That node's notify lock and requests (the peer's over SFTP). */
  readNotify(on: Side, signal: AbortSignal): Promise<NotifyActivity>;
  /** GTIDs each node has that the other lacks, read now (the local side's view). */
  compareGtids(signal: AbortSignal): Promise<ErrantView>;
  /** Fences that node's MySQL as notify does (kill client sessions, read-only, kill late arrivals). */
  fence(on: Side, signal: AbortSignal): Promise<void>;
  /** Writes one of keepalived's track files in that node's state dir (the peer's over SFTP), atomically. */
  setTrackFile(on: Side, file: typeof WEIGHT_FILE | typeof TAKEOVER_FILE, value: 0 | 1, signal: AbortSignal): Promise<void>;
  /** Appends the switchover's record to this node's transitions.jsonl. */
  record(r: TransitionRecord): void;
}

export interface SwitchoverRun {
  readonly id: string;
  readonly node: string;
}

// Runs the plan; whatever ends it, no node is left held out of the race, and the record lands in the history.
export async function executeSwitchover(d: Extract<SwitchoverDecision, { kind: 'go' }>, run: SwitchoverRun, ports: SwitchoverPorts,
  signal: AbortSignal): Promise<void> {
  const { clock, log } = ports;
  const startedAt = clock.now();
  const steps: { step: string; durationMs: number; ok: boolean }[] = [];
  const ran: SwitchoverStep[] = [];
  const facts: SwitchoverFacts = { writable: {}, ahead: {}, why: {} };
  const timed = async (s: SwitchoverStep, parent: AbortSignal): Promise<void> => {
    const t0 = clock.now();
    ran.push(s);
    try {
      const ok = await runStep(s, facts, ports, parent);
      steps.push({ step: s.kind, durationMs: clock.now() - t0, ok });
      log[ok ? 'info' : 'warn'](`switchover step ${s.kind} on ${s.node} ${ok ? 'done' : 'not settled'}`, { step: s.kind, durationMs: clock.now() - t0 });
    } catch (err) {
      steps.push({ step: s.kind, durationMs: clock.now() - t0, ok: false });
      log.error(`switchover step ${s.kind} on ${s.node} failed: ${describeError(err)}`, { step: s.kind });
      throw err;
    }
  };
  const walk = async (p: SwitchoverPlan): Promise<void> => {
    for (const n of p) {
      if (n.kind === 'if') await walk(holds(n.test, facts) ? n.then : n.else);
      else if (n.kind === 'fail') throw n.error(facts);
      else await timed(n, signal);
    }
  };
  let failure: unknown;
  try {
    await walk(d.plan);
  } catch (err) {
    failure = err;
    for (const s of undoOnExit(ran)) {
      // Never leave a node in FAULT (the VIP stays where keepalived put it: nopreempt) nor lifted; a fresh bound each, as the run's may be spent.
      await timed(s, AbortSignal.timeout(ports.stepMs)).catch((e: unknown) =>
        log.error(`could not ${s.kind} ${s.node} (write 0 to its ${s.kind === 'lower' ? TAKEOVER_FILE : WEIGHT_FILE} by hand): ${describeError(e)}`));
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

// One step; false: a wait whose bound passed without the fact it waits for (the plan decides what follows).
async function runStep(s: SwitchoverStep, facts: SwitchoverFacts, ports: SwitchoverPorts, parent: AbortSignal): Promise<boolean> {
  const bounded = deadline(ports.stepMs, parent);
  switch (s.kind) {
    case 'hold-out':
    case 'release':
      await ports.setTrackFile(s.on, WEIGHT_FILE, s.kind === 'hold-out' ? 1 : 0, bounded);
      return true;
    case 'lift':
    case 'lower':
      await ports.setTrackFile(s.on, TAKEOVER_FILE, s.kind === 'lift' ? 1 : 0, bounded);
      return true;
    case 'fence':
      return ports.fence(s.on, bounded).then(() => true, (err: unknown) => {
        ports.log.warn(`could not fence ${s.node} from here (its notify FAULT fences it): ${describeError(err)}`);
        return false;
      });
    case 'wait-writable': {
      const ok = (await poll(ports, s, parent, async (sig) => (await ports.readMysql(s.on, sig)).writable)) !== undefined;
      facts.writable[s.on] = ok;
      return ok;
    }
    case 'wait-replicating':
      return settledOrDeadline(s, 'does not replicate from the new master', await poll(ports, s, parent, async (sig) => {
        const v = await ports.readMysql(s.on, sig);
        return !v.writable && v.replication?.ioRunning === 'Yes' && v.replication.sqlRunning === 'Yes';
      }));
    case 'explain':
      facts.why[s.on] = await ports.readNotify(s.on, bounded).then((a) => describeNotify(a, s.node),
        (err: unknown) => `its notify state could not be read: ${describeError(err)}`);
      return true;
    case 'wait-out': {
      let last = 'not read yet';
      const out = await poll(ports, s, parent, async (sig) => {
        const [v, a] = await Promise.all([ports.readMysql(s.on, sig), ports.readNotify(s.on, sig)]);
        last = `${v.writable ? 'writable' : 'read-only'}; ${describeNotify(a, s.node)}`;
        return heldOutAndFenced(v, a);
      });
      return settledOrDeadline(s, `is not fenced out of the race (${last})`, out);
    }
    case 'compare': {
      const extra = onlyOn(s.on, await ports.compareGtids(bounded));
      if (extra === null) throw new AppError('FAILOVER_STEP_FAILED', `cannot tell whether ${s.node} took writes that ${s.than} lacks`);
      facts.ahead[s.on] = extra.length > 0;
      if (extra.length > 0) ports.log.warn(`${s.node} holds ${extra.join(',')} that ${s.than} lacks: it opened writes after the bound and stays the master`);
      return true;
    }
  }
}

// Pure: a held-out node that can no longer open writes: read-only, its notify idle and its last transition the FAULT.
function heldOutAndFenced(v: MysqlView, a: NotifyActivity): boolean {
  return !v.writable && transitionInProgress(a, '') === undefined && a.handled?.state === 'FAULT';
}

function settledOrDeadline(s: Extract<SwitchoverStep, { boundMs: number }>, what: string, settled: true | undefined): true {
  if (settled === undefined) throw new AppError('DEADLINE_EXCEEDED', `${s.node} ${what} by the deadline (${s.boundMs} ms)`);
  return settled;
}

// Polls until `done`, within the step's bound; undefined when the bound passed first.
async function poll(ports: SwitchoverPorts, s: Extract<SwitchoverStep, { boundMs: number }>, parent: AbortSignal,
  done: (signal: AbortSignal) => Promise<boolean>): Promise<true | undefined> {
  const signal = deadline(s.boundMs + WAIT_SLACK_MS, parent);
  const last = await pollUntil<boolean>({
    clock: ports.clock, signal, deadlineMs: s.boundMs, firstDelayMs: 20,
    // A node in the middle of its transition may refuse a connection for a moment: keep polling.
    read: (sig) => done(sig).catch(() => false),
    settled: (v) => v,
  }).catch(() => ({ settled: false }));
  return last.settled ? true : undefined;
}
