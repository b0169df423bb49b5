import { SAMPLE_MS } from './observer.js';
import type { Figure } from './settings.js';
import { HOSTS, peerOf, type DbHostId } from './topology.js';

// A drill's verdict as pure functions of what was observed: the final topology, the figures, pass or fail.

export type OtherExpectation = 'replica' | 'down' | 'fenced';
export interface Expectation {
  /** Who may hold the VIP and be writable at the end (several when the toolkit may rightly keep either). */
  master: DbHostId | readonly DbHostId[];
  /** What the other node may end as; 'fenced' also needs the toolkit's logged reason. */
  other: OtherExpectation | readonly OtherExpectation[];
  /** A VIP move is expected, forbidden, or the toolkit's call ('either'). */
  failover: boolean | 'either';
  /** The topology may legitimately end without a writable master (a refusal); only loss and split brain are judged. */
  refusalAllowed?: boolean;
}

/** One DB host at the end of a drill. */
export interface NodeFinal {
  host: DbHostId;
  alive: boolean;
  mysqld: boolean;
  vip: boolean;
  readOnly?: boolean;
  io?: string;
  sqlThread?: string;
  masterHost?: string;
  gtid?: string;
}

export interface TopologyVerdict {
  ok: boolean;
  text: string;
  master: DbHostId | null;
}

const list = <T>(x: T | readonly T[]): readonly T[] => (Array.isArray(x) ? (x as readonly T[]) : [x as T]);

function describe(n: NodeFinal): string {
  const name = HOSTS[n.host].hostname;
  if (!n.alive) return `${name}: host down`;
  if (!n.mysqld) return `${name}: mysqld down${n.vip ? ' (holds VIP!)' : ''}`;
  const repl = n.io === undefined ? 'no replication configured'
    : n.io === 'Yes' && n.sqlThread === 'Yes' ? `replicating from ${n.masterHost}`
    : `replication from ${n.masterHost} stopped (io=${n.io} sql=${n.sqlThread})`;
  return `${name}: ${n.readOnly ? 'read-only' : 'WRITABLE'}${n.vip ? ' +VIP' : ''}, ${repl}`;
}

/**
 * Judges the pair against the expectation. `fencedReason` is the toolkit's own logged reason for leaving a
 * node fenced (the last failed BACKUP transition in its notify log), if any.
 */
export function judgeTopology(nodes: readonly NodeFinal[], exp: Expectation, fencedReason: (h: DbHostId) => string | undefined): TopologyVerdict {
  const holders = nodes.filter((n) => n.alive && n.vip);
  const writable = nodes.filter((n) => n.mysqld && n.readOnly === false);
  const text = nodes.map(describe).join('; ');
  if (holders.length === 0 && writable.length === 0 && exp.refusalAllowed) return { ok: true, text: `no master (refused): ${text}`, master: null };
  if (holders.length !== 1) return { ok: false, text: `${holders.length} VIP holders: ${text}`, master: null };
  const m = holders[0]!;
  if (!(m.mysqld && m.readOnly === false)) return { ok: false, text: `VIP holder not writable: ${text}`, master: null };
  if (writable.length !== 1) return { ok: false, text: `two writable nodes: ${text}`, master: m.host };
  const masters = list(exp.master);
  if (!masters.includes(m.host) && !exp.refusalAllowed) {
    return { ok: false, text: `master is ${HOSTS[m.host].hostname}, expected ${masters.map((h) => HOSTS[h].hostname).join(' or ')}: ${text}`, master: m.host };
  }
  const o = nodes.find((n) => n.host !== m.host)!;
  const replicaOk = o.mysqld && o.readOnly === true && o.io === 'Yes' && o.sqlThread === 'Yes' && o.masterHost === HOSTS[m.host].ip;
  const otherState: OtherExpectation = !o.alive || !o.mysqld ? 'down' : replicaOk ? 'replica' : 'fenced';
  const allowed = list(exp.other);
  if (!allowed.includes(otherState)) return { ok: false, text: `other node is ${otherState}, expected ${allowed.join(' or ')}: ${text}`, master: m.host };
  if (otherState === 'fenced') {
    const why = fencedReason(o.host);
    if (why === undefined) return { ok: false, text: `other node fenced without a logged reason: ${text}`, master: m.host };
    return { ok: true, text: `${text} [fenced: ${why}]`, master: m.host };
  }
  return { ok: true, text, master: m.host };
}

export interface Ack {
  id: number;
  at: number;
  /** The server that acknowledged it (from the connection's @@server_id). */
  server?: DbHostId;
}

/** The drill keeps writing this long after the topology settled: no acknowledgement in it means writes never resumed. */
export const CLOSING_WRITES_MS = 2000;

/**
 * Write outage: the longest gap between acknowledgements, from the last one before the fault on; when writes
 * never resumed (none in the closing CLOSING_WRITES_MS), the gap runs to the end.
 */
export function writeOutageMs(ackTimes: readonly number[], faultAt: number, end: number): number {
  const sorted = [...ackTimes].sort((x, y) => x - y);
  let prev = sorted.filter((t) => t <= faultAt).at(-1) ?? faultAt;
  let gap = 0;
  for (const t of sorted.filter((x) => x > faultAt)) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return end - prev > CLOSING_WRITES_MS ? Math.max(gap, end - prev) : gap;
}

/**
 * Acknowledged writes served by the old master (the server of the last acknowledgement before the fault) after
 * the other server acknowledged its first: clients still writing to a master that has been replaced.
 */
export function staleAcks(acks: readonly Ack[], faultAt: number): { count: number; firstNewAt?: number } {
  const sorted = [...acks].sort((x, y) => x.at - y.at);
  const old = sorted.filter((a) => a.at <= faultAt && a.server !== undefined).at(-1)?.server ?? 'a';
  // The new master's first acknowledgement after the fault (a drill can move the role more than once).
  const firstNew = sorted.find((a) => a.at > faultAt && a.server === peerOf(old));
  if (firstNew === undefined) return { count: 0 };
  return { count: sorted.filter((a) => a.server === old && a.at > firstNew.at).length, firstNewAt: firstNew.at };
}

/** Acknowledged ids the final master does not hold. */
export function lostIds(acks: readonly Ack[], have: ReadonlySet<number>): number[] {
  return acks.filter((a) => !have.has(a.id)).map((a) => a.id);
}

/** The figures a drill is judged on. */
export interface Figures {
  lost: number;
  /** Both writable while each holds the VIP, proven by consecutive samples (ms). */
  splitBrainMs: number;
  /** The same, sample-and-hold upper bound (ms). */
  splitBrainUpperMs: number;
  staleAcks: number;
  /** A VIP move to the other node after the fault (ms since the fault), if any. */
  vipMoveMs?: number;
}

export interface DrillJudgement {
  failures: string[];
  /** Figures a setting's documented trade-off allows, reported instead of failing the drill. */
  reported: string[];
}

/**
 * Pass or fail. Must be zero: lost, proven split brain (and its sample-and-hold bound within two sampling
 * intervals), stale acks; the topology must match and the VIP must move (or not) as expected. A figure listed in
 * `tradeOff` is reported instead.
 */
export function judgeDrill(input: {
  stepFailure?: string;
  figures: Figures;
  topology: TopologyVerdict;
  expect: Expectation;
  tradeOff: readonly Figure[];
}): DrillJudgement {
  const { figures: f, expect, topology } = input;
  const checks: [Figure, string | undefined][] = [
    ['lost', f.lost > 0 ? `${f.lost} acknowledged rows missing on the final master` : undefined],
    ['splitBrain', f.splitBrainMs > 0 ? `${f.splitBrainMs} ms with both nodes writable and holding the VIP` : undefined],
    ['splitBrain', f.splitBrainUpperMs > 2 * SAMPLE_MS ? `up to ${f.splitBrainUpperMs} ms with both nodes writable and holding the VIP (sample-and-hold)` : undefined],
    ['staleAcks', f.staleAcks > 0 ? `${f.staleAcks} writes acknowledged by the old master after the new master acknowledged its first` : undefined],
    ['topology', topology.ok ? undefined : `topology: ${topology.text}`],
    ['failover', expect.failover === true && f.vipMoveMs === undefined && !expect.refusalAllowed ? 'the VIP never moved' : undefined],
    ['failover', expect.failover === false && f.vipMoveMs !== undefined ? `the VIP moved (at +${(f.vipMoveMs / 1000).toFixed(2)} s) though no failover was expected` : undefined],
  ];
  const out: DrillJudgement = { failures: input.stepFailure ? [input.stepFailure] : [], reported: [] };
  for (const [figure, problem] of checks) {
    if (problem === undefined) continue;
    (input.tradeOff.includes(figure) ? out.reported : out.failures).push(problem);
  }
  return out;
}
