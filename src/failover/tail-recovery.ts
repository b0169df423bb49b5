import { AppError, describeError } from '../errors.js';
import { allowAdminWrites } from '../mysql/queries.js';
import type { BinlogChunk } from '../mysql/types.js';
import { deadline } from '../platform/deadline.js';
import type { BinlogGroup, BinlogTail, PeerFiles } from '../ssh/types.js';
import { mariaPositionReached } from './gtid.js';
import { connectPeerFiles, peerBinlogIndex } from './peer.js';
import { describeApplied, describeTailEnd, stepBudgets } from './plans.js';
import type { LocalSession } from './read.js';
import { readServerState } from './server-state.js';
import type { TransitionContext } from './steps.js';

// MHA's save_master_binlog + apply_diff_relay_logs, over SFTP: the old master's complete transactions after what
// this replica applied are cut from its binlogs and applied locally before writes open.

/** What the replica applied, in the old master's coordinates, and which GTIDs the local server already has. */
export interface ReplicaApplied {
  readonly relaySourceLogFile: string;
  readonly execSourceLogPos: number;
  /** MariaDB gtid_binlog_pos (recovered transactions land here) and gtid_slave_pos; MySQL gtid_executed in binlogPos. */
  readonly gtidBinlogPos: string;
  readonly gtidSlavePos: string;
  readonly flavor: 'mysql' | 'mariadb';
  /** The old master's log_bin_index as its MySQL reported it (through the witness), when known. */
  readonly indexFromMysql?: string;
}

/** Bytes to fetch from one binlog: [from, to) are whole missing groups; the format description is 4..fdEnd. */
export interface TailRange {
  readonly file: string;
  readonly from: number;
  readonly to: number;
  readonly formatDescriptionEnd: number;
  readonly groups: number;
}

export type TailPlan =
  | { readonly kind: 'complete'; readonly summary: string }
  | { readonly kind: 'missing'; readonly summary: string; readonly ranges: readonly TailRange[]; readonly count: number;
      readonly firstGtid?: string; readonly lastGtid?: string; readonly missing: string }
  | { readonly kind: 'unknown'; readonly summary: string; readonly reason: string };

const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
const MARIA_GTID = /^\d+-\d+-\d+$/;

// A group is already here when its MariaDB GTID is in the local binlog (an earlier, interrupted recovery) or slave position.
function alreadyApplied(g: BinlogGroup, a: ReplicaApplied): boolean {
  if (a.flavor !== 'mariadb' || g.gtid === undefined || !MARIA_GTID.test(g.gtid)) return false;
  return mariaPositionReached(a.gtidBinlogPos, g.gtid) || mariaPositionReached(a.gtidSlavePos, g.gtid);
}

/**
 * Which bytes of the old master's binlogs hold complete transactions the replica lacks. `tails` are the walks of
 * every binlog from the replica's Relay_Master_Log_File (walked from Exec_Master_Log_Pos) to the last one.
 * Only whole groups are cut: a torn trailing transaction is never part of a range.
 */
export function planTailRecovery(tails: readonly BinlogTail[], a: ReplicaApplied): TailPlan {
  const last = tails.at(-1);
  const first = tails[0];
  const appliedText = describeApplied({ relaySourceLogFile: a.relaySourceLogFile, execSourceLogPos: a.execSourceLogPos,
    appliedGtids: a.gtidSlavePos, flavor: a.flavor });
  if (first === undefined || last === undefined) return { kind: 'unknown', summary: `replica applied ${appliedText}`, reason: 'no binlog walked' };
  const summary = `old master ended at ${describeTailEnd(last)}, replica applied ${appliedText}`;
  const unknown = (reason: string): TailPlan => ({ kind: 'unknown', summary: `${summary}: ${reason}`, reason });
  if (baseName(first.file) !== baseName(a.relaySourceLogFile)) return unknown(`first walked binlog ${first.file} is not ${a.relaySourceLogFile}`);
  // The walk must have started exactly at the replica's position, else groups before it would be applied twice.
  const fdEnd = first.formatDescriptionEnd ?? 0;
  if (a.execSourceLogPos > fdEnd && first.walkedFrom !== a.execSourceLogPos) {
    return unknown(`${a.relaySourceLogFile}:${a.execSourceLogPos} is not an event start in the old master's binlog`);
  }

  const ranges: TailRange[] = [];
  const missingGroups: BinlogGroup[] = [];
  let seenMissing = false;
  for (const t of tails) {
    if (t.groups === undefined) return unknown(`${baseName(t.file)} has too many transactions after the replica's position to list`);
    if (t.formatDescriptionEnd === undefined) return unknown(`${baseName(t.file)} has no format description event`);
    const missing: BinlogGroup[] = [];
    for (const g of t.groups) {
      if (alreadyApplied(g, a)) {
        // An applied group after a missing one (interleaved domains) cannot be skipped inside one byte range.
        if (seenMissing) return unknown(`GTID ${g.gtid} is applied but follows missing transactions in ${baseName(t.file)}`);
        continue;
      }
      seenMissing = true;
      missing.push(g);
    }
    const head = missing[0];
    const tail = missing.at(-1);
    if (head !== undefined && tail !== undefined) {
      ranges.push({ file: t.file, from: head.start, to: tail.end, formatDescriptionEnd: t.formatDescriptionEnd, groups: missing.length });
      missingGroups.push(...missing);
    }
  }
  if (missingGroups.length === 0) return { kind: 'complete', summary };
  const gtids = missingGroups.map((g) => g.gtid).filter((g): g is string => g !== undefined);
  const where = ranges.map((r) => `${baseName(r.file)}:${r.from}-${r.to}`).join(', ');
  const firstGtid = gtids[0];
  const lastGtid = gtids.at(-1);
  const missing = `${missingGroups.length} transaction(s)${firstGtid !== undefined ? ` (GTIDs ${firstGtid}..${lastGtid})` : ''} at ${where}`;
  return {
    kind: 'missing', summary, ranges, count: missingGroups.length, missing,
    ...(firstGtid !== undefined ? { firstGtid } : {}), ...(lastGtid !== undefined ? { lastGtid } : {}),
  };
}

// The commands an operator can run on the old master's host to apply the same bytes by hand.
export function operatorHint(ranges: readonly TailRange[], flavor: 'mysql' | 'mariadb'): string {
  const [tool, client] = flavor === 'mariadb' ? ['mariadb-binlog', 'mariadb'] : ['mysqlbinlog', 'mysql'];
  return ranges.map((r) => `${tool} --start-position=${r.from} --stop-position=${r.to} ${r.file} | ${client} -h <new master>`).join('; ');
}

/** How the old master's tail ended up, for promote's decision. */
export type TailOutcome =
  /** No SSH, no index, or the walk failed: the binlog end is unknown (a dead host is the normal case). */
  | { readonly kind: 'unknown'; readonly detail: string }
  | { readonly kind: 'complete'; readonly detail: string }
  | { readonly kind: 'recovered'; readonly detail: string; readonly lastGtid?: string }
  /** Complete transactions exist that this node does not have; `detail` names them and why they were not applied. */
  | { readonly kind: 'gap'; readonly detail: string; readonly operatorHint: string };

interface Fetched {
  readonly plan: TailPlan;
  readonly chunks?: BinlogChunk[];
  readonly fetchError?: string;
}

// Walks the old master's binlogs from the replica's position and, when recovery is on, fetches the missing bytes — one SSH session.
async function readMissing(ctx: TransitionContext, files: PeerFiles, a: ReplicaApplied, recover: boolean, s: AbortSignal): Promise<Fetched | undefined> {
  const index = await peerBinlogIndex(ctx, files, a.indexFromMysql, s);
  if (index === undefined) return undefined;
  const tails = await files.readBinlogTails(index, { file: a.relaySourceLogFile, pos: a.execSourceLogPos }, s);
  const plan = planTailRecovery(tails, a);
  if (plan.kind !== 'missing' || !recover) return { plan };
  try {
    const chunks: BinlogChunk[] = [];
    for (const r of plan.ranges) {
      const formatDescription = await files.readBinlogRange(r.file, 4, r.formatDescriptionEnd, s);
      const events = await files.readBinlogRange(r.file, r.from, r.to, s);
      chunks.push({ sourceFile: r.file, from: r.from, to: r.to, formatDescription, events });
    }
    return { plan, chunks };
  } catch (err) {
    return { plan, fetchError: describeError(err) };
  }
}

/** An SSH session to the old master being opened while the replica catches up (ssh2's load and handshake off the critical path). */
export interface EarlyPeerFiles {
  readonly files: Promise<PeerFiles | undefined>;
  close(): void;
}

const TAIL_WHAT = "read the old master's binlog tail";

// Starts connecting now, bounded by the SSH connect timeout; a failure is logged when it happens and read as undefined.
export function openOldMasterFiles(ctx: TransitionContext, signal: AbortSignal): EarlyPeerFiles {
  const files = connectPeerFiles(ctx, TAIL_WHAT, deadline(ctx.config.peer.ssh.connectTimeoutMs + 500, signal));
  // A rejected host key is rethrown where the session is awaited; until then it must not be an unhandled rejection.
  files.catch(() => undefined);
  return { files, close: () => void files.then((f) => f?.close(), () => undefined) };
}

/**
 * Before writes open, when the old master could not be fenced: reads its binlog tail over SSH (bounded) and applies
 * the complete transactions this replica lacks. Never throws for an unreachable host; a detected, unrecovered gap
 * is returned as 'gap' for the catch-up policy to decide.
 */
export async function recoverOldMasterTail(ctx: TransitionContext, session: LocalSession, a: ReplicaApplied,
  early: EarlyPeerFiles | undefined, signal: AbortSignal): Promise<TailOutcome> {
  const { config, ports, steps } = ctx;
  const log = ports.log;
  const recover = config.notify.recoverOldMasterTail;
  const from = `${a.relaySourceLogFile}:${a.execSourceLogPos}`;
  if (a.relaySourceLogFile === '') return { kind: 'unknown', detail: 'replica coordinates unknown' };

  const ssh = config.peer.ssh;
  const sshSession = early ?? openOldMasterFiles(ctx, signal);
  const fetched = await steps.run('read-old-master-tail', ssh.connectTimeoutMs + 4 * ssh.commandTimeoutMs + 1000, signal, async (s) => {
    // A host-key rejection throws here: an attack or a misconfiguration is never a reason to skip the check and promote.
    const files = await sshSession.files;
    if (!files) return undefined;
    try {
      return await readMissing(ctx, files, a, recover, deadline(4 * ssh.commandTimeoutMs, s));
    } catch (err) {
      log.warn(`cannot ${TAIL_WHAT} over SSH: ${describeError(err)}`);
      return undefined;
    } finally {
      sshSession.close();
    }
  });
  if (fetched === undefined) {
    const detail = `old master's binlog unreachable; replica applied ${from}: transactions only the old master had (semi-sync degraded to async) cannot be checked`;
    log.warn(detail);
    return { kind: 'unknown', detail };
  }
  const { plan } = fetched;
  if (plan.kind === 'complete') {
    log.info(plan.summary);
    return { kind: 'complete', detail: plan.summary };
  }
  if (plan.kind === 'unknown') {
    // The binlog was read but cannot be cut safely: as much a gap as an unapplied one, so the policy decides.
    const detail = `${plan.summary}; its tail cannot be recovered automatically`;
    log.error(detail);
    const tool = a.flavor === 'mariadb' ? 'mariadb-binlog' : 'mysqlbinlog';
    return { kind: 'gap', detail, operatorHint: `${tool} --start-position=${a.execSourceLogPos} ${a.relaySourceLogFile} on the old master lists what follows` };
  }
  const gap = (why: string): TailOutcome => {
    const detail = `${plan.summary}: ${plan.missing} missing here; ${why}`;
    log.error(detail, { ranges: plan.ranges });
    return { kind: 'gap', detail, operatorHint: operatorHint(plan.ranges, a.flavor) };
  };
  if (!recover) return gap('notify.recoverOldMasterTail is false');
  if (fetched.fetchError !== undefined || fetched.chunks === undefined) return gap(`fetching them failed: ${fetched.fetchError ?? 'no bytes'}`);
  const applier = ports.binlogApplier;
  if (!applier) return gap('no binlog applier is available');

  const applyMs = Math.max(2000, config.notify.catchUpTimeoutMs);
  const chunks = fetched.chunks;
  try {
    // MySQL's super_read_only would refuse the admin's replayed statements; read_only=1 still keeps clients out.
    await steps.run('allow-admin-writes', stepBudgets(config).query, signal, (s) =>
      steps.sql(session.client, 'allow-admin-writes', 'local', allowAdminWrites(session.dialect), s));
    await steps.run('apply-old-master-tail', applyMs, signal, (s) => applier.apply(chunks, a.flavor, s));
  } catch (err) {
    return gap(`applying them failed: ${describeError(err)}`);
  }
  // Trust the server, not the tool's exit code: the last recovered GTID must now be in the local binlog.
  if (a.flavor === 'mariadb' && plan.lastGtid !== undefined && MARIA_GTID.test(plan.lastGtid)) {
    const now = await readServerState(session.client, session.dialect, signal);
    if (!mariaPositionReached(now.gtidBinlogPos ?? '', plan.lastGtid)) {
      return gap(`applied, but GTID ${plan.lastGtid} is not in gtid_binlog_pos ${now.gtidBinlogPos ?? ''}`);
    }
  }
  const detail = `${plan.summary}, recovered ${plan.missing}`;
  log.info(detail, { ranges: plan.ranges });
  return { kind: 'recovered', detail, ...(plan.lastGtid !== undefined ? { lastGtid: plan.lastGtid } : {}) };
}
