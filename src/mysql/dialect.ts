import { AppError } from '../errors.js';
import { probeServerVariables, probeVersion, PROBED_VARIABLES } from './queries.js';
import type { Row, SqlClient } from './types.js';

export type Flavor = 'mysql' | 'mariadb';

export interface ServerVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** The installed semi-sync variable prefixes; undefined when that side is not installed at all. */
export interface SemiSyncNames {
  /** `rpl_semi_sync_master` (MariaDB, MySQL < 8.0.26 plugin) or `rpl_semi_sync_source`. */
  readonly source?: string;
  /** `rpl_semi_sync_slave` or `rpl_semi_sync_replica`. */
  readonly replica?: string;
  /** How long a commit waits for a replica's ack before falling back to async (server default 10 s). */
  readonly timeoutMs: number;
  /** rpl_semi_sync_master_wait_no_slave / _source_wait_no_replica: a commit waits the timeout even with no replica. */
  readonly waitWithNoReplica: boolean;
}

/** What a server speaks: decided from its own answers (version + variables present), never from config. */
export interface Dialect {
  readonly flavor: Flavor;
  readonly version: ServerVersion;
  readonly versionText: string;
  /** SHOW REPLICA STATUS, START/STOP/RESET REPLICA (MySQL 8.0.22+). */
  readonly replicaStatements: boolean;
  /** CHANGE REPLICATION SOURCE TO with SOURCE_* options (MySQL 8.0.23+). */
  readonly changeSourceStatement: boolean;
  /** SHOW BINARY LOG STATUS (MySQL 8.2+; SHOW MASTER STATUS is gone in 8.4). */
  readonly binaryLogStatus: boolean;
  /** caching_sha2_password replication users need the source's public key without TLS (MySQL 8.0+). */
  readonly needsSourcePublicKey: boolean;
  readonly superReadOnly: boolean;
  /** 'mariadb' domain-server-seq GTIDs, 'mysql' uuid:interval GTIDs with gtid_mode=ON, or 'none'. */
  readonly gtid: 'mariadb' | 'mysql' | 'none';
  readonly semiSync: SemiSyncNames;
}

/** The server's answers a dialect is decided from (recorded for MySQL tests, live for MariaDB). */
export interface ServerAnswers {
  /** SELECT VERSION() */
  readonly version: string;
  /** @@version_comment */
  readonly versionComment: string;
  /** SHOW GLOBAL VARIABLES restricted to PROBED_VARIABLES: name → value, absent when the server lacks it. */
  readonly variables: Readonly<Record<string, string>>;
}

// Parses "8.0.36-0ubuntu0.22.04.1", "10.11.19-MariaDB-0+deb12u1", "5.5.5-10.6.12-MariaDB" into numbers.
export function parseServerVersion(text: string): ServerVersion {
  // MariaDB's old replication-protocol prefix "5.5.5-" hides the real version behind it.
  const cleaned = text.startsWith('5.5.5-') ? text.slice('5.5.5-'.length) : text;
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(cleaned);
  if (!m) throw new AppError('MYSQL_QUERY_FAILED', `cannot read a server version from "${text}"`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

export function versionAtLeast(v: ServerVersion, major: number, minor: number, patch = 0): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

// Decides the dialect from the server's answers; capabilities (variables present) beat version strings.
export function dialectFromAnswers(answers: ServerAnswers): Dialect {
  const vars = answers.variables;
  const version = parseServerVersion(answers.version);
  // gtid_binlog_pos exists only on MariaDB, whatever the version string or a proxy claims.
  const mariadb = 'gtid_binlog_pos' in vars || /mariadb/i.test(answers.version) || /mariadb/i.test(answers.versionComment);
  const semiSync: SemiSyncNames = {
    ...('rpl_semi_sync_source_enabled' in vars ? { source: 'rpl_semi_sync_source' }
      : 'rpl_semi_sync_master_enabled' in vars ? { source: 'rpl_semi_sync_master' } : {}),
    ...('rpl_semi_sync_replica_enabled' in vars ? { replica: 'rpl_semi_sync_replica' }
      : 'rpl_semi_sync_slave_enabled' in vars ? { replica: 'rpl_semi_sync_slave' } : {}),
    timeoutMs: Number(vars['rpl_semi_sync_source_timeout'] ?? vars['rpl_semi_sync_master_timeout'] ?? 10_000) || 10_000,
    waitWithNoReplica: (vars['rpl_semi_sync_source_wait_no_replica'] ?? vars['rpl_semi_sync_master_wait_no_slave'] ?? 'ON').toUpperCase() !== 'OFF',
  };
  if (mariadb) {
    return {
      flavor: 'mariadb', version, versionText: answers.version,
      replicaStatements: false, changeSourceStatement: false, binaryLogStatus: false, needsSourcePublicKey: false,
      superReadOnly: false, gtid: 'mariadb', semiSync,
    };
  }
  return {
    flavor: 'mysql', version, versionText: answers.version,
    replicaStatements: versionAtLeast(version, 8, 0, 22),
    changeSourceStatement: versionAtLeast(version, 8, 0, 23),
    binaryLogStatus: versionAtLeast(version, 8, 2, 0),
    needsSourcePublicKey: versionAtLeast(version, 8, 0, 0),
    superReadOnly: 'super_read_only' in vars,
    gtid: (vars['gtid_mode'] ?? '').toUpperCase() === 'ON' ? 'mysql' : 'none',
    semiSync,
  };
}

export function describeDialect(d: Dialect): string {
  const semi = `semi-sync ${d.semiSync.source ?? 'no source plugin'}/${d.semiSync.replica ?? 'no replica plugin'}`;
  return `${d.flavor} ${d.versionText} (gtid ${d.gtid}, ${semi})`;
}

// Asks the server what it is: two read-only queries.
export async function detectDialect(client: SqlClient, signal: AbortSignal): Promise<Dialect> {
  const v = probeVersion();
  const [row] = await client.query<Row>(v.sql, v.params, { signal });
  const p = probeServerVariables();
  const rows = await client.query<Row>(p.sql, p.params, { signal });
  const variables: Record<string, string> = {};
  for (const r of rows) {
    const name = String(r['Variable_name'] ?? r['VARIABLE_NAME'] ?? '').toLowerCase();
    if ((PROBED_VARIABLES as readonly string[]).includes(name)) variables[name] = String(r['Value'] ?? r['VARIABLE_VALUE'] ?? '');
  }
  return dialectFromAnswers({
    version: String(row?.['version'] ?? ''),
    versionComment: String(row?.['versionComment'] ?? ''),
    variables,
  });
}
