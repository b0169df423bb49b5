import { AppError } from '../errors.js';
import type { Dialect } from './dialect.js';
import type { Row } from './types.js';

/**
 * One SQL statement with its values kept apart: mysql2 escapes `?` values, so hosts, users and passwords are
 * never formatted into the text (the seed's `master_host='{0}'` bug). `secret` lists value positions to mask.
 */
export interface Statement {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly secret?: readonly number[];
}

const stmt = (sql: string, params: readonly unknown[] = [], secret?: readonly number[]): Statement =>
  secret ? { sql, params, secret } : { sql, params };

// The statement as a human reads it (dry-run, logs): values inlined, secrets as '***'.
export function showStatement(s: Statement): string {
  let i = 0;
  return s.sql.replace(/\?/g, () => {
    const index = i++;
    if (s.secret?.includes(index)) return "'***'";
    const v = s.params[index];
    if (typeof v === 'number' || typeof v === 'bigint') return String(v);
    if (v === null || v === undefined) return 'NULL';
    return `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  });
}

// ---------- validators: what may reach a statement at all ----------

// Host names and IP literals only: letters, digits, dots, dashes, colons (IPv6); nothing a quote could hide in.
export function checkHost(host: string): string {
  if (!/^[A-Za-z0-9]([A-Za-z0-9.:-]{0,252}[A-Za-z0-9])?$/.test(host)) {
    throw new AppError('CONFIG_INVALID', `refusing host ${JSON.stringify(host)}: not a host name or IP address`);
  }
  return host;
}

// MySQL user names are at most 80 chars (32 in 5.7); no quotes, backslashes, spaces or control characters.
export function checkUser(user: string): string {
  if (!/^[A-Za-z0-9_.@%+-]{1,80}$/.test(user)) {
    throw new AppError('CONFIG_INVALID', `refusing user name ${JSON.stringify(user)}: only letters, digits and _.@%+- are allowed`);
  }
  return user;
}

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new AppError('CONFIG_INVALID', `refusing port ${port}`);
  return port;
}

// System-variable names come from the dialect, never from input; still, only [a-z_] may be spliced in.
function checkVariableName(name: string): string {
  if (!/^[a-z_]{1,64}$/.test(name)) throw new AppError('INTERNAL', `refusing variable name ${JSON.stringify(name)}`);
  return name;
}

// ---------- probes ----------

/** Variables whose presence (not only value) tells the dialect apart. */
export const PROBED_VARIABLES = [
  'gtid_binlog_pos', 'gtid_mode', 'super_read_only', 'log_bin', 'log_bin_index',
  'rpl_semi_sync_master_enabled', 'rpl_semi_sync_slave_enabled',
  'rpl_semi_sync_source_enabled', 'rpl_semi_sync_replica_enabled',
  'rpl_semi_sync_master_timeout', 'rpl_semi_sync_source_timeout',
  'rpl_semi_sync_master_wait_no_slave', 'rpl_semi_sync_source_wait_no_replica',
] as const;

export const probeVersion = (): Statement => stmt('SELECT VERSION() AS version, @@version_comment AS versionComment');

export const probeServerVariables = (): Statement =>
  stmt(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${PROBED_VARIABLES.map(() => '?').join(', ')})`, [...PROBED_VARIABLES]);

// ---------- reading state ----------

export function showReplicaStatus(d: Dialect): Statement {
  return stmt(d.replicaStatements ? 'SHOW REPLICA STATUS' : 'SHOW SLAVE STATUS');
}

export function showBinlogStatus(d: Dialect): Statement {
  return stmt(d.binaryLogStatus ? 'SHOW BINARY LOG STATUS' : 'SHOW MASTER STATUS');
}

/** read_only, super_read_only (where it exists) and the binlog index path, one row. */
export function readRoleFlags(d: Dialect): Statement {
  const sro = d.superReadOnly ? ', @@GLOBAL.super_read_only AS superReadOnly' : '';
  return stmt(`SELECT @@GLOBAL.read_only AS readOnly${sro}, @@GLOBAL.log_bin_index AS logBinIndex, @@server_id AS serverId`);
}

/** GTID state, one row: MariaDB binlogPos/binlogState/slavePos/currentPos; MySQL executed/purged. */
export function readGtidState(d: Dialect): Statement {
  if (d.gtid === 'mariadb') {
    return stmt('SELECT @@GLOBAL.gtid_binlog_pos AS binlogPos, @@GLOBAL.gtid_binlog_state AS binlogState, ' +
      '@@GLOBAL.gtid_slave_pos AS slavePos, @@GLOBAL.gtid_current_pos AS currentPos');
  }
  return stmt('SELECT @@GLOBAL.gtid_executed AS executed, @@GLOBAL.gtid_purged AS purged');
}

export const processList = (): Statement =>
  stmt('SELECT ID AS id, USER AS user, HOST AS host, COMMAND AS command FROM information_schema.PROCESSLIST');

/** MySQL only: the GTIDs of `ours` the other set lacks ('' when none). */
export const gtidSubtract = (ours: string, theirs: string): Statement =>
  stmt('SELECT GTID_SUBTRACT(?, ?) AS errant', [ours, theirs]);

// ---------- waiting ----------

/** Blocks server-side until the GTID set is applied or timeoutS passes. MariaDB: 0 / -1; MySQL: 0 / 1. */
export function waitForGtids(d: Dialect, gtids: string, timeoutS: number): Statement {
  const seconds = Math.max(0.001, Math.round(timeoutS * 1000) / 1000);
  if (d.gtid === 'mariadb') return stmt('SELECT MASTER_GTID_WAIT(?, ?) AS result', [gtids, seconds]);
  return stmt('SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS result', [gtids, seconds]);
}

// ---------- writes ----------

/** Fences writes: super_read_only=1 implies read_only=1 on MySQL; MariaDB has read_only only. */
export function fenceWrites(d: Dialect): Statement[] {
  return d.superReadOnly
    ? [stmt('SET GLOBAL super_read_only = 1'), stmt('SET GLOBAL read_only = 1')]
    : [stmt('SET GLOBAL read_only = 1')];
}

/** How long this session's SET read_only waits for commits in progress (whole seconds) before it gives up. */
export const lockWaitTimeout = (seconds: number): Statement => stmt('SET SESSION lock_wait_timeout = ?', [seconds]);

/** Opens writes: super_read_only must be cleared first (read_only=0 alone is refused while it is on). */
export function openWrites(d: Dialect): Statement[] {
  return d.superReadOnly
    ? [stmt('SET GLOBAL super_read_only = 0'), stmt('SET GLOBAL read_only = 0')]
    : [stmt('SET GLOBAL read_only = 0')];
}

/** Lets the admin account's recovery session write while clients stay blocked (read_only stays 1); [] without super_read_only. */
export function allowAdminWrites(d: Dialect): Statement[] {
  return d.superReadOnly ? [stmt('SET GLOBAL super_read_only = 0')] : [];
}

/** Connection ids of the replication IO (receiver) thread, for KILL when STOP would wait on a hung source. */
export function replicaIoThreadIds(d: Dialect): Statement {
  if (d.flavor === 'mariadb') return stmt("SELECT ID AS id FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO'");
  return stmt("SELECT PROCESSLIST_ID AS id FROM performance_schema.threads WHERE NAME IN ('thread/sql/replica_io', 'thread/sql/slave_io') AND PROCESSLIST_ID IS NOT NULL");
}

/** The replication SQL (driver) thread's connection id: KILLed, it stops at once, where STOP waits for the IO thread. */
export function replicaSqlThreadIds(d: Dialect): Statement {
  if (d.flavor === 'mariadb') return stmt("SELECT ID AS id FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_SQL'");
  return stmt("SELECT PROCESSLIST_ID AS id FROM performance_schema.threads WHERE NAME IN ('thread/sql/replica_sql', 'thread/sql/slave_sql') AND PROCESSLIST_ID IS NOT NULL");
}

export const killConnection = (id: number): Statement => {
  if (!Number.isSafeInteger(id) || id <= 0) throw new AppError('INTERNAL', `refusing connection id ${id}`);
  return stmt('KILL CONNECTION ?', [id]);
};

/** A master must not acknowledge a commit it could lose in a crash. */
export const durableCommits = (): Statement[] => [
  stmt('SET GLOBAL sync_binlog = 1'),
  stmt('SET GLOBAL innodb_flush_log_at_trx_commit = 1'),
];

/**
 * Semi-sync for a role: replica side on for a replica; a new master starts with both sides off (asynchronous until a
 * replica attaches: check-mysql's guard then turns the source side on). Uninstalled sides are skipped.
 */
export function semiSyncFor(d: Dialect, role: 'new-master' | 'replica'): Statement[] {
  const out: Statement[] = [];
  if (d.semiSync.source) out.push(stmt(`SET GLOBAL ${checkVariableName(`${d.semiSync.source}_enabled`)} = 0`));
  if (d.semiSync.replica) out.push(stmt(`SET GLOBAL ${checkVariableName(`${d.semiSync.replica}_enabled`)} = ${role === 'replica' ? 1 : 0}`));
  return out;
}

const replicaWord = (d: Dialect): string => (d.replicaStatements ? 'REPLICA' : 'SLAVE');

export const stopReplica = (d: Dialect): Statement => stmt(`STOP ${replicaWord(d)}`);
export const stopReplicaIoThread = (d: Dialect): Statement => stmt(`STOP ${replicaWord(d)} IO_THREAD`);
export const stopReplicaSqlThread = (d: Dialect): Statement => stmt(`STOP ${replicaWord(d)} SQL_THREAD`);
export const startReplica = (d: Dialect): Statement => stmt(`START ${replicaWord(d)}`);
export const startReplicaIoThread = (d: Dialect): Statement => stmt(`START ${replicaWord(d)} IO_THREAD`);
export const startReplicaSqlThread = (d: Dialect): Statement => stmt(`START ${replicaWord(d)} SQL_THREAD`);
/** Forgets the source entirely, so even a restarted mysqld cannot reconnect to the old master. */
export const resetReplicaAll = (d: Dialect): Statement => stmt(`RESET ${replicaWord(d)} ALL`);

/** MariaDB: where a slave_pos replica starts; needs replication stopped. */
export const setGtidSlavePos = (pos: string): Statement => stmt('SET GLOBAL gtid_slave_pos = ?', [pos]);

export interface SourceSpec {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly connectRetryS: number;
  readonly heartbeatPeriodS: number;
  /** GTID auto-position when the dialect has GTIDs on; else these file coordinates. */
  readonly position: { readonly kind: 'gtid' } | { readonly kind: 'file'; readonly file: string; readonly pos: number };
}

// CHANGE MASTER TO / CHANGE REPLICATION SOURCE TO, every value a placeholder.
export function changeSource(d: Dialect, s: SourceSpec): Statement {
  const src = d.changeSourceStatement;
  const o = (name: string): string => (src ? `SOURCE_${name}` : `MASTER_${name}`);
  const parts: string[] = [`${o('HOST')} = ?`, `${o('PORT')} = ?`, `${o('USER')} = ?`, `${o('PASSWORD')} = ?`,
    `${o('CONNECT_RETRY')} = ?`, `${o('HEARTBEAT_PERIOD')} = ?`];
  const params: unknown[] = [checkHost(s.host), checkPort(s.port), checkUser(s.user), s.password,
    Math.max(1, Math.trunc(s.connectRetryS)), Math.max(0, s.heartbeatPeriodS)];
  if (s.position.kind === 'gtid') {
    if (d.gtid === 'mariadb') parts.push('MASTER_USE_GTID = slave_pos');
    else if (d.gtid === 'mysql') parts.push(`${o('AUTO_POSITION')} = 1`);
    else throw new AppError('INTERNAL', 'GTID auto-position asked of a server without GTIDs');
  } else {
    if (!/^[A-Za-z0-9._-]{1,255}$/.test(s.position.file)) {
      throw new AppError('FAILOVER_STEP_FAILED', `refusing binlog file name ${JSON.stringify(s.position.file)}`);
    }
    parts.push(`${o('LOG_FILE')} = ?`, `${o('LOG_POS')} = ?`);
    params.push(s.position.file, s.position.pos);
    if (d.gtid === 'mariadb') parts.push('MASTER_USE_GTID = no');
    else if (d.gtid === 'mysql') parts.push(`${o('AUTO_POSITION')} = 0`);
  }
  // caching_sha2_password (MySQL 8 default) needs the source's RSA key when replication runs without TLS.
  if (d.needsSourcePublicKey) parts.push(src ? 'GET_SOURCE_PUBLIC_KEY = 1' : 'GET_MASTER_PUBLIC_KEY = 1');
  return stmt(`${src ? 'CHANGE REPLICATION SOURCE TO' : 'CHANGE MASTER TO'} ${parts.join(', ')}`, params, [3]);
}

// ---------- readers: rows → plain values, either naming ----------

/** SHOW SLAVE|REPLICA STATUS, normalised over MySQL 8.0.22's renamed columns (Source_*, Replica_*). */
export interface ReplicaStatus {
  readonly sourceHost: string;
  readonly sourcePort: number;
  readonly ioRunning: string;
  readonly sqlRunning: string;
  readonly sourceLogFile: string;
  readonly readSourceLogPos: number;
  readonly relaySourceLogFile: string;
  readonly execSourceLogPos: number;
  readonly lastIoError: string;
  readonly lastSqlError: string;
  /** MariaDB Using_Gtid (No/Slave_Pos/Current_Pos) or MySQL Auto_Position (0/1). */
  readonly usingGtid: string;
  /** MariaDB Gtid_IO_Pos or MySQL Retrieved_Gtid_Set: what the IO thread has received. */
  readonly receivedGtids: string;
  readonly secondsBehind: number | undefined;
  /** Connect_Retry; undefined when not shown. */
  readonly connectRetryS?: number;
}

export function readReplicaStatus(row: Row | undefined): ReplicaStatus | undefined {
  if (!row) return undefined;
  const s = (...names: string[]): string => {
    for (const n of names) if (row[n] !== undefined && row[n] !== null) return String(row[n]);
    return '';
  };
  const n = (...names: string[]): number => Number(s(...names) || 0);
  const behind = s('Seconds_Behind_Source', 'Seconds_Behind_Master');
  return {
    sourceHost: s('Source_Host', 'Master_Host'),
    sourcePort: n('Source_Port', 'Master_Port'),
    ioRunning: s('Replica_IO_Running', 'Slave_IO_Running'),
    sqlRunning: s('Replica_SQL_Running', 'Slave_SQL_Running'),
    sourceLogFile: s('Source_Log_File', 'Master_Log_File'),
    readSourceLogPos: n('Read_Source_Log_Pos', 'Read_Master_Log_Pos'),
    relaySourceLogFile: s('Relay_Source_Log_File', 'Relay_Master_Log_File'),
    execSourceLogPos: n('Exec_Source_Log_Pos', 'Exec_Master_Log_Pos'),
    lastIoError: s('Last_IO_Error'),
    lastSqlError: s('Last_SQL_Error'),
    usingGtid: s('Using_Gtid', 'Auto_Position'),
    receivedGtids: s('Gtid_IO_Pos', 'Retrieved_Gtid_Set').replace(/\s+/g, ''),
    secondsBehind: behind === '' ? undefined : Number(behind),
    ...(s('Connect_Retry') !== '' ? { connectRetryS: n('Connect_Retry') } : {}),
  };
}

/** SHOW MASTER STATUS / SHOW BINARY LOG STATUS; undefined when binary logging is off. */
export function readBinlogStatus(row: Row | undefined): { file: string; pos: number; executedGtids?: string } | undefined {
  if (!row || row['File'] === undefined || row['File'] === null) return undefined;
  const gtids = row['Executed_Gtid_Set'];
  return {
    file: String(row['File']),
    pos: Number(row['Position'] ?? 0),
    ...(typeof gtids === 'string' ? { executedGtids: gtids.replace(/\s+/g, '') } : {}),
  };
}

/** A running replica's heartbeat period (MariaDB status; MySQL has none there) and whether its IO thread acknowledges. */
export const replicaRuntime = (d: Dialect): Statement =>
  stmt('SHOW GLOBAL STATUS WHERE Variable_name IN (?, ?)', ['Slave_heartbeat_period', `${checkVariableName(d.semiSync.replica ?? 'no_semi_sync')}_status`]);

/** Only the retry and heartbeat timers of the configured source (MariaDB wants both threads stopped). */
export function changeSourceTimers(d: Dialect, connectRetryS: number, heartbeatPeriodS: number): Statement {
  const src = d.changeSourceStatement;
  const o = (name: string): string => (src ? `SOURCE_${name}` : `MASTER_${name}`);
  return stmt(`${src ? 'CHANGE REPLICATION SOURCE TO' : 'CHANGE MASTER TO'} ${o('CONNECT_RETRY')} = ?, ${o('HEARTBEAT_PERIOD')} = ?`,
    [Math.max(1, Math.trunc(connectRetryS)), Math.max(0, heartbeatPeriodS)]);
}

// ---------- the semi-sync guard (check-mysql on the master) ----------

/** One cheap read after the check's answer: role, commits stuck waiting for an ack, connected replicas. */
export const guardReading = (): Statement => stmt(
  'SELECT @@GLOBAL.read_only AS ro, ' +
  "(SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for semi-sync ACK%' AND TIME >= 1) AS stuck, " +
  "(SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%') AS dumps");

/** The master-side semi-sync switch under either name, and the GTID position, without knowing the dialect. */
export const guardVariables = (): Statement => stmt(
  "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('rpl_semi_sync_master_enabled', 'rpl_semi_sync_source_enabled', 'gtid_binlog_pos', 'gtid_executed')");

export const setSemiSyncMaster = (variable: string, on: boolean): Statement =>
  stmt(`SET GLOBAL ${checkVariableName(variable)} = ${on ? 1 : 0}`);

// ---------- status (read-only) ----------

/** Semi-sync variables and counters of both sides, either naming; absent names are simply not returned. */
const SEMI_SYNC_VARIABLES = ['enabled', 'wait_point', 'timeout'] as const;
const SEMI_SYNC_STATUS = ['status', 'clients', 'no_tx', 'yes_tx'] as const;

export function semiSyncVariables(d: Dialect): Statement {
  const names = [d.semiSync.source, d.semiSync.replica].filter((p): p is string => p !== undefined)
    .flatMap((p) => SEMI_SYNC_VARIABLES.map((v) => checkVariableName(`${p}_${v}`)));
  return stmt(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names.map(() => '?').join(', ') || "''"})`, names);
}

export function semiSyncStatus(d: Dialect): Statement {
  const names = [d.semiSync.source, d.semiSync.replica].filter((p): p is string => p !== undefined)
    .flatMap((p) => SEMI_SYNC_STATUS.map((v) => checkVariableName(`${p}_${v}`)));
  return stmt(`SHOW GLOBAL STATUS WHERE LOWER(Variable_name) IN (${names.map(() => '?').join(', ') || "''"})`, names);
}

/** Open InnoDB transactions: how many, how many older than olderThanS, and the oldest age (needs PROCESS). */
export const openTransactions = (olderThanS: number): Statement =>
  stmt('SELECT COUNT(*) AS open, COALESCE(SUM(trx_started < NOW() - INTERVAL ? SECOND), 0) AS old, '
    + 'COALESCE(MAX(TIMESTAMPDIFF(SECOND, trx_started, NOW())), 0) AS oldestS FROM information_schema.INNODB_TRX', [olderThanS]);

/** SHOW GLOBAL VARIABLES/STATUS rows → lower-case name → value. */
export function nameValueRows(rows: readonly Row[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of rows) out[String(r['Variable_name'] ?? r['VARIABLE_NAME'] ?? '').toLowerCase()] = String(r['Value'] ?? r['VARIABLE_VALUE'] ?? '');
  return out;
}

// ---------- doctor (read-only) ----------

/** Every variable doctor judges (names of both generations; absent ones are not returned). */
const DOCTOR_VARIABLES = [
  'server_id', 'log_bin', 'binlog_format', 'log_slave_updates', 'log_replica_updates', 'gtid_strict_mode', 'gtid_mode',
  'enforce_gtid_consistency', 'sync_binlog', 'innodb_flush_log_at_trx_commit', 'read_only',
  'rpl_semi_sync_master_enabled', 'rpl_semi_sync_slave_enabled', 'rpl_semi_sync_source_enabled', 'rpl_semi_sync_replica_enabled',
  'rpl_semi_sync_master_wait_point', 'rpl_semi_sync_source_wait_point', 'rpl_semi_sync_master_timeout', 'rpl_semi_sync_source_timeout',
  'rpl_semi_sync_master_wait_no_slave', 'rpl_semi_sync_source_wait_no_replica',
] as const;

export const doctorVariables = (): Statement =>
  stmt(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${DOCTOR_VARIABLES.map(() => '?').join(', ')})`, [...DOCTOR_VARIABLES]);

export const showGrants = (): Statement => stmt('SHOW GRANTS');

/** The server's clock in ms, for the skew between the nodes. */
export const serverClockMs = (): Statement => stmt('SELECT ROUND(UNIX_TIMESTAMP(NOW(6)) * 1000) AS ms');
