import { mergeMariaPositions } from '../failover/gtid.js';
import { commonState, domainsNotEndingInErrant, errantRanges, formatRange, positionOfState, type ErrantRange } from './gtid-sets.js';
import type { HealVerdict } from './verdict.js';

export type RejoinMethod = 'auto' | 'flashback' | 'rebuild';

/** Everything `rejoin` read before deciding (read-only; the same in a dry run). */
export interface RejoinFacts {
  readonly method: RejoinMethod;
  /** Automatic healing (the BACKUP transition): discard only what the verdict proves was never acknowledged. */
  readonly onlyIfProvenSafe?: boolean;
  readonly local: {
    readonly flavorGtid: 'mariadb' | 'mysql' | 'none';
    readonly readOnly: boolean;
    /** Why this node counts as holding the VIP, or undefined when it does not. */
    readonly holdsVip?: string;
    readonly binlogState: string;
    readonly binlogPos: string;
    readonly slavePos: string;
    readonly binlogFormat: string;
  };
  readonly peer:
    | { readonly reachable: false; readonly reason: string }
    | { readonly reachable: true; readonly readOnly: boolean; readonly replicating: boolean; readonly binlogState: string; readonly binlogPos: string };
  readonly verdict: HealVerdict;
  /** Errant transactions found in this node's binlogs (undefined when there are none to look for). */
  readonly located?: { readonly found: number; readonly missing: number; readonly statements: readonly string[] };
  /** Why a rebuild from the peer cannot run here (no SSH, tools missing), or undefined when it can. */
  readonly rebuildBlocked?: string;
  /** A previous rejoin stopped between its save and the end of its discard (its journal is still there). */
  readonly interrupted?: { readonly method: 'flashback' | 'rebuild'; readonly savedDir: string };
}

export type Discard =
  | { readonly kind: 'none' }
  /** Undo the errant row events, then empty the binlog and set the shared GTID state. */
  | { readonly kind: 'flashback'; readonly commonState: string }
  /** Replace the datadir with a backup streamed from the new master. */
  | { readonly kind: 'rebuild' };

export type RejoinPlan =
  | { readonly kind: 'refuse'; readonly reason: string }
  | {
    readonly kind: 'rejoin';
    /** Errant ranges to save before anything is discarded (empty: nothing only this node holds). */
    readonly save: readonly ErrantRange[];
    readonly discard: Discard;
    /** gtid_slave_pos to replicate from (after a rebuild: the backup's position, known only then). */
    readonly startFrom?: string;
    readonly verdict: HealVerdict;
    readonly why: string;
  };

const refuse = (reason: string): RejoinPlan => ({ kind: 'refuse', reason });

// Why a flashback rewind cannot undo these errant transactions, or undefined when it can.
function flashbackBlocked(f: RejoinFacts, peerState: string): string | undefined {
  if (f.local.binlogFormat.toUpperCase() !== 'ROW') return `binlog_format is ${f.local.binlogFormat}, flashback needs ROW`;
  const stmts = f.located?.statements ?? [];
  if (stmts.length > 0) return `${stmts.join(', ')} ${stmts.length === 1 ? 'is a statement' : 'are statements'} (DDL), which flashback cannot undo`;
  const domains = domainsNotEndingInErrant(f.local.binlogState, peerState);
  if (domains.length > 0) return `the errant transactions are not the end of domain(s) ${domains.join(', ')}`;
  return undefined;
}

/** Decides what `rejoin` does, from what was read: refuse, or save → discard (flashback | rebuild) → replicate. */
export function planRejoin(f: RejoinFacts): RejoinPlan {
  if (f.local.flavorGtid !== 'mariadb') return refuse('rejoin supports MariaDB with GTIDs only (MySQL: rebuild with CLONE INSTANCE or a backup tool)');
  if (!f.local.readOnly) return refuse('this node is writable: fence it (or let keepalived demote it) before it rejoins');
  if (f.local.holdsVip !== undefined) return refuse(`this node holds the VIP (${f.local.holdsVip}): it is the master, not a node to rejoin`);
  const p = f.peer;
  if (!p.reachable) return refuse(`the peer's MySQL does not answer (${p.reason}): nothing to rejoin`);
  if (p.readOnly) return refuse('the peer is read-only: it is not a healthy writable master');
  if (p.replicating) return refuse('the peer replicates from another server: it is not the master');
  if (f.verdict.kind === 'unknown') return refuse(f.verdict.reason);

  const ranges = errantRanges(f.local.binlogState, p.binlogState);
  if (f.interrupted !== undefined) {
    // A half-applied flashback cannot be told from the data: only a rebuild is sure to end consistent.
    const what = `a previous rejoin stopped during its ${f.interrupted.method} (saved in ${f.interrupted.savedDir})`;
    if (f.rebuildBlocked !== undefined) return refuse(`${what}; rebuild impossible: ${f.rebuildBlocked}`);
    return { kind: 'rejoin', save: ranges, discard: { kind: 'rebuild' }, verdict: f.verdict, why: `${what}: rebuilding from the new master` };
  }
  if (ranges.length === 0) {
    if (f.method === 'rebuild' && f.rebuildBlocked !== undefined) return refuse(`rebuild impossible: ${f.rebuildBlocked}`);
    if (f.method === 'rebuild') return { kind: 'rejoin', save: [], discard: { kind: 'rebuild' }, verdict: f.verdict, why: 'rebuild requested' };
    // A former master's gtid_slave_pos is stale (its own writes are only in gtid_binlog_pos): start after both.
    return { kind: 'rejoin', save: [], discard: { kind: 'none' }, startFrom: mergeMariaPositions(f.local.binlogPos, f.local.slavePos),
      verdict: f.verdict, why: 'no errant transactions: nothing to save or discard' };
  }
  const errant = ranges.map(formatRange).join(', ');
  if (f.onlyIfProvenSafe && !(f.verdict.kind === 'errant' && f.verdict.autoHeal)) {
    return refuse(`${errant} may have been acknowledged (${f.verdict.reason}): staying fenced; to save and discard them run: keepalived-mysql rejoin`);
  }
  if (f.located === undefined || f.located.missing > 0) {
    return refuse(`${errant}: ${f.located?.missing ?? 'some'} errant transaction(s) are not in this node's binlogs, so they cannot be saved; ` +
      'nothing is discarded unsaved (copy the datadir aside and rebuild by hand)');
  }
  const fbBlocked = flashbackBlocked(f, p.binlogState);
  const common = commonState(f.local.binlogState, p.binlogState);
  const flashback = (): RejoinPlan => ({ kind: 'rejoin', save: ranges, discard: { kind: 'flashback', commonState: common },
    startFrom: positionOfState(common), verdict: f.verdict, why: `save ${errant}, then undo them with mariadb-binlog --flashback` });
  const rebuild = (): RejoinPlan => ({ kind: 'rejoin', save: ranges, discard: { kind: 'rebuild' }, verdict: f.verdict,
    why: `save ${errant}, then rebuild from the new master${fbBlocked ? ` (flashback impossible: ${fbBlocked})` : ''}` });
  if (f.method === 'flashback') return fbBlocked ? refuse(`flashback impossible: ${fbBlocked}`) : flashback();
  if (f.method === 'rebuild') return f.rebuildBlocked ? refuse(`rebuild impossible: ${f.rebuildBlocked}`) : rebuild();
  if (!fbBlocked) return flashback();
  if (!f.rebuildBlocked) return rebuild();
  return refuse(`${errant}: flashback impossible (${fbBlocked}) and rebuild impossible (${f.rebuildBlocked})`);
}

/** The plan as lines for --dry-run and the log. */
export function describePlan(plan: RejoinPlan): string[] {
  if (plan.kind === 'refuse') return [`refuse: ${plan.reason}`];
  const lines = [`verdict: ${plan.verdict.kind}${plan.verdict.kind === 'errant' ? ` (auto-heal ${plan.verdict.autoHeal ? 'allowed' : 'not allowed'})` : ''}: ${plan.verdict.reason}`];
  if (plan.verdict.kind === 'errant' && plan.verdict.maybeAcknowledged.length > 0) {
    lines.push(`possibly acknowledged to a client: ${plan.verdict.maybeAcknowledged.join(', ')}`);
  }
  lines.push(plan.save.length > 0 ? `save: ${plan.save.map(formatRange).join(', ')} (binlog events, replay.sql, readable.sql, manifest.json under stateDir/saved/)`
    : 'save: nothing (no errant transactions)');
  const d = plan.discard;
  lines.push(d.kind === 'none' ? 'discard: nothing'
    : d.kind === 'flashback' ? `discard: mariadb-binlog --flashback of the saved events (sql_log_bin=0), RESET MASTER, gtid_binlog_state='${d.commonState}'`
      : 'discard: rebuild — stream mariadb-backup from the new master over SSH, prepare, stop mysqld, swap the datadir (old one kept aside), start mysqld');
  lines.push(`rejoin: gtid_slave_pos=${plan.startFrom !== undefined ? `'${plan.startFrom}'` : "the backup's position"}, ` +
    'CHANGE MASTER (GTID slave_pos, heartbeat, connect retry), semi-sync replica on, START SLAVE, verify both threads');
  return lines;
}
