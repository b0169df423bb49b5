// What `keepalived-mysql status` knows about the pair, and the verdict judged from it (pure: no I/O here).

const LAG_WARN_S = 5;
export const OLD_TRANSACTION_S = 60;

export interface SemiSyncView {
  /** Source (master) side: plugin installed, enabled, currently semi-synchronous, acking replicas, wait point. */
  readonly sourceEnabled?: boolean;
  readonly sourceActive?: boolean;
  readonly clients?: number;
  readonly waitPoint?: string;
  readonly timeoutMs?: number;
  /** Commits not acknowledged by a replica (fell back to async), and acknowledged ones, since start. */
  readonly noTx?: number;
  readonly yesTx?: number;
  readonly replicaEnabled?: boolean;
  readonly replicaActive?: boolean;
}

export interface ReplicationView {
  readonly sourceHost: string;
  readonly sourcePort: number;
  readonly ioRunning: string;
  readonly sqlRunning: string;
  readonly secondsBehind: number | null;
  readonly lastIoError: string;
  readonly lastSqlError: string;
}

export interface MysqlView {
  readonly flavor: 'mysql' | 'mariadb';
  readonly version: string;
  readonly serverId: number;
  readonly readOnly: boolean;
  readonly superReadOnly?: boolean;
  readonly writable: boolean;
  readonly replication: ReplicationView | null;
  readonly semiSync: SemiSyncView;
  /** MariaDB gtid_binlog_pos / MySQL gtid_executed. */
  readonly gtidPosition: string;
  /** MariaDB gtid_binlog_state (exact errant check); absent on MySQL. */
  readonly gtidBinlogState?: string;
  readonly gtidSlavePos?: string;
  readonly transactions: { readonly open: number; readonly olderThan60s: number; readonly oldestS: number } | null;
}

/** The lead's term and step-down records, shown as found (docs/status.md). */
export interface StateFilesView {
  readonly position?: Record<string, unknown>;
  readonly term?: Record<string, unknown>;
  readonly stepdown?: Record<string, unknown>;
  readonly lastTransitions?: readonly Record<string, unknown>[];
  /** The last switch of this master to async by check-mysql's semi-sync guard (semisync-async.jsonl). */
  readonly lastAsyncSwitch?: Record<string, unknown>;
  /** Unreadable lines or files, one line each. */
  readonly warnings?: readonly string[];
}

export interface NodeView {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** How this node was read: its MySQL, its files over SSH (MySQL did not answer), or not at all. */
  readonly source: 'mysql' | 'ssh' | 'none';
  readonly mysql: MysqlView | null;
  /** Why MySQL (and, for the peer, SSH) could not be read. */
  readonly errors: readonly string[];
  readonly files: StateFilesView;
  /** Local node only: keepalived's pid file names a live keepalived. */
  readonly keepalived?: { readonly running: boolean; readonly detail: string };
  /** Local node only: the VIP is on one of this host's interfaces. */
  readonly vipLocal?: boolean;
}

export interface VipView {
  readonly address: string | null;
  /** Which node answers MySQL on the VIP when it is not local: "local", "peer", "none" (nothing answers), null: not asked. */
  readonly holder: 'local' | 'peer' | 'none' | 'unknown' | null;
  readonly detail: string;
}

export interface ErrantView {
  /** GTIDs this node has that the peer lacks, and the other way round (ranges); null: could not be compared. */
  readonly localOnly: readonly string[] | null;
  readonly peerOnly: readonly string[] | null;
  readonly unproven: readonly string[];
  readonly method: string;
}

export type Verdict = 'OK' | 'DEGRADED' | 'DANGER' | 'UNKNOWN';

export interface PairStatus {
  readonly v: 1;
  readonly at: string;
  readonly verdict: Verdict;
  readonly reasons: readonly string[];
  readonly vip: VipView;
  readonly local: NodeView;
  readonly peer: NodeView;
  readonly errant: ErrantView;
}

// Each rule adds a reason at its level; the verdict is the worst level found.
export function judgePair(input: { vip: VipView; local: NodeView; peer: NodeView; errant: ErrantView }): { verdict: Verdict; reasons: string[] } {
  const danger: string[] = [];
  const degraded: string[] = [];
  const { local, peer, vip, errant } = input;
  const nodes = [local, peer];
  const l = local.mysql;
  const p = peer.mysql;
  if (l === null && p === null) {
    if (peer.source === 'ssh') danger.push(`neither MySQL answers (${peer.name} host reachable over SSH)`);
    else return { verdict: 'UNKNOWN', reasons: [`neither ${local.name}'s nor ${peer.name}'s MySQL answers: the pair cannot be judged from here`] };
  }
  for (const n of nodes) if (n.mysql === null) degraded.push(`${n.name}: MySQL does not answer${n.source === 'ssh' ? ' (read its state files over SSH)' : ''}`);

  const writable = nodes.filter((n) => n.mysql?.writable === true);
  if (writable.length === 2) danger.push(`both ${local.name} and ${peer.name} are writable`);
  if (writable.length === 0 && (l !== null || p !== null)) danger.push(l !== null && p !== null ? 'no node is writable' : 'no reachable node is writable');

  if (vip.address !== null) {
    if (vip.holder === 'none') danger.push(`VIP ${vip.address} is on neither node`);
    const holderNode = vip.holder === 'local' ? local : vip.holder === 'peer' ? peer : undefined;
    if (holderNode?.mysql && !holderNode.mysql.writable) danger.push(`VIP ${vip.address} is on ${holderNode.name}, which is read-only`);
  }
  if (local.keepalived && !local.keepalived.running) degraded.push(`${local.name}: keepalived not running (${local.keepalived.detail})`);

  for (const n of nodes) {
    const m = n.mysql;
    if (m === null) continue;
    const r = m.replication;
    if (!m.writable && r === null) degraded.push(`${n.name}: read-only and not replicating (fenced)`);
    if (r !== null) {
      if (r.ioRunning.toLowerCase() !== 'yes') degraded.push(`${n.name}: replication IO thread ${r.ioRunning || 'stopped'}${r.lastIoError ? `: ${r.lastIoError}` : ''}`);
      if (r.sqlRunning.toLowerCase() !== 'yes') degraded.push(`${n.name}: replication SQL thread ${r.sqlRunning || 'stopped'}${r.lastSqlError ? `: ${r.lastSqlError}` : ''}`);
      if (r.secondsBehind !== null && r.secondsBehind > LAG_WARN_S) degraded.push(`${n.name}: ${r.secondsBehind} s behind its source (over ${LAG_WARN_S} s)`);
      if (m.writable) danger.push(`${n.name}: writable while replicating from ${r.sourceHost}`);
    }
    if (m.writable) {
      const s = m.semiSync;
      if (s.sourceEnabled !== true) degraded.push(`${n.name}: semi-sync source side not enabled on the writable node`);
      else if (s.sourceActive !== true) degraded.push(`${n.name}: semi-sync enabled but not active (fell back to async; ${s.clients ?? 0} replicas acking)`);
      else if (s.clients === 0) degraded.push(`${n.name}: semi-sync active but no replica is acknowledging (the next commit waits ${s.timeoutMs ?? '?'} ms, then falls back to async)`);
      if (s.waitPoint !== undefined && s.waitPoint.toUpperCase() !== 'AFTER_SYNC') degraded.push(`${n.name}: semi-sync wait point ${s.waitPoint}, not AFTER_SYNC`);
    } else if (r !== null && m.semiSync.replicaEnabled !== true) {
      degraded.push(`${n.name}: semi-sync replica side not enabled`);
    }
    if (m.transactions !== null && m.transactions.olderThan60s > 0) {
      degraded.push(`${n.name}: ${m.transactions.olderThan60s} transaction(s) open over ${OLD_TRANSACTION_S} s (oldest ${m.transactions.oldestS} s)`);
    }
  }

  // Errant: the read-only side holding GTIDs the writable side lacks cannot follow it without losing them.
  const writer = writable.length === 1 ? writable[0] : undefined;
  if (writer !== undefined) {
    const readerOnly = writer === local ? errant.peerOnly : errant.localOnly;
    const reader = writer === local ? peer : local;
    if (readerOnly !== null && readerOnly.length > 0) danger.push(`${reader.name} has transactions ${writer.name} lacks: ${readerOnly.join(',')}`);
  }
  for (const n of nodes) {
    const last = n.files.lastTransitions?.at(-1);
    if (last !== undefined && last['outcome'] !== 'done' && last['outcome'] !== 'superseded') {
      degraded.push(`${n.name}: last transition ${String(last['state'])} ${String(last['outcome'])} (exit ${String(last['exitCode'])})`);
    }
    if (n.files.stepdown !== undefined) degraded.push(`${n.name}: stepped down (${String(n.files.stepdown['reason'] ?? 'no reason recorded')})`);
  }
  if (danger.length > 0) return { verdict: 'DANGER', reasons: [...danger, ...degraded] };
  if (degraded.length > 0) return { verdict: 'DEGRADED', reasons: degraded };
  return { verdict: 'OK', reasons: [] };
}
