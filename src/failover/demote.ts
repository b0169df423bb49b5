import type { Config } from '../config/schema.js';
import { AppError, describeError } from '../errors.js';
import type { Dialect } from '../mysql/dialect.js';
import {
  changeSource, fenceWrites, gtidSubtract, semiSyncFor, setGtidSlavePos, startReplica, startReplicaIoThread, stopReplicaIoThread,
  type ReplicaStatus, type SourceSpec,
} from '../mysql/queries.js';
import { classifyMysqlError } from '../mysql/errors.js';
import type { Row, SqlClient } from '../mysql/types.js';
import { mariaErrantCheck, mergeMariaPositions, type ErrantCheck } from './gtid.js';
import { fenceBudgetMs, fenceServer, openPeerMysql, readPeerPositionRecord } from './peer.js';
import { nextPollDelay } from './plans.js';
import type { PositionRecord } from './position-record.js';
import { openLocal, stopReplicationBounded, type LocalSession } from './promote.js';
import { positionRecordFrom, readReplica, readServerState, type ServerState } from './server-state.js';
import { stepBudgets, type TransitionContext } from './steps.js';

/** Where the new master is, as learned from its MySQL or, failing that, its recorded position.json. */
interface PeerPosition {
  readonly source: 'peer-mysql' | 'position-record';
  readonly binlog?: { readonly file: string; readonly pos: number };
  readonly gtidBinlogPos?: string;
  readonly gtidBinlogState?: string;
  readonly gtidExecuted?: string;
}

function fromRecord(r: PositionRecord): PeerPosition {
  const state = (r as { gtidBinlogState?: unknown }).gtidBinlogState;
  return {
    source: 'position-record',
    ...(r.binlogFile !== undefined && r.binlogPos !== undefined ? { binlog: { file: r.binlogFile, pos: r.binlogPos } } : {}),
    ...(r.gtidBinlogPos !== undefined ? { gtidBinlogPos: r.gtidBinlogPos, gtidExecuted: r.gtidBinlogPos } : {}),
    ...(typeof state === 'string' ? { gtidBinlogState: state } : {}),
  };
}

// Waits (bounded) until the peer is writable: only then has its own promotion applied everything it received from us.
async function waitPeerPromoted(ctx: TransitionContext, peer: { client: SqlClient; dialect: Dialect },
  initial: ServerState, signal: AbortSignal): Promise<ServerState> {
  const { config, ports, steps } = ctx;
  if (!initial.readOnly || steps.dryRun) return initial;
  const boundMs = config.notify.catchUpTimeoutMs + 5000;
  return steps.run('wait-peer-writable', boundMs + 1000, signal, async (s) => {
    const until = ports.clock.now() + boundMs;
    let delay = 20;
    let state = initial;
    while (state.readOnly && ports.clock.now() < until) {
      // A newer request (keepalived's MASTER right after its start-up BACKUP) must not queue behind this wait.
      if (await ports.newerRequestPending?.()) {
        throw new AppError('SUPERSEDED', 'a newer request is waiting: leaving this node fenced without rejoining the still read-only peer');
      }
      await ports.clock.sleep(Math.min(delay, Math.max(1, until - ports.clock.now())), s);
      delay = nextPollDelay(delay);
      state = await readServerState(peer.client, peer.dialect, s);
    }
    if (state.readOnly) ports.log.warn(`peer still read-only after ${boundMs} ms: checking against its current state`);
    return state;
  });
}

// Errant transactions: GTIDs this node has that the new master lacks (a crashed master's un-acked tail).
async function checkErrant(ctx: TransitionContext, session: LocalSession, local: ServerState, peer: PeerPosition,
  signal: AbortSignal): Promise<ErrantCheck | undefined> {
  const d = session.dialect;
  if (d.gtid === 'mariadb') {
    const peerGtids = peer.gtidBinlogState !== undefined
      ? { kind: 'state' as const, binlogState: peer.gtidBinlogState }
      : { kind: 'pos' as const, binlogPos: peer.gtidBinlogPos ?? '' };
    return mariaErrantCheck(local.gtidBinlogState ?? '', peerGtids);
  }
  if (d.gtid === 'mysql') {
    const q = gtidSubtract(local.gtidExecuted ?? '', peer.gtidExecuted ?? '');
    const [row] = await session.client.query<Row>(q.sql, q.params, { signal });
    const errant = String(row?.['errant'] ?? '').replace(/\s+/g, '');
    return { errant: errant === '' ? [] : [errant], unproven: [] };
  }
  ctx.ports.log.warn('GTIDs are off: no errant-transaction check is possible; rejoining by file/position');
  return undefined;
}

function sourceSpec(config: Config, d: Dialect, peer: PeerPosition): SourceSpec {
  const common = {
    host: config.peer.host, port: config.peer.mysqlPort,
    user: config.replication.user, password: config.replication.password,
    connectRetryS: config.replication.connectRetryS, heartbeatPeriodS: config.replication.heartbeatPeriodS,
  };
  if (d.gtid !== 'none') return { ...common, position: { kind: 'gtid' } };
  if (!peer.binlog) throw new AppError('PEER_UNREACHABLE', 'no binlog coordinates known for the new master: cannot rejoin by file/position');
  return { ...common, position: { kind: 'file', file: peer.binlog.file, pos: peer.binlog.pos } };
}

const replicatingFromPeer = (config: Config, st: ReplicaStatus | undefined): boolean =>
  st !== undefined && st.sourceHost === config.peer.host && st.sourcePort === config.peer.mysqlPort &&
  st.ioRunning === 'Yes' && st.sqlRunning === 'Yes';

/** BACKUP: fence, check for errant transactions, and rejoin the new master as a semi-sync replica. */
export async function demote(ctx: TransitionContext, signal: AbortSignal): Promise<void> {
  const { config, ports, steps } = ctx;
  const log = ports.log;
  const b = stepBudgets(config);
  const session = await openLocal(ctx, signal);
  const record = async (role: PositionRecord['role'], s: AbortSignal): Promise<void> => {
    if (steps.dryRun) return;
    const now = await readServerState(session.client, session.dialect, s);
    await ports.writePosition(positionRecordFrom(now, { node: config.node.name, role, transitionId: ctx.transitionId, recordedAt: new Date(ports.clock.now()).toISOString() }));
  };
  try {
    const d = session.dialect;
    // Fence first: whatever happens next, this node takes no more writes.
    await steps.run('fence-local', fenceBudgetMs(ctx, d), signal, (s) =>
      fenceServer(ctx, session.client, d, 'local', 'fence-local', config.notify.killClientConnections, s));
    const local = await steps.run('read-local', b.query, signal, (s) => readServerState(session.client, d, s));

    let peerPos: PeerPosition | undefined;
    const peer = await openPeerMysql(ctx, 'reach-new-master', signal);
    if (peer.reachable) {
      try {
        const state = await waitPeerPromoted(ctx, peer, peer.state, signal);
        peerPos = {
          source: 'peer-mysql',
          ...(state.binlog ? { binlog: state.binlog } : {}),
          ...(state.gtidBinlogPos !== undefined ? { gtidBinlogPos: state.gtidBinlogPos } : {}),
          ...(state.gtidBinlogState !== undefined ? { gtidBinlogState: state.gtidBinlogState } : {}),
          ...(state.gtidExecuted !== undefined ? { gtidExecuted: state.gtidExecuted } : {}),
        };
      } catch (err) {
        if (err instanceof AppError && err.code === 'SUPERSEDED') throw err;
        log.warn(`lost the peer while reading its position: ${describeError(err)}`);
      } finally {
        peer.client.close();
      }
    }
    if (!peerPos) {
      let recorded: PositionRecord | undefined;
      try {
        recorded = await readPeerPositionRecord(ctx, signal);
      } catch (err) {
        await record('fenced', signal).catch(() => undefined);
        throw err;
      }
      if (!recorded) {
        await record('fenced', signal).catch(() => undefined);
        throw new AppError('PEER_UNREACHABLE', `cannot learn the new master's position: its MySQL does not answer ` +
          `(${peer.reachable ? 'read failed' : peer.reason}) and its position.json could not be read over SSH; staying read-only`);
      }
      log.info(`using the peer's recorded position (role ${recorded.role}, recorded ${recorded.recordedAt})`, { recorded });
      peerPos = fromRecord(recorded);
    }

    const errant = await steps.run('errant-check', b.query, signal, (s) => checkErrant(ctx, session, local, peerPos, s));
    if (errant && (errant.errant.length > 0 || errant.unproven.length > 0)) {
      await record('fenced', signal).catch(() => undefined);
      const set = [...errant.errant, ...errant.unproven.map((g) => `${g} (unproven)`)].join(', ');
      const msg = `errant transactions: this node has ${set} which the new master (${peerPos.source}) lacks; ` +
        'staying read-only and not replicating (repair by hand: never RESET MASTER to hide them)';
      log.error(msg, { errant: errant.errant, unproven: errant.unproven, localState: local.gtidBinlogState ?? local.gtidExecuted });
      throw new AppError('ERRANT_TRANSACTIONS', msg);
    }
    log.info('no errant transactions: safe to rejoin', { peerSource: peerPos.source });

    const replicaSemi = semiSyncFor(d, 'replica');
    if (replicaSemi.length === 0) log.warn('no semi-sync plugin installed: replicating asynchronously');
    if (replicatingFromPeer(config, local.replica)) {
      // Idempotence: already a replica of the new master; only re-assert semi-sync (the IO thread restart applies it).
      log.info('already replicating from the new master');
      await steps.run('semi-sync-replica', b.query, signal, (s) => steps.write(session.client, 'semi-sync-replica', 'local', replicaSemi, s));
      await steps.run('restart-io-thread', b.stopReplica + 500, signal, (s) => steps.write(session.client, 'restart-io-thread', 'local',
        [stopReplicaIoThread(d), startReplicaIoThread(d)], s, b.stopReplica));
    } else {
      await stopReplicationBounded(ctx, session, signal);
      if (d.gtid === 'mariadb') {
        // A former master's gtid_slave_pos is stale (its own writes are only in gtid_binlog_pos); resuming from it
        // would re-apply them. With no errant GTIDs, everything in the binlog is on the new master: start after it.
        const start = mergeMariaPositions(local.gtidBinlogPos ?? '', local.gtidSlavePos ?? '');
        await steps.run('set-gtid-slave-pos', b.query, signal, (s) => steps.write(session.client, 'set-gtid-slave-pos', 'local', [setGtidSlavePos(start)], s));
      }
      const spec = sourceSpec(config, d, peerPos);
      await steps.run('change-source', b.query, signal, (s) => steps.write(session.client, 'change-source', 'local', [changeSource(d, spec)], s));
      // Semi-sync replica on before the IO thread starts, so it acknowledges from the first event.
      await steps.run('semi-sync-replica', b.query, signal, (s) => steps.write(session.client, 'semi-sync-replica', 'local', replicaSemi, s));
      await steps.run('start-replication', b.query, signal, (s) => steps.write(session.client, 'start-replication', 'local', [startReplica(d)], s));
    }

    if (!steps.dryRun) {
      const st = await steps.run('verify-replication', b.verify, signal, async (s) => {
        const until = ports.clock.now() + b.verify - 500;
        let delay = 20;
        let cur = await readReplica(session.client, d, s);
        while (!(cur?.ioRunning === 'Yes' && cur.sqlRunning === 'Yes') && ports.clock.now() < until) {
          if (cur?.sqlRunning === 'No' && cur.lastSqlError !== '') break;
          await ports.clock.sleep(delay, s);
          delay = nextPollDelay(delay);
          cur = await readReplica(session.client, d, s);
        }
        return cur;
      });
      await record('replica', signal);
      if (!(st?.ioRunning === 'Yes' && st.sqlRunning === 'Yes')) {
        const why = `IO thread ${st?.ioRunning ?? '?'}${st?.lastIoError ? ` (${st.lastIoError})` : ''}, ` +
          `SQL thread ${st?.sqlRunning ?? '?'}${st?.lastSqlError ? ` (${st.lastSqlError})` : ''}`;
        if (st?.sqlRunning === 'Yes') {
          throw new AppError('PEER_UNREACHABLE', `replication configured but not connected to the new master: ${why}; it keeps retrying`);
        }
        throw new AppError('FAILOVER_STEP_FAILED', `replication did not start: ${why}`);
      }
      log.info('replicating from the new master', { source: `${st.sourceHost}:${st.sourcePort}`, usingGtid: st.usingGtid });
    }
  } finally {
    session.client.close();
  }
}

/** STOP / FAULT: fence if mysqld answers, and record (and log) master and replica coordinates. */
export async function fenceAndRecord(ctx: TransitionContext, role: 'stopped' | 'fenced', signal: AbortSignal): Promise<void> {
  const { config, ports, steps } = ctx;
  const b = stepBudgets(config);
  let session: LocalSession | undefined;
  let delay = 200;
  while (session === undefined) {
    try {
      session = await openLocal(ctx, signal);
    } catch (err) {
      // The usual STOP: mysqld itself is down (check-mysql stopped keepalived); it restarts read-only. Nothing to fence.
      if (!hungNotDown(err) || signal.aborted) {
        const hung = hungNotDown(err);
        ports.log[hung ? 'error' : 'warn'](`local MySQL does not answer (${describeError(err)}): ` +
          (hung ? 'it is hung and could not be fenced before the deadline' : 'nothing to fence or record'));
        if (hung) throw err;
        return;
      }
      // A hung mysqld (SIGSTOP, I/O stall) may resume writable without the VIP: keep trying to fence it, bounded.
      ports.log.warn(`local MySQL accepts but does not answer (${describeError(err)}): retrying the fence in ${delay} ms`);
      await ports.clock.sleep(delay, signal).catch(() => undefined);
      delay = nextPollDelay(delay);
    }
  }
  try {
    const d = session.dialect;
    await steps.run('fence-local', fenceBudgetMs(ctx, d), signal, (s) =>
      fenceServer(ctx, session.client, d, 'local', 'fence-local', config.notify.killClientConnections, s));
    await steps.run('record-position', b.query + 1000, signal, async (s) => {
      const now = await readServerState(session.client, d, s);
      const rec = positionRecordFrom(now, { node: config.node.name, role, transitionId: ctx.transitionId, recordedAt: new Date(ports.clock.now()).toISOString() });
      if (!steps.dryRun) await ports.writePosition(rec);
      ports.log.info(`master coordinates ${rec.binlogFile ?? '-'}:${rec.binlogPos ?? '-'} gtid ${rec.gtidBinlogPos ?? '-'}`, { binlogFile: rec.binlogFile, binlogPos: rec.binlogPos });
      if (now.replica) {
        ports.log.info(`replica applied ${now.replica.relaySourceLogFile}:${now.replica.execSourceLogPos} from ${now.replica.sourceHost}`, { replica: now.replica });
      }
    });
  } finally {
    session.client.close();
  }
}

// A connection that timed out (a process that accepts and never answers) rather than one refused (no mysqld).
function hungNotDown(err: unknown): boolean {
  const cause = err instanceof AppError && err.cause !== undefined ? err.cause : err;
  return classifyMysqlError(cause) === 'timeout' || (err instanceof AppError && err.code === 'DEADLINE_EXCEEDED');
}
