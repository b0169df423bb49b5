import { describeError } from '../errors.js';
import { mariaErrantCheck } from '../failover/gtid.js';
import { readServerState } from '../failover/server-state.js';
import { detectDialect, type Dialect } from '../mysql/dialect.js';
import { gtidSubtract, nameValueRows, openTransactions, semiSyncStatus, semiSyncVariables, type Statement } from '../mysql/queries.js';
import type { MysqlTarget, Row, SqlClient, SqlConnector } from '../mysql/types.js';
import { withSignal } from '../platform/deadline.js';
import { OLD_TRANSACTION_S, type ErrantView, type MysqlView, type SemiSyncView } from './model.js';

export interface NodeRead {
  readonly view: MysqlView;
  readonly dialect: Dialect;
}

async function rows(client: SqlClient, s: Statement, signal: AbortSignal): Promise<Row[]> {
  return client.query<Row>(s.sql, s.params, { signal });
}

// Everything status shows about one server, read-only; the connection is closed before returning.
export async function readNode(connector: SqlConnector, target: MysqlTarget, signal: AbortSignal): Promise<NodeRead> {
  const client = await withSignal(connector.connect(target, signal), signal, `connecting to ${target.host}:${target.port}`);
  try {
    const dialect = await detectDialect(client, signal);
    const state = await readServerState(client, dialect, signal);
    const vars = nameValueRows(await rows(client, semiSyncVariables(dialect), signal));
    const status = nameValueRows(await rows(client, semiSyncStatus(dialect), signal));
    const trx = await rows(client, openTransactions(OLD_TRANSACTION_S), signal).then((r) => r[0], () => undefined);
    const r = state.replica;
    const view: MysqlView = {
      flavor: dialect.flavor,
      version: dialect.versionText,
      serverId: state.serverId,
      readOnly: state.readOnly,
      ...(state.superReadOnly !== undefined ? { superReadOnly: state.superReadOnly } : {}),
      writable: !state.readOnly && state.superReadOnly !== true,
      replication: r === undefined ? null : {
        sourceHost: r.sourceHost, sourcePort: r.sourcePort, ioRunning: r.ioRunning, sqlRunning: r.sqlRunning,
        secondsBehind: r.secondsBehind ?? null, lastIoError: r.lastIoError, lastSqlError: r.lastSqlError,
      },
      semiSync: semiSyncView(dialect, vars, status),
      gtidPosition: state.gtidBinlogPos ?? state.gtidExecuted ?? '',
      ...(state.gtidBinlogState !== undefined ? { gtidBinlogState: state.gtidBinlogState } : {}),
      ...(state.gtidSlavePos !== undefined ? { gtidSlavePos: state.gtidSlavePos } : {}),
      transactions: trx === undefined ? null : { open: Number(trx['open'] ?? 0), olderThan60s: Number(trx['old'] ?? 0), oldestS: Number(trx['oldestS'] ?? 0) },
    };
    return { view, dialect };
  } finally {
    client.close();
  }
}

function semiSyncView(d: Dialect, vars: Record<string, string>, status: Record<string, string>): SemiSyncView {
  const on = (v: string | undefined): boolean | undefined => (v === undefined ? undefined : ['ON', '1'].includes(v.toUpperCase()));
  const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
  const src = d.semiSync.source;
  const rep = d.semiSync.replica;
  const out: Record<string, unknown> = {};
  if (src !== undefined) {
    out['sourceEnabled'] = on(vars[`${src}_enabled`]);
    out['sourceActive'] = on(status[`${src}_status`]);
    out['clients'] = num(status[`${src}_clients`]);
    out['waitPoint'] = vars[`${src}_wait_point`];
    out['timeoutMs'] = num(vars[`${src}_timeout`]);
    out['noTx'] = num(status[`${src}_no_tx`]);
    out['yesTx'] = num(status[`${src}_yes_tx`]);
  }
  if (rep !== undefined) {
    out['replicaEnabled'] = on(vars[`${rep}_enabled`]);
    out['replicaActive'] = on(status[`${rep}_status`]);
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as SemiSyncView;
}

/** The other node's GTIDs as status found them: from its MySQL, or from its position.json over SSH. */
export interface PeerGtidSource {
  readonly binlogState?: string;
  readonly position?: string;
  readonly from: 'mysql' | 'position.json';
}

// Errant sets both ways. MariaDB: exact per (domain, server) from gtid_binlog_state (gtid.ts); MySQL: GTID_SUBTRACT on the local server.
export async function compareGtids(local: NodeRead | undefined, peer: PeerGtidSource | undefined, localClient: (() => Promise<SqlClient>) | undefined,
  signal: AbortSignal): Promise<ErrantView> {
  const none = (why: string): ErrantView => ({ localOnly: null, peerOnly: null, unproven: [], method: why });
  if (local === undefined || peer === undefined) return none('not compared: a node\'s GTIDs are unknown');
  try {
    if (local.dialect.gtid === 'mariadb') {
      const mine = local.view.gtidBinlogState ?? '';
      const theirs = peer.binlogState !== undefined ? { kind: 'state' as const, binlogState: peer.binlogState }
        : { kind: 'pos' as const, binlogPos: peer.position ?? '' };
      const localSide = mariaErrantCheck(mine, theirs);
      const peerSide = peer.binlogState !== undefined ? mariaErrantCheck(peer.binlogState, { kind: 'state', binlogState: mine }) : undefined;
      return {
        localOnly: localSide.errant,
        peerOnly: peerSide?.errant ?? null,
        unproven: localSide.unproven,
        method: `MariaDB gtid_binlog_state (${peer.from}${peer.binlogState === undefined ? ', peer position only' : ''})`,
      };
    }
    if (local.dialect.gtid === 'mysql' && localClient !== undefined && peer.position !== undefined) {
      const client = await localClient();
      try {
        const sub = async (a: string, b: string): Promise<string[]> => {
          const [row] = await rows(client, gtidSubtract(a, b), signal);
          const text = String(row?.['errant'] ?? '').replace(/\s+/g, '');
          return text === '' ? [] : text.split(',');
        };
        return { localOnly: await sub(local.view.gtidPosition, peer.position), peerOnly: await sub(peer.position, local.view.gtidPosition), unproven: [], method: `MySQL GTID_SUBTRACT (${peer.from})` };
      } finally {
        client.close();
      }
    }
    return none('not compared: GTIDs are off');
  } catch (err) {
    return none(`not compared: ${describeError(err)}`);
  }
}
