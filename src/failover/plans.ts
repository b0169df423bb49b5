import type { Config, OnCatchUpTimeout } from '../config/schema.js';
import { AppError } from '../errors.js';
import type { Dialect } from '../mysql/dialect.js';
import { changeSourceTimers,
  durableCommits, fenceWrites, lockWaitTimeout, openWrites, resetReplicaAll, semiSyncFor, startReplica, startReplicaIoThread, startReplicaSqlThread,
  stopReplica, stopReplicaIoThread, stopReplicaSqlThread, type ReplicaStatus, type Statement,
} from '../mysql/queries.js';
import type { BinlogTail } from '../ssh/types.js';
import { mariaPositionReached } from './gtid.js';
import type { CatchUpTarget, Facts, Node, Plan, Step } from './plan.js';
import type { PositionRecord } from './position-record.js';
import type { ServerState } from './server-state.js';

// The decision logic of every transition, as plain functions from what was read to a plan (src/failover/plan.ts).

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

/** This node's MySQL as the read phase found it. */
export interface LocalView {
  readonly dialect: Dialect;
  readonly state: ServerState;
  /**
   * MASTER off a silent source: its IO thread was killed and STOPped before the plan, and the STOP still waits for
   * the thread to exit (MariaDB: its semi-sync connect to that source, up to rpl_semi_sync_slave_kill_conn_timeout).
   */
  readonly ioThreadExiting?: boolean;
}

/** The peer's MySQL as the read phase found it: 'not-asked' when the transition did not need it. */
export type PeerView =
  | { readonly kind: 'answered'; readonly dialect: Dialect; readonly state: ServerState }
  /**
   * binlogIndex: its log_bin_index, when it answered through the witness only (its tail is read there).
   * hostSilent: the witness got no answer from its host either: no SSH can reach its binlog, none is tried.
   */
  | { readonly kind: 'unreachable'; readonly reason: string; readonly binlogIndex?: string; readonly hostSilent?: boolean }
  | { readonly kind: 'not-asked' };

/** Bounds for steps, derived from config so a slow setting slows everything consistently. */
export function stepBudgets(config: Config): { connect: number; query: number; stopReplica: number; verify: number; record: number } {
  return {
    connect: config.mysql.connectTimeoutMs + 500,
    query: config.mysql.queryTimeoutMs + 500,
    // STOP SLAVE can block ~2 s on a hung master's socket; give it a little more, then fall back.
    stopReplica: Math.max(3000, config.mysql.queryTimeoutMs),
    verify: 10_000,
    record: config.mysql.queryTimeoutMs + 1500,
  };
}

// The longest a fence statement may wait: client sessions are killed first (a commit waiting for its ack is one of
// them); without the kills a waiting commit ends at the semi-sync timeout, which the recommended my.cnf makes an hour.
function fenceTimeoutMs(config: Config, d: Dialect): number {
  return Math.max(config.mysql.queryTimeoutMs, Math.min(d.semiSync.timeoutMs + 1000, FENCE_CAP_MS));
}
const FENCE_CAP_MS = 5000;

/** A fence step: the fence itself plus two rounds of kills. */
export function fence(config: Config, d: Dialect, name: 'fence-old-master' | 'fence-local' | 'fence-old-master-via-witness' | 'fence-stale-peer',
  where: string): Extract<Step, { kind: 'fence' }> {
  const timeoutMs = fenceTimeoutMs(config, d);
  return {
    kind: 'fence', name, on: name === 'fence-local' ? 'local' : 'peer', where, timeoutMs,
    // A try never waits for a commit in progress (MySQL's floor is 1 s): the executor kills client sessions and tries again.
    statements: config.notify.killClientConnections ? [lockWaitTimeout(d.flavor === 'mariadb' ? 0 : 1), ...fenceWrites(d)] : fenceWrites(d),
    budgetMs: timeoutMs + 2 * config.mysql.queryTimeoutMs + 1000, killClients: config.notify.killClientConnections,
  };
}

const sql = (config: Config, name: Step['name'], statements: readonly Statement[], timeoutMs?: number): Step => ({
  kind: 'sql', name, on: 'local', where: 'local', statements,
  budgetMs: timeoutMs !== undefined ? timeoutMs + 500 : stepBudgets(config).query, ...(timeoutMs !== undefined ? { timeoutMs } : {}),
});

const note = (level: 'info' | 'warn' | 'error', shown: string, text?: (f: Facts) => string): Node =>
  text ? { kind: 'note', level, shown, text } : { kind: 'note', level, shown };

const record = (config: Config, role: PositionRecord['role'], o: { replicaAtStop?: boolean; bestEffort?: boolean } = {}): Step => ({
  kind: 'record-position', name: 'record-position', budgetMs: stepBudgets(config).record, role,
  replicaAtStop: o.replicaAtStop ?? false, bestEffort: o.bestEffort ?? false,
});

// A caught-up SQL thread stops within milliseconds of its KILL; one inside a large event group takes as long as a STOP.
const SQL_THREAD_EXIT_MS = 2000;

// STOP SLAVE can hang on a dead master's socket: bounded, then the IO and SQL threads one by one on a fresh connection.
function stopReplication(config: Config, d: Dialect): Step {
  const t = stepBudgets(config).stopReplica;
  return { kind: 'stop-replication', name: 'stop-replication', budgetMs: t + 500, timeoutMs: t, statement: stopReplica(d),
    fallback: [stopReplicaIoThread(d), stopReplicaSqlThread(d)] };
}

/** Stays read-only, records the fenced position and ends with PROMOTION_REFUSED (exit 4). */
function refusePromotion(config: Config, d: Dialect, shown: string, message: (f: Facts) => string): Plan {
  return [
    sql(config, 'stay-fenced', fenceWrites(d)),
    record(config, 'fenced'),
    { kind: 'fail', shown, error: (f) => new AppError('PROMOTION_REFUSED', message(f)) },
  ];
}

// A possible loss (catch-up timed out, or the old master's tail holds what we lack): the policy refuses or notes the gap.
function onPossibleLoss(config: Config, d: Dialect, what: 'catch-up' | 'tail'): Plan {
  const n = config.notify;
  const catchUpText = (f: Facts): string =>
    `replica did not apply ${f.catchUp?.target || 'its relay log'} within ${n.catchUpTimeoutMs} ms (${f.catchUp?.detail ?? '?'})`;
  const tailDetail = (f: Facts): string => (f.tail?.kind === 'gap' ? f.tail.detail : '?');
  if (decideAfterCatchUp(false, n.onCatchUpTimeout) === 'refuse') {
    return what === 'catch-up'
      ? refusePromotion(config, d, 'onCatchUpTimeout=refuse: stay read-only (PROMOTION_REFUSED)',
        (f) => `${catchUpText(f)}; onCatchUpTimeout=refuse: staying read-only`)
      : refusePromotion(config, d, 'onCatchUpTimeout=refuse: stay read-only (PROMOTION_REFUSED)',
        (f) => `${tailDetail(f)}; onCatchUpTimeout=refuse: staying read-only. To recover, apply them from the old master ` +
          `(${f.tail?.kind === 'gap' ? f.tail.operatorHint : '?'}) and run notify master again, or set notify.onCatchUpTimeout=promote to accept the loss`);
  }
  return what === 'catch-up'
    ? [note('error', 'promoting with a gap (onCatchUpTimeout=promote)',
      (f) => `promoting with a gap: ${catchUpText(f)}; transactions the old master has may be lost`)]
    : [note('error', 'promoting with a gap (onCatchUpTimeout=promote)',
      (f) => `promoting with a gap (onCatchUpTimeout=promote): ${tailDetail(f)}; these transactions may be lost`)];
}

/**
 * Until replication is stopped: catch up (bounded), decide on a timeout, stop. `fenced`: the old master was fenced, so
 * its GTIDs are the exact target and the IO thread may fetch the rest from it; otherwise it is never reconnected to,
 * the IO thread is killed before STOP (STOP waits on a hung source's socket), and its binlog tail is recovered over
 * SSH before writes open (semi-sync may have fallen back to async: MHA's save_master_binlog). `ioThreadExiting`: the IO
 * thread is killed but not gone, so the SQL thread is KILLed (STOP would wait for it) and STOP itself comes later.
 */
type Source = { readonly kind: 'fenced' } | { readonly kind: 'unfenced'; readonly binlogIndex?: string; readonly hostSilent?: boolean };

function drainReplica(config: Config, d: Dialect, status: ReplicaStatus, source: Source, ioThreadExiting: boolean): Plan {
  const fenced = source.kind === 'fenced';
  const readTail = source.kind === 'unfenced' && source.hostSilent !== true;
  const binlogIndex = source.kind === 'unfenced' ? source.binlogIndex : undefined;
  const b = stepBudgets(config);
  const timeoutMs = config.notify.catchUpTimeoutMs;
  const gtidMode = d.gtid === 'mariadb' ? status.usingGtid.toLowerCase() !== 'no' : d.gtid === 'mysql';
  const target: CatchUpTarget = !gtidMode ? { kind: 'relay' } : fenced ? { kind: 'old-master-gtids' } : { kind: 'gtids', gtids: status.receivedGtids };
  const ssh = config.peer.ssh;
  return [
    ...(readTail ? [{ kind: 'connect-ssh', name: 'connect-old-master-ssh', budgetMs: ssh.connectTimeoutMs + 500 } as const] : []),
    // The relay log is applied by the SQL thread; a stopped one (operator, crash) must run again to drain it.
    ...(status.sqlRunning !== 'Yes' ? [sql(config, 'start-sql-thread', [startReplicaSqlThread(d)])] : []),
    // Fetch the rest only from an old master we have just fenced; never reconnect to one we could not fence. An IO thread
    // still "Connecting" sleeps out MASTER_CONNECT_RETRY after a refusal (both hosts booting): restart it to connect now.
    ...(fenced && status.ioRunning !== 'Yes'
      ? [sql(config, 'start-io-thread', status.ioRunning === 'Connecting' ? [stopReplicaIoThread(d), startReplicaIoThread(d)] : [startReplicaIoThread(d)])]
      : []),
    { kind: 'catch-up', name: 'catch-up', budgetMs: timeoutMs + 3000, target, timeoutMs, status },
    { kind: 'if', test: 'caught-up',
      then: [note('info', 'caught up', (f) => `replica caught up to ${f.catchUp?.target || 'its relay log'} (${f.catchUp?.detail ?? ''})`)],
      else: onPossibleLoss(config, d, 'catch-up') },
    ...(fenced ? [] : ioThreadExiting
      ? [{ kind: 'kill-sql-thread', name: 'kill-sql-thread', budgetMs: b.query + SQL_THREAD_EXIT_MS + 500, boundMs: SQL_THREAD_EXIT_MS } as const]
      : [{ kind: 'kill-io-thread', name: 'kill-io-thread', budgetMs: b.query, statements: [stopReplicaSqlThread(d)] } as const]),
    ...(ioThreadExiting ? [] : [stopReplication(config, d)]),
    { kind: 'read-at-stop', name: 'read-at-stop', budgetMs: b.query + 1000, ioThread: ioThreadExiting ? 'killed' : 'stopped' },
    ...(source.kind === 'unfenced' && !readTail ? [note('warn', "the witness cannot reach the old master's host either: its binlog tail is out of reach " +
      '(an isolated master acknowledges nothing alone: semi-sync never falls back by itself)')] : []),
    ...(!readTail ? [] : [{
      kind: 'if', test: 'caught-up', else: [],
      then: [
        { kind: 'recover-tail', name: 'recover-tail', budgetMs: ssh.connectTimeoutMs + 4 * ssh.commandTimeoutMs + 1000 + Math.max(2000, timeoutMs) + b.query,
          recover: config.notify.recoverOldMasterTail, appliedNow: `${status.relaySourceLogFile}:${status.execSourceLogPos}`,
          ...(binlogIndex ? { indexFile: binlogIndex } : {}) },
        { kind: 'if', test: 'tail-gap', then: onPossibleLoss(config, d, 'tail'), else: [] },
      ],
    } as const]),
  ];
}

// Writable, durable, semi-sync master; recorded for the peer.
function openAsMaster(config: Config, d: Dialect, replicaAtStop: boolean): Plan {
  const semi = semiSyncFor(d, 'new-master');
  return [
    sql(config, 'durable-commits', durableCommits()),
    // No replica is attached yet: commits are asynchronous (recorded before the promotion) until one is, when
    // check-mysql's guard turns semi-sync on; waiting for an absent replica would stall the first commit.
    note(semi.length === 0 ? 'warn' : 'info', semi.length === 0 ? 'no semi-sync plugin installed: this master will replicate asynchronously'
      : 'asynchronous until a replica attaches (check-mysql turns semi-sync on then)'),
    sql(config, 'semi-sync-master', semi),
    sql(config, 'open-writes', openWrites(d)),
    note('info', 'local server is writable'),
    record(config, 'master', { replicaAtStop }),
  ];
}

/**
 * MASTER: promote the local replica to a writable, durable, semi-sync master. The old master is fenced first (when
 * it answers), so the catch-up target stops moving and it cannot take writes beside us; whether that worked is a
 * decision point, not a side effect of what was read.
 */
export function planPromotion(config: Config, local: LocalView, peer: PeerView): Plan {
  const d = local.dialect;
  const status = local.state.replica;
  if (!hasReplication(status)) {
    // Idempotence: a re-run after a finished (or crashed past RESET) promotion has nothing to catch up.
    return [
      note('info', local.state.readOnly ? 'no replication configured: finishing an interrupted promotion'
        : 'already a writable master: re-asserting master settings'),
      ...openAsMaster(config, d, false),
    ];
  }
  // Forget the old master for good (a restarted mysqld would otherwise reconnect to it); coordinates are in the log and position.json.
  const detach = sql(config, 'detach-replication', [resetReplicaAll(d)]);
  const source: Source = peer.kind === 'unreachable'
    ? { kind: 'unfenced', ...(peer.binlogIndex ? { binlogIndex: peer.binlogIndex } : {}), ...(peer.hostSilent ? { hostSilent: true } : {}) }
    : { kind: 'unfenced' };
  // A killed IO thread still on its way out receives nothing more: writes open beside it, and STOP and detach follow.
  // A stopped SQL thread would have to START first, and START waits for that exit too: the usual order then.
  const unfenced: Plan = local.ioThreadExiting === true && status.sqlRunning === 'Yes'
    ? [...drainReplica(config, d, status, source, true), ...openAsMaster(config, d, true), stopReplication(config, d), detach]
    : [...drainReplica(config, d, status, source, false), detach, ...openAsMaster(config, d, true)];
  if (peer.kind !== 'answered') return unfenced;
  const ssh = config.peer.ssh;
  // Walk the old master's binlog only from what this replica already read (a whole-file walk is slow).
  const hint = status.sourceLogFile !== '' ? { file: status.sourceLogFile, pos: status.readSourceLogPos } : undefined;
  const fenced: Plan = [
    ...drainReplica(config, d, status, { kind: 'fenced' }, false), detach, ...openAsMaster(config, d, true),
    // A fenced old master's tail only feeds the log: read after writes open (loading ssh2 costs more CPU than the promotion).
    { kind: 'compare-old-master-tail', name: 'compare-old-master-tail', budgetMs: ssh.connectTimeoutMs + 2 * ssh.commandTimeoutMs + 500,
      ...(peer.state.logBinIndex ? { indexFile: peer.state.logBinIndex } : {}), ...(hint ? { hint } : {}) },
  ];
  return [
    fence(config, peer.dialect, 'fence-old-master', `old master ${config.peer.host}`),
    { kind: 'if', test: 'old-master-fenced', then: fenced, else: unfenced },
  ];
}

/** BACKUP: fence, learn where the new master stands, check for errant transactions, rejoin it as a semi-sync replica. */
export function planDemotion(config: Config, d: Dialect): Plan {
  return [
    // Fence first: whatever happens next, this node takes no more writes.
    fence(config, d, 'fence-local', 'local'),
    { kind: 'read-local', name: 'read-local', budgetMs: stepBudgets(config).query },
    ...learnNewMaster(config),
    ...(d.gtid === 'none'
      ? [note('warn', 'GTIDs are off: no errant-transaction check is possible; rejoining by file/position')]
      : [{ kind: 'errant-check', name: 'errant-check', budgetMs: stepBudgets(config).query } as const,
        { kind: 'if', test: 'errant', else: [note('info', 'no errant transactions: safe to rejoin')],
          then: stayFenced(config, (f) => new AppError('ERRANT_TRANSACTIONS', errantMessage(f)),
            'errant transactions: stay read-only, do not replicate (ERRANT_TRANSACTIONS)') } as const]),
    ...replicateFromNewMaster(config, d),
  ];
}

const stayFenced = (config: Config, error: (f: Facts) => AppError, shown: string): Plan => [
  record(config, 'fenced', { bestEffort: true }),
  { kind: 'fail', shown, error },
];

// Where the new master stands: its MySQL once it is writable (only then has its promotion applied everything it
// received from us), else its recorded position.json over SSH; neither known ends the transition fenced.
function learnNewMaster(config: Config): Plan {
  const ssh = config.peer.ssh;
  const n = config.notify;
  return [
    { kind: 'reach-peer', name: 'reach-new-master', budgetMs: Math.min(config.mysql.connectTimeoutMs, 1000) + 2 * Math.min(config.mysql.queryTimeoutMs, 2000) },
    { kind: 'if', test: 'peer-answered', else: [],
      then: [{ kind: 'wait-peer-writable', name: 'wait-peer-writable', budgetMs: n.catchUpTimeoutMs + 6000, boundMs: n.catchUpTimeoutMs + 5000 }] },
    { kind: 'if', test: 'new-master-known', then: [], else: [
      { kind: 'read-peer-position-record', name: 'read-peer-position-record', budgetMs: ssh.connectTimeoutMs + ssh.commandTimeoutMs + 500 },
      { kind: 'if', test: 'new-master-known', then: [],
        else: stayFenced(config, (f) => f.newMasterUnknown ?? new AppError('PEER_UNREACHABLE', "cannot learn the new master's position"),
          "the new master's position is unknown: stay read-only (PEER_UNREACHABLE)") },
    ] },
  ];
}

// Point replication at the new master (semi-sync replica on before START), verify it runs, record the position.
function replicateFromNewMaster(config: Config, d: Dialect): Plan {
  const b = stepBudgets(config);
  const replicaSemi = semiSyncFor(d, 'replica');
  const spec = {
    host: config.peer.host, port: config.peer.mysqlPort, user: config.replication.user, password: config.replication.password,
    connectRetryS: config.replication.connectRetryS, heartbeatPeriodS: config.replication.heartbeatPeriodS,
  };
  return [
    ...(replicaSemi.length === 0 ? [note('warn', 'no semi-sync plugin installed: replicating asynchronously')] : []),
    { kind: 'if', test: 'replicating-from-new-master',
      // Already a replica of the new master: keep its position, but re-apply the configured timers and semi-sync
      // (a replica set up by hand once ran with Connect_Retry 10 and a 30 s heartbeat) unless they are in force:
      // a needless STOP/START is a gap in its acknowledgements.
      then: [{ kind: 'if', test: 'replication-current',
        then: [note('info', 'already replicating from the new master with the configured timers, as a semi-sync replica: left running')],
        else: [
          note('info', 'already replicating from the new master: re-applying replication timers and semi-sync'),
          stopReplication(config, d),
          sql(config, 'change-source-timers', [changeSourceTimers(d, config.replication.connectRetryS, config.replication.heartbeatPeriodS)]),
          sql(config, 'semi-sync-replica', replicaSemi),
          sql(config, 'start-replication', [startReplica(d)]),
        ] }],
      else: [
        stopReplication(config, d),
        // A former master's gtid_slave_pos is stale (its own writes are only in gtid_binlog_pos); resuming from it
        // would re-apply them. With no errant GTIDs, everything in the binlog is on the new master: start after it.
        ...(d.gtid === 'mariadb' ? [{ kind: 'set-gtid-slave-pos', name: 'set-gtid-slave-pos', budgetMs: b.query } as const] : []),
        { kind: 'change-source', name: 'change-source', budgetMs: b.query, dialect: d, spec, byGtid: d.gtid !== 'none' },
        // Semi-sync replica on before the IO thread starts, so it acknowledges from the first event.
        sql(config, 'semi-sync-replica', replicaSemi),
        sql(config, 'start-replication', [startReplica(d)]),
      ] },
    { kind: 'verify-replication', name: 'verify-replication', budgetMs: b.verify, boundMs: b.verify - 500 },
    record(config, 'replica'),
    { kind: 'if', test: 'replicating', then: [note('info', 'replicating from the new master')],
      else: [{ kind: 'if', test: 'sql-thread-running',
        then: [{ kind: 'fail', shown: 'replication configured but not connected (PEER_UNREACHABLE; it keeps retrying)',
          error: (f) => new AppError('PEER_UNREACHABLE', `replication configured but not connected to the new master: ${threads(f.replication)}; it keeps retrying`) }],
        else: [{ kind: 'fail', shown: 'replication did not start (FAILOVER_STEP_FAILED)',
          error: (f) => new AppError('FAILOVER_STEP_FAILED', `replication did not start: ${threads(f.replication)}`) }] }] },
  ];
}

function errantMessage(f: Facts): string {
  const e = f.errant ?? { errant: [], unproven: [] };
  const set = [...e.errant, ...e.unproven.map((g) => `${g} (unproven)`)].join(', ');
  return `errant transactions: this node has ${set} which the new master (${f.newMaster?.source ?? '?'}) lacks; ` +
    'staying read-only and not replicating (repair by hand: never RESET MASTER to hide them)';
}

const threads = (st: ReplicaStatus | undefined): string =>
  `IO thread ${st?.ioRunning ?? '?'}${st?.lastIoError ? ` (${st.lastIoError})` : ''}, ` +
  `SQL thread ${st?.sqlRunning ?? '?'}${st?.lastSqlError ? ` (${st.lastSqlError})` : ''}`;

/** STOP / FAULT: fence, and record (and log) master and replica coordinates. */
export function planFenceAndRecord(config: Config, d: Dialect, role: 'stopped' | 'fenced'): Plan {
  return [fence(config, d, 'fence-local', 'local'), record(config, role)];
}
