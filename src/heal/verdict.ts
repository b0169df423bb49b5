import { parseMariaGtidList } from '../failover/gtid.js';
import type { PositionRecord } from '../failover/position-record.js';
import { errantRanges, formatRange, type ErrantRange } from './gtid-sets.js';
import type { SwitchEntry, SwitchLog } from './switch-log.js';

/**
 * A semi-sync timeout at least this long counts as "never falls back by itself". A shorter one (the recommended
 * backstop is 1 h) proves it only while the errant transactions are younger than the timeout.
 */
export const NO_FALLBACK_MIN_TIMEOUT_MS = 24 * 3600 * 1000;

/** What is known about the peer (the new master) and how fresh it is. */
export type PeerEvidence =
  /** Read from the peer's MySQL now. */
  | { readonly kind: 'live'; readonly binlogState: string }
  /** The peer's position.json; `peerMysqlDown` = its MySQL refused or timed out just now. */
  | { readonly kind: 'record'; readonly record: PositionRecord; readonly peerMysqlDown: boolean }
  | { readonly kind: 'none'; readonly reason: string };

/** This node's semi-sync master settings as they were while it was master (config or a record of them). */
export interface SemiSyncEvidence {
  readonly enabled: boolean;
  readonly waitPoint: string;
  readonly waitNoSlave: boolean;
  readonly timeoutMs: number;
  /** Rpl_semi_sync_master_no_tx since mysqld started, when it has not restarted since the errant commits. */
  readonly noAckCommits?: number;
  /** Sessions waiting now for an ack on this node: a fallback would still acknowledge them. */
  readonly waitingForAck?: number;
}

export interface HealEvidence {
  readonly nowMs: number;
  readonly localBinlogState: string;
  /** When the oldest errant transaction was written (its GTID event's timestamp), if known. */
  readonly errantSinceMs?: number;
  /** When this mysqld started (now − Uptime): a restart since the errant commits wiped the counters that prove them. */
  readonly startedAtMs?: number;
  readonly peer: PeerEvidence;
  readonly semiSync: SemiSyncEvidence;
  readonly switchLog: SwitchLog;
}

export type HealVerdict =
  | { readonly kind: 'in-sync'; readonly reason: string }
  /** Cannot decide: wait for the peer (never refuse to replicate on this). */
  | { readonly kind: 'unknown'; readonly reason: string }
  | {
    readonly kind: 'errant';
    readonly errant: readonly string[];
    /** True only when no client can have been acknowledged for any errant transaction. */
    readonly autoHeal: boolean;
    /** Errant GTIDs that committed inside a recorded async span (possibly acknowledged). */
    readonly maybeAcknowledged: readonly string[];
    readonly reason: string;
  };

/**
 * A position record may decide an errant verdict only when it is proven current: the peer recorded it after
 * fencing itself (role fenced/stopped; a promotion records "master" and a node starts read-only) and its MySQL
 * is down now, so nothing can have been written there since. A "master" or "replica" record can be stale
 * (both hosts lost power; the peer wrote more before it died).
 */
export function recordProvenCurrent(record: PositionRecord, peerMysqlDown: boolean): boolean {
  return peerMysqlDown && (record.role === 'fenced' || record.role === 'stopped') && typeof record.gtidBinlogState === 'string';
}

/** The errant check's input, or why there is none: only the peer's current state or a record proven current count. */
export function peerStateForVerdict(peer: PeerEvidence): { state: string } | { unknown: string } {
  if (peer.kind === 'live') return { state: peer.binlogState };
  if (peer.kind === 'none') return { unknown: `the new master's state is unknown (${peer.reason}): waiting for it` };
  const r = peer.record;
  if (!recordProvenCurrent(r, peer.peerMysqlDown)) {
    return { unknown: `only the peer's position record is available (role ${r.role}, recorded ${r.recordedAt}) and it is not proven ` +
      `current${peer.peerMysqlDown ? '' : ' (its MySQL did not clearly refuse)'}: waiting for the peer's MySQL` };
  }
  return { state: r.gtidBinlogState ?? '' };
}

interface Span { readonly after: Map<number, bigint>; readonly upTo?: Map<number, bigint> }

// Async spans from the log in order: an "async" entry opens one (commits above its position), "semi-sync" closes it.
function asyncSpans(entries: readonly SwitchEntry[]): Span[] {
  const spans: Span[] = [];
  const perDomain = (pos: string): Map<number, bigint> => new Map(parseMariaGtidList(pos).map((g) => [g.domain, g.seq]));
  let open: Map<number, bigint> | undefined;
  for (const e of entries) {
    if (e.mode === 'async' && open === undefined) open = perDomain(e.gtidBinlogPos);
    else if (e.mode === 'semi-sync' && open !== undefined) {
      spans.push({ after: open, upTo: perDomain(e.gtidBinlogPos) });
      open = undefined;
    }
  }
  if (open !== undefined) spans.push({ after: open });
  return spans;
}

// The part of an errant range that committed inside an async span (seq in a domain grows across servers).
function insideSpans(r: ErrantRange, spans: readonly Span[]): string[] {
  return spans.flatMap((span) => {
    const lo = (span.after.get(r.domain) ?? 0n) + 1n;
    const hi = span.upTo === undefined ? r.to : (span.upTo.get(r.domain) ?? 0n);
    const from = r.from > lo ? r.from : lo;
    const to = r.to < hi ? r.to : hi;
    return from <= to ? [formatRange({ ...r, from, to })] : [];
  });
}

// Why semi-sync on this node may have acknowledged a commit without the replica, or undefined when it cannot have.
function selfFallbackRisk(ev: HealEvidence, hasAsyncEntries: boolean): string | undefined {
  const s = ev.semiSync;
  // Switched off by the guard (an open async span in the log): the spans decide, not these settings.
  const lastEntry = ev.switchLog.entries.at(-1);
  if (!s.enabled && lastEntry?.mode !== 'async') return 'semi-sync was not enabled on this master';
  if (s.waitPoint.toUpperCase() !== 'AFTER_SYNC') return `semi-sync wait point ${s.waitPoint} shows commits before the ack`;
  if (!s.waitNoSlave) return 'rpl_semi_sync_master_wait_no_slave=OFF lets a master without a connected replica commit asynchronously';
  if ((s.waitingForAck ?? 0) > 0) return `${s.waitingForAck} commit(s) still wait for an ack here and would be acknowledged by a fallback (fence first)`;
  if ((s.noAckCommits ?? 0) > 0 && !hasAsyncEntries) {
    return `Rpl_semi_sync_master_no_tx=${s.noAckCommits}: commits went without an ack and no switch-log entry explains them`;
  }
  if (s.timeoutMs >= NO_FALLBACK_MIN_TIMEOUT_MS) return undefined;
  // Settings and counters read now describe this mysqld only: one started after the errant commits proves nothing of them.
  if (ev.startedAtMs !== undefined && (ev.errantSinceMs === undefined || ev.startedAtMs > ev.errantSinceMs)) {
    return 'mysqld restarted since the errant transactions were written: its semi-sync settings and counters then are unknown';
  }
  // A commit falls back only after waiting the whole timeout, and it waits from after its GTID event's timestamp.
  if (ev.errantSinceMs !== undefined && ev.nowMs - ev.errantSinceMs < s.timeoutMs) return undefined;
  const age = ev.errantSinceMs === undefined ? 'of unknown age' : `${Math.round((ev.nowMs - ev.errantSinceMs) / 1000)} s old`;
  return `rpl_semi_sync_master_timeout=${s.timeoutMs} ms and the errant transactions are ${age}: one may have fallen back to async by itself`;
}

/**
 * "Auto-heal allowed?" A transaction the new master lacks can have been acknowledged to a client only if it
 * committed while this node's semi-sync was async: by itself (settings that allow it) or by a recorded switch.
 */
export function decideHeal(ev: HealEvidence): HealVerdict {
  const peer = peerStateForVerdict(ev.peer);
  if ('unknown' in peer) return { kind: 'unknown', reason: peer.unknown };
  const ranges = errantRanges(ev.localBinlogState, peer.state);
  if (ranges.length === 0) {
    return { kind: 'in-sync', reason: `every transaction of this node is on the new master (${ev.peer.kind === 'live' ? 'its live state' : 'its current record'})` };
  }
  const errant = ranges.map(formatRange);
  if (ev.switchLog.problems.length > 0) {
    return { kind: 'errant', errant, autoHeal: false, maybeAcknowledged: errant,
      reason: `the semi-sync switch log cannot be read (${ev.switchLog.problems[0]}): nothing proves these were never acknowledged` };
  }
  const risk = selfFallbackRisk(ev, ev.switchLog.entries.some((e) => e.mode === 'async'));
  if (risk !== undefined) {
    return { kind: 'errant', errant, autoHeal: false, maybeAcknowledged: errant, reason: `${risk}: a client may have been acknowledged` };
  }
  const spans = asyncSpans(ev.switchLog.entries);
  const maybeAcknowledged = ranges.flatMap((r) => insideSpans(r, spans));
  if (maybeAcknowledged.length > 0) {
    return { kind: 'errant', errant, autoHeal: false, maybeAcknowledged,
      reason: `${maybeAcknowledged.join(', ')} committed after a recorded switch to async: a client may have been acknowledged` };
  }
  return { kind: 'errant', errant, autoHeal: true, maybeAcknowledged: [],
    reason: 'never acknowledged: semi-sync AFTER_SYNC could not fall back by itself and no recorded async span covers them' };
}
