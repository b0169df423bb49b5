import type { OnCatchUpTimeout } from '../config/schema.js';
import type { ReplicaStatus } from '../mysql/queries.js';
import type { BinlogTail } from '../ssh/types.js';
import { mariaPositionReached } from './gtid.js';

/** A row of information_schema.PROCESSLIST. */
export interface ProcessRow {
  readonly id: number;
  readonly user: string;
  readonly command: string;
}

// Replication and server-internal threads: killing them breaks replication or the server, never a client.
const KEEP_COMMANDS = new Set([
  'binlog dump', 'binlog dump gtid', 'daemon', 'slave_io', 'slave_sql', 'slave_worker', 'connect',
  'register slave', 'killed',
]);
const KEEP_USERS = new Set(['system user', 'event_scheduler']);

/**
 * Client connections to kill so pools reconnect through the VIP. Kept: our own connection, replication and
 * system threads, and the toolkit's own accounts (check-mysql shares the admin account: killing its probe
 * would make this node look down and start another failover).
 */
export function clientConnectionsToKill(rows: readonly ProcessRow[], keep: { ownThreadId: number; users: readonly string[] }): number[] {
  const keepUsers = new Set([...keep.users.map((u) => u.toLowerCase())]);
  return rows
    .filter((r) => r.id !== keep.ownThreadId)
    .filter((r) => !KEEP_COMMANDS.has(r.command.toLowerCase()))
    .filter((r) => !KEEP_USERS.has(r.user.toLowerCase()) && !keepUsers.has(r.user.toLowerCase()))
    .map((r) => r.id);
}

/** Replication is configured at all (SHOW SLAVE STATUS returned a row with a source). */
export const hasReplication = (st: ReplicaStatus | undefined): st is ReplicaStatus => st !== undefined && st.sourceHost !== '';

// File/position rule (MHA's read_all_relay_log): everything the IO thread read has been executed.
export function relayLogApplied(st: ReplicaStatus): boolean {
  return st.sourceLogFile === st.relaySourceLogFile && st.readSourceLogPos === st.execSourceLogPos;
}

/** What a timed-out catch-up turns into, by policy. */
export type CatchUpDecision = 'continue' | 'promote-with-gap' | 'refuse';

export function decideAfterCatchUp(caughtUp: boolean, policy: OnCatchUpTimeout): CatchUpDecision {
  if (caughtUp) return 'continue';
  return policy === 'promote' ? 'promote-with-gap' : 'refuse';
}

// Polling interval for waits without a server-side wait function: start fast, back off to 1 s.
export function nextPollDelay(previousMs: number): number {
  return Math.min(1000, Math.max(20, Math.round(previousMs * 1.6)));
}

/** The replica's applied coordinates, in the old master's binlog terms. */
export interface AppliedPosition {
  readonly relaySourceLogFile: string;
  readonly execSourceLogPos: number;
  /** MariaDB gtid_slave_pos or MySQL gtid_executed. */
  readonly appliedGtids: string;
  readonly flavor: 'mysql' | 'mariadb';
}

export interface TailComparison {
  readonly gap: boolean;
  /** "old master ended at X, replica applied Y" with the reason for a gap. */
  readonly summary: string;
}

const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
const fileNumber = (p: string): number => Number(/\.(\d+)$/.exec(baseName(p))?.[1] ?? NaN);

/** "mysql-bin.000003:1500 (last GTID 0-1-40) plus 17 torn bytes" */
export const describeTailEnd = (tail: BinlogTail): string =>
  `${baseName(tail.file)}:${tail.endPos}${tail.lastGtid ? ` (last GTID ${tail.lastGtid})` : ''}` +
  (tail.tornBytes > 0 ? ` plus ${tail.tornBytes} torn bytes` : '');

/** "mysql-bin.000003:1200 (GTIDs 0-1-40)" */
export const describeApplied = (applied: AppliedPosition): string =>
  `${applied.relaySourceLogFile || '?'}:${applied.execSourceLogPos}` + (applied.appliedGtids ? ` (GTIDs ${applied.appliedGtids})` : '');

// Compares where the old master's binlog really ends with what the replica applied; GTIDs decide when both have one.
export function compareTail(tail: BinlogTail, applied: AppliedPosition): TailComparison {
  const summary = `old master ended at ${describeTailEnd(tail)}, replica applied ${describeApplied(applied)}`;
  if (tail.lastGtid && applied.flavor === 'mariadb' && /^\d+-\d+-\d+$/.test(tail.lastGtid)) {
    const gap = !mariaPositionReached(applied.appliedGtids, tail.lastGtid);
    return { gap, summary: gap ? `${summary}: GTID ${tail.lastGtid} not applied, possible loss` : summary };
  }
  if (applied.relaySourceLogFile === '') return { gap: true, summary: `${summary}: replica coordinates unknown, possible loss` };
  const [tf, af] = [fileNumber(tail.file), fileNumber(applied.relaySourceLogFile)];
  if (baseName(tail.file) === baseName(applied.relaySourceLogFile)) {
    const gap = tail.endPos > applied.execSourceLogPos;
    return { gap, summary: gap ? `${summary}: ${tail.endPos - applied.execSourceLogPos} bytes not applied, possible loss` : summary };
  }
  const gap = !(Number.isFinite(tf) && Number.isFinite(af) && af > tf);
  return { gap, summary: gap ? `${summary}: old master wrote later binlogs, possible loss` : summary };
}
