import type { Dialect } from '../mysql/dialect.js';
import {
  processList, readBinlogStatus, readGtidState, readReplicaStatus, readRoleFlags, showBinlogStatus, showReplicaStatus,
  type ReplicaStatus, type Statement,
} from '../mysql/queries.js';
import type { Row, SqlClient } from '../mysql/types.js';
import type { PositionRecord } from './position-record.js';
import type { ProcessRow } from './plans.js';

/** One server's state as notify reads it before deciding. */
export interface ServerState {
  readonly readOnly: boolean;
  readonly superReadOnly?: boolean;
  readonly logBinIndex?: string;
  readonly serverId: number;
  readonly replica?: ReplicaStatus;
  readonly binlog?: { readonly file: string; readonly pos: number };
  /** MariaDB */
  readonly gtidBinlogPos?: string;
  readonly gtidBinlogState?: string;
  readonly gtidSlavePos?: string;
  /** MySQL gtid_executed */
  readonly gtidExecuted?: string;
}

async function one(client: SqlClient, s: Statement, signal: AbortSignal): Promise<Row | undefined> {
  const rows = await client.query<Row>(s.sql, s.params, { signal });
  return rows[0];
}

// Reads flags, replication status, binlog coordinates and GTID state (read-only; safe in a dry run).
export async function readServerState(client: SqlClient, d: Dialect, signal: AbortSignal): Promise<ServerState> {
  const flags = await one(client, readRoleFlags(d), signal);
  const replica = readReplicaStatus(await one(client, showReplicaStatus(d), signal));
  const binlog = readBinlogStatus(await one(client, showBinlogStatus(d), signal));
  const gtid = d.gtid === 'none' && d.flavor === 'mysql' ? undefined : await one(client, readGtidState(d), signal);
  const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v).replace(/\s+/g, ''));
  const logBinIndex = str(flags?.['logBinIndex']);
  return {
    readOnly: Number(flags?.['readOnly']) === 1,
    ...(d.superReadOnly ? { superReadOnly: Number(flags?.['superReadOnly']) === 1 } : {}),
    ...(logBinIndex ? { logBinIndex } : {}),
    serverId: Number(flags?.['serverId'] ?? 0),
    ...(replica && replica.sourceHost !== '' ? { replica } : {}),
    ...(binlog ? { binlog: { file: binlog.file, pos: binlog.pos } } : {}),
    ...(d.gtid === 'mariadb' ? {
      gtidBinlogPos: str(gtid?.['binlogPos']) ?? '',
      gtidBinlogState: str(gtid?.['binlogState']) ?? '',
      gtidSlavePos: str(gtid?.['slavePos']) ?? '',
    } : {}),
    ...(d.flavor === 'mysql' && gtid ? { gtidExecuted: str(gtid['executed']) ?? '' } : {}),
  };
}

export async function readReplica(client: SqlClient, d: Dialect, signal: AbortSignal): Promise<ReplicaStatus | undefined> {
  return readReplicaStatus(await one(client, showReplicaStatus(d), signal));
}

export async function readProcessList(client: SqlClient, signal: AbortSignal): Promise<ProcessRow[]> {
  const s = processList();
  const rows = await client.query<Row>(s.sql, s.params, { signal });
  return rows.map((r) => ({ id: Number(r['id']), user: String(r['user'] ?? ''), command: String(r['command'] ?? '') }));
}

// This node's position record (role, coordinates, GTIDs, replica coordinates) for the peer to read.
export function positionRecordFrom(state: ServerState, meta: {
  node: string; role: PositionRecord['role']; transitionId: string; recordedAt: string; replica?: ReplicaStatus;
}): PositionRecord {
  const r = meta.replica ?? state.replica;
  return {
    node: meta.node,
    role: meta.role,
    recordedAt: meta.recordedAt,
    transitionId: meta.transitionId,
    ...(state.binlog ? { binlogFile: state.binlog.file, binlogPos: state.binlog.pos } : {}),
    ...(state.gtidBinlogPos !== undefined ? { gtidBinlogPos: state.gtidBinlogPos } : {}),
    ...(state.gtidExecuted !== undefined ? { gtidBinlogPos: state.gtidExecuted } : {}),
    ...(state.gtidBinlogState !== undefined ? { gtidBinlogState: state.gtidBinlogState } : {}),
    ...(state.logBinIndex ? { binlogIndexFile: state.logBinIndex } : {}),
    ...(r ? {
      replica: {
        sourceHost: r.sourceHost,
        relayMasterLogFile: r.relaySourceLogFile,
        execMasterLogPos: r.execSourceLogPos,
        ...(state.gtidSlavePos !== undefined ? { gtidSlavePos: state.gtidSlavePos } : {}),
      },
    } : {}),
  };
}
