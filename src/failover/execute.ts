import { recordProvenCurrent } from '../heal/verdict.js';
import type { Config } from '../config/schema.js';
import { AppError, describeError, isAppError } from '../errors.js';
import {
  changeSource, gtidSubtract, killConnection, replicaIoThreadIds, replicaRuntime, replicaSqlThreadIds, setGtidSlavePos, stopReplicaIoThread, waitForGtids, type ReplicaStatus, type Statement,
} from '../mysql/queries.js';
import type { Dialect } from '../mysql/dialect.js';
import type { Row, SqlClient } from '../mysql/types.js';
import { pollUntil } from '../platform/poll.js';
import { mariaErrantCheck, mergeMariaPositions, type ErrantCheck } from './gtid.js';
import { readPeerBinlogTail, readPeerPositionRecord } from './peer.js';
import { holds, type CatchUpResult, type Facts, type PeerPosition, type Plan, type Server, type Step } from './plan.js';
import { clientConnectionsToKill, compareTail, relayLogApplied } from './plans.js';
import type { PositionRecord } from './position-record.js';
import { openPeer, type LocalSession, type PeerSession } from './read.js';
import { positionRecordFrom, readProcessList, readReplica, readServerState, type ServerState } from './server-state.js';
import type { FenceContext, TransitionContext } from './steps.js';
import { openOldMasterFiles, recoverOldMasterTail, type EarlyPeerFiles } from './tail-recovery.js';

// The one executor: runs a plan's steps in order, records what it learns as facts, and lets the decision points
// choose on them. It decides nothing itself.

/** What a running plan holds: the open sessions and the facts learned so far. */
export interface Runtime {
  readonly ctx: TransitionContext;
  readonly local: LocalSession;
  peer?: PeerSession;
  early?: EarlyPeerFiles;
  readonly facts: Facts;
}

export async function executePlan(plan: Plan, rt: Runtime, signal: AbortSignal): Promise<void> {
  for (const n of plan) {
    if (n.kind === 'if') await executePlan(holds(n.test, rt.facts) ? n.then : n.else, rt, signal);
    else if (n.kind === 'fail') throw n.error(rt.facts);
    else if (n.kind === 'note') rt.ctx.ports.log[n.level](n.text ? n.text(rt.facts) : n.shown);
    else await runStep(n, rt, signal);
  }
}

/** Closes what a plan opened. */
export function closeRuntime(rt: Runtime): void {
  rt.early?.close();
  if (rt.peer?.kind === 'answered') rt.peer.client.close();
  rt.local.client.close();
}

async function runStep(step: Step, rt: Runtime, signal: AbortSignal): Promise<void> {
  const { ctx, facts } = rt;
  const { steps, ports } = ctx;
  const log = ports.log;
  const run = (fn: (s: AbortSignal) => Promise<void>): Promise<void> => steps.run(step.name, step.budgetMs, signal, fn);
  switch (step.kind) {
    case 'sql': return run((s) => steps.sql(client(rt, step.on), step.name, step.where, step.statements, s, step.timeoutMs));
    case 'fence': {
      if (step.on === 'local') return run((s) => fence(rt, step, s));
      // The old master: a failed fence is a fact the plan decides on, not the end of the promotion.
      try {
        await run(async (s) => {
          await fence(rt, step, s);
          const d = rt.local.dialect;
          // Read after fencing: everything it will ever have, so the wait target is exact.
          const fenced = await readServerState(client(rt, 'peer'), peerSession(rt).dialect, s);
          const gtids = d.gtid === 'mariadb' ? fenced.gtidBinlogPos : d.gtid === 'mysql' ? fenced.gtidExecuted : undefined;
          if (gtids !== undefined) facts.oldMasterGtids = gtids;
        });
        facts.oldMasterFenced = true;
      } catch (err) {
        log.warn(`could not fence the old master: ${describeError(err)}`);
        facts.oldMasterFenced = false;
      }
      return;
    }
    case 'connect-ssh':
      rt.early = openOldMasterFiles(ctx, signal);
      return;
    case 'catch-up': return run(async (s) => {
      facts.catchUp = await catchUp(rt, step, s);
    });
    case 'kill-io-thread':
      try {
        await run((s) => killIoThread(rt, step.statements, s));
      } catch (err) {
        log.warn(`could not kill the replication IO thread (${describeError(err)}); STOP will wait for it`);
      }
      return;
    case 'stop-replication': {
      try {
        await run((s) => steps.sql(rt.local.client, step.name, 'local', [step.statement], s, step.timeoutMs));
        return;
      } catch (err) {
        log.warn(`${step.statement.sql} did not finish (${describeError(err)}); stopping the threads one by one`);
      }
      await rt.local.reconnect(signal);
      const [io, sqlThread] = step.fallback;
      for (const [name, st] of [['stop-io-thread', io], ['stop-sql-thread', sqlThread]] as const) {
        if (st) await steps.run(name, step.budgetMs, signal, (s) => steps.sql(rt.local.client, name, 'local', [st], s, step.timeoutMs));
      }
      return;
    }
    case 'kill-sql-thread': return run((s) => killSqlThread(rt, step.boundMs, s));
    case 'read-at-stop': return run(async (s) => {
      const replica = await readReplica(rt.local.client, rt.local.dialect, s);
      const state = await readServerState(rt.local.client, rt.local.dialect, s);
      const running = step.ioThread === 'killed' ? (await ioThreadIds(rt.local.client, rt.local.dialect, s)).length > 0 : replica?.ioRunning === 'Yes';
      if (running) throw new AppError('FAILOVER_STEP_FAILED', 'replication is still running after STOP; refusing to open writes');
      log.info('replication stopped; coordinates before detaching', { replica, gtidSlavePos: state.gtidSlavePos, gtidExecuted: state.gtidExecuted });
      facts.atStop = { replica, state };
    });
    case 'recover-tail': return run(async (s) => {
      const at = facts.atStop;
      const r = at?.replica;
      if (!at || !r) {
        facts.tail = { kind: 'unknown', detail: 'replica coordinates unknown' };
        return;
      }
      const d = rt.local.dialect;
      // With the SQL thread drained, Exec_Master_Log_Pos is exact: the old master's binlog is cut from there (MHA).
      facts.tail = await recoverOldMasterTail(ctx, rt.local, {
        relaySourceLogFile: r.relaySourceLogFile, execSourceLogPos: r.execSourceLogPos,
        gtidBinlogPos: (d.gtid === 'mariadb' ? at.state.gtidBinlogPos : at.state.gtidExecuted) ?? '',
        gtidSlavePos: at.state.gtidSlavePos ?? '', flavor: d.flavor, ...(step.indexFile ? { indexFromMysql: step.indexFile } : {}),
      }, rt.early, s);
    });
    case 'compare-old-master-tail': return run(async (s) => {
      const r = facts.atStop?.replica;
      if (!r) return;
      const tail = await readPeerBinlogTail(ctx, step.indexFile, step.hint, s);
      if (!tail) {
        log.info(`replica applied ${r.relaySourceLogFile}:${r.execSourceLogPos}; old master's binlog end unknown`);
        return;
      }
      const st = facts.atStop?.state;
      const d = rt.local.dialect;
      const cmp = compareTail(tail, {
        relaySourceLogFile: r.relaySourceLogFile, execSourceLogPos: r.execSourceLogPos,
        appliedGtids: (d.gtid === 'mariadb' ? st?.gtidSlavePos : st?.gtidExecuted) ?? '', flavor: d.flavor,
      });
      if (cmp.gap) log.error(cmp.summary, { tail, gapAlreadyReported: facts.catchUp?.caughtUp === false });
      else log.info(cmp.summary, { tail });
    });
    case 'record-position':
      try {
        await run((s) => recordPosition(rt, step.role, step.replicaAtStop ? facts.atStop?.replica : undefined, s));
      } catch (err) {
        if (!step.bestEffort) throw err;
      }
      return;
    case 'reach-peer': {
      rt.peer = await openPeer(ctx, 'reach-new-master', signal);
      facts.peerAnswered = rt.peer.kind === 'answered';
      return;
    }
    case 'wait-peer-writable':
      try {
        await run(async (s) => {
          const state = await waitPeerWritable(rt, step.boundMs, s);
          facts.newMaster = fromState(state);
        });
      } catch (err) {
        if (isAppError(err) && err.code === 'SUPERSEDED') throw err;
        log.warn(`lost the peer while reading its position: ${describeError(err)}`);
      }
      return;
    case 'read-local': return run(async (s) => {
      const state = await readServerState(rt.local.client, rt.local.dialect, s);
      facts.local = state;
      facts.replicatingFromNewMaster = replicatingFromPeer(ctx.config, state.replica);
      if (facts.replicatingFromNewMaster) facts.replicationCurrent = await replicationCurrent(rt, state.replica, s);
    });
    case 'read-peer-position-record': return run(async (s) => {
      let recorded: PositionRecord | undefined;
      try {
        recorded = await readPeerPositionRecord(ctx, s);
      } catch (err) {
        facts.newMasterUnknown = isAppError(err) ? err : new AppError('PEER_UNREACHABLE', describeError(err), { cause: err });
        return;
      }
      if (!recorded) {
        const why = rt.peer?.kind === 'unreachable' ? rt.peer.reason : 'read failed';
        facts.newMasterUnknown = new AppError('PEER_UNREACHABLE', `cannot learn the new master's position: its MySQL does not answer ` +
          `(${why}) and its position.json could not be read over SSH; staying read-only`);
        return;
      }
      log.info(`using the peer's recorded position (role ${recorded.role}, recorded ${recorded.recordedAt})`, { recorded });
      facts.newMaster = fromRecord(recorded);
      const refused = rt.peer?.kind === 'unreachable' && /ECONNREFUSED|refused/i.test(rt.peer.reason);
      if (!recordProvenCurrent(recorded, refused)) {
        facts.newMasterRecordStale = `its position.json (role ${recorded.role}, recorded ${recorded.recordedAt}) is not proven current`;
      }
    });
    case 'errant-check': return run(async (s) => {
      facts.errant = await errantCheck(rt, s);
      const found = facts.errant.errant.length > 0 || facts.errant.unproven.length > 0;
      // An errant verdict rests only on the peer's live state or a record proven current (issue 8: a stale record once did).
      if (found && facts.newMasterRecordStale !== undefined) {
        throw new AppError('PEER_UNREACHABLE', `this node has GTIDs beyond the new master's recorded position, but ${facts.newMasterRecordStale}: ` +
          'errant or not is unknown; staying fenced and waiting for its MySQL');
      }
      if (found) {
        log.error('errant transactions found', { errant: facts.errant.errant, unproven: facts.errant.unproven,
          localState: facts.local?.gtidBinlogState ?? facts.local?.gtidExecuted });
      }
    });
    case 'set-gtid-slave-pos': return run((s) => {
      const l = facts.local;
      if (!l) throw new AppError('INTERNAL', 'set-gtid-slave-pos before the local state was read');
      return steps.sql(rt.local.client, step.name, 'local', [setGtidSlavePos(mergeMariaPositions(l.gtidBinlogPos ?? '', l.gtidSlavePos ?? ''))], s);
    });
    case 'change-source': return run((s) => {
      const binlog = facts.newMaster?.binlog;
      if (!step.byGtid && !binlog) throw new AppError('PEER_UNREACHABLE', 'no binlog coordinates known for the new master: cannot rejoin by file/position');
      const position = step.byGtid || !binlog ? { kind: 'gtid' as const } : { kind: 'file' as const, file: binlog.file, pos: binlog.pos };
      return steps.sql(rt.local.client, step.name, 'local', [changeSource(step.dialect, { ...step.spec, position })], s);
    });
    case 'verify-replication': return run(async (s) => {
      const d = rt.local.dialect;
      const { value } = await pollUntil<ReplicaStatus | undefined>({
        clock: ports.clock, signal: s, deadlineMs: step.boundMs,
        read: (s2) => readReplica(rt.local.client, d, s2),
        settled: (cur) => (cur?.ioRunning === 'Yes' && cur.sqlRunning === 'Yes') || (cur?.sqlRunning === 'No' && cur.lastSqlError !== ''),
      });
      if (value) facts.replication = value;
      if (value?.ioRunning === 'Yes' && value.sqlRunning === 'Yes') {
        log.info('replication threads running', { source: `${value.sourceHost}:${value.sourcePort}`, usingGtid: value.usingGtid });
      }
    });
  }
}

function peerSession(rt: Runtime): Extract<PeerSession, { kind: 'answered' }> {
  if (rt.peer?.kind !== 'answered') throw new AppError('INTERNAL', 'a step needs the peer but its MySQL did not answer');
  return rt.peer;
}

const client = (rt: Runtime, on: Server): SqlClient => (on === 'local' ? rt.local.client : peerSession(rt).client);

const fence = (rt: Runtime, step: Extract<Step, { kind: 'fence' }>, signal: AbortSignal): Promise<void> =>
  fenceOn(rt.ctx, client(rt, step.on), step, signal);

/** Kills client sessions (a commit waiting for its semi-sync ack blocks SET read_only), fences, kills late arrivals. */
export async function fenceOn(ctx: FenceContext, c: SqlClient, step: Extract<Step, { kind: 'fence' }>, signal: AbortSignal): Promise<void> {
  let behind = 0;
  const once = async (s: AbortSignal): Promise<'fenced' | 'commit-in-progress'> => {
    if (step.killClients) await killClientConnections(ctx, c, step.where, step.name, s);
    try {
      await ctx.steps.sql(c, step.name, step.where, step.statements, s, step.timeoutMs);
      return 'fenced';
    } catch (err) {
      if (!step.killClients || (err as { errno?: number }).errno !== ER_LOCK_WAIT_TIMEOUT) throw err;
      behind++;
      return 'commit-in-progress';
    }
  };
  // While clients are killed the fence never waits on a lock (the plan's lock_wait_timeout): a client that reconnected
  // between the kill and the fence (a pool whose ARP entry still points here) began a commit that waits for a semi-sync
  // ack, and read_only would wait for it. Kill again and try again, within the step's timeout.
  const { settled } = await pollUntil({
    clock: ctx.ports.clock, signal, deadlineMs: step.timeoutMs, maxDelayMs: 20, read: once, settled: (v) => v === 'fenced',
  });
  if (behind > 0) ctx.ports.log.warn(`the fence on ${step.where} found a commit that began after the kill ${behind} time(s): killed again each time`, { step: step.name });
  if (!settled) throw new AppError('FAILOVER_STEP_FAILED', `cannot fence ${step.where}: commits kept beginning after the kills for ${step.timeoutMs} ms`);
  // Sessions that connected between the last kill and the fence: read-only now, but pools must move to the VIP.
  if (step.killClients) await killClientConnections(ctx, c, step.where, step.name, signal);
}
const ER_LOCK_WAIT_TIMEOUT = 1205;

async function killClientConnections(ctx: FenceContext, c: SqlClient, where: string, step: string, signal: AbortSignal): Promise<void> {
  const { config, steps, ports } = ctx;
  const ids = clientConnectionsToKill(await readProcessList(c, signal), {
    ownThreadId: c.threadId, users: [config.mysql.user, config.replication.user],
  });
  if (ids.length === 0) return;
  ports.log.info(`killing ${ids.length} client connection(s) on ${where}`, { step, ids });
  await killEach(steps, c, step, where, ids, signal);
}

/** KILL CONNECTION each id; returns how many were killed. */
async function killEach(steps: FenceContext['steps'], c: SqlClient, step: string, where: string, ids: readonly number[], signal: AbortSignal): Promise<number> {
  let killed = 0;
  for (const id of ids) {
    try {
      await steps.sql(c, step, where, [killConnection(id)], signal);
      killed++;
    } catch (err) {
      // ER_NO_SUCH_THREAD: the session ended by itself between the list and the kill.
      if ((err as { errno?: number }).errno !== 1094) throw err;
    }
  }
  return killed;
}

// The SQL thread first (everything received is applied already, and nothing more may be), then KILL the IO thread.
async function killIoThread(rt: Runtime, first: readonly Statement[], signal: AbortSignal): Promise<void> {
  const { client: c, dialect: d } = rt.local;
  await rt.ctx.steps.sql(c, 'kill-io-thread', 'local', first, signal);
  await killReplicaIoThread(rt.ctx, c, d, 'kill-io-thread', signal);
}

/**
 * Stops the IO thread of a replica whose source went silent: KILL, a pause, STOP. On its way out a MariaDB semi-sync
 * replica's IO thread connects to its source to end the dump thread there, up to rpl_semi_sync_slave_kill_conn_timeout
 * on a dead link. STOP signals the thread: during that connect it cuts it short; sent before the killed thread got
 * there (0.3 ms after the KILL: 3 of 6 tries on a bridged pair), it waited it out. A thread caught reconnecting needs
 * STOP's signal to end that connect, and then waits out the semi-sync one. Resolves once the STOP is sent.
 */
export async function stopIoThreadOffSilentSource(ctx: Pick<FenceContext, 'steps' | 'ports'>, c: SqlClient, d: Dialect, signal: AbortSignal)
  : Promise<{ readonly killed: number; readonly exited: Promise<void> }> {
  const killed = await killReplicaIoThread(ctx, c, d, 'stop-io-thread', signal);
  if (killed > 0) await ctx.ports.clock.sleep(KILLED_IO_THREAD_PAUSE_MS, signal);
  return { killed, exited: ctx.steps.sql(c, 'stop-io-thread', 'local', [stopReplicaIoThread(d)], signal, IO_THREAD_EXIT_MS) };
}
// 20 ms was too short once in 25 isolation drills, on a busy host; the caller asks the witness or reads the peer meanwhile.
const KILLED_IO_THREAD_PAUSE_MS = 100;
const IO_THREAD_EXIT_MS = 6000;

/** KILL the replication IO thread: STOP waits out a dead source's socket, a killed thread does not. Returns how many were killed. */
async function killReplicaIoThread(ctx: Pick<FenceContext, 'steps'>, c: SqlClient, d: Dialect, step: string, signal: AbortSignal): Promise<number> {
  return killEach(ctx.steps, c, step, 'local', await ioThreadIds(c, d, signal), signal);
}

// MariaDB lists a killed thread as 'Killed', no longer 'Slave_IO': these are the ones still running un-killed.
const ioThreadIds = (c: SqlClient, d: Dialect, signal: AbortSignal): Promise<number[]> => threadIds(c, replicaIoThreadIds(d), signal);

async function threadIds(c: SqlClient, q: Statement, signal: AbortSignal): Promise<number[]> {
  return (await c.query<Row>(q.sql, q.params, { signal })).map((r) => Number(r['id'])).filter((id) => Number.isSafeInteger(id) && id > 0);
}

// KILL, where STOP SQL_THREAD would wait for the exiting IO thread; the thread ends as a STOP would end it.
async function killSqlThread(rt: Runtime, boundMs: number, signal: AbortSignal): Promise<void> {
  const { client: c, dialect: d } = rt.local;
  await killEach(rt.ctx.steps, c, 'kill-sql-thread', 'local', await threadIds(c, replicaSqlThreadIds(d), signal), signal);
  const { value, settled } = await pollUntil<ReplicaStatus | undefined>({
    clock: rt.ctx.ports.clock, signal, deadlineMs: boundMs, maxDelayMs: 50,
    read: (s) => readReplica(c, d, s),
    settled: (st) => st?.sqlRunning !== 'Yes',
  });
  if (!settled) throw new AppError('FAILOVER_STEP_FAILED', `the replication SQL thread still runs ${boundMs} ms after its KILL (${value?.lastSqlError ?? ''})`);
}

// Waits (bounded) until everything received (or, from a fenced old master, everything it has) is applied.
async function catchUp(rt: Runtime, step: Extract<Step, { kind: 'catch-up' }>, signal: AbortSignal): Promise<CatchUpResult> {
  const { ports } = rt.ctx;
  const { client: c, dialect: d } = rt.local;
  const { status, timeoutMs } = step;
  if (step.target.kind !== 'relay') {
    const target = step.target.kind === 'gtids' ? step.target.gtids : rt.facts.oldMasterGtids ?? status.receivedGtids;
    if (target === '') return { caughtUp: relayLogApplied(status), target, detail: 'nothing received by GTID; compared relay positions' };
    const w = waitForGtids(d, target, timeoutMs / 1000);
    const [row] = await c.query<Row>(w.sql, w.params, { signal, timeoutMs: timeoutMs + 2000 });
    const result = row?.['result'];
    const caughtUp = result !== null && result !== undefined && Number(result) === 0;
    return { caughtUp, target, detail: `server wait returned ${String(result)}` };
  }
  const sqlStopped = (st: ReplicaStatus): boolean => st.sqlRunning !== 'Yes' && st.lastSqlError !== '';
  const { value: st, settled } = await pollUntil<ReplicaStatus | undefined>({
    clock: ports.clock, signal, deadlineMs: timeoutMs, initial: status,
    read: (s) => readReplica(c, d, s),
    settled: (v) => v !== undefined && (relayLogApplied(v) || sqlStopped(v)),
  });
  const target = `${st?.sourceLogFile}:${st?.readSourceLogPos}`;
  if (settled && st && relayLogApplied(st)) return { caughtUp: true, target, detail: 'relay log applied' };
  if (settled && st) return { caughtUp: false, target, detail: `SQL thread stopped: ${st.lastSqlError}` };
  return { caughtUp: false, target, detail: `relay log not applied within ${timeoutMs} ms` };
}

// Waits (bounded) until the peer is writable: only then has its own promotion applied everything it received from us.
async function waitPeerWritable(rt: Runtime, boundMs: number, signal: AbortSignal): Promise<ServerState> {
  const { ports } = rt.ctx;
  const peer = peerSession(rt);
  const { value, settled } = await pollUntil<ServerState>({
    clock: ports.clock, signal, deadlineMs: boundMs, initial: peer.state,
    read: (s) => readServerState(peer.client, peer.dialect, s),
    settled: (st) => !st.readOnly,
    // A newer request (keepalived's MASTER right after its start-up BACKUP) must not queue behind this wait.
    beforeSleep: async () => {
      if (await ports.newerRequestPending?.()) {
        throw new AppError('SUPERSEDED', 'a newer request is waiting: leaving this node fenced without rejoining the still read-only peer');
      }
    },
  });
  if (!settled) ports.log.warn(`peer still read-only after ${boundMs} ms: checking against its current state`);
  return value;
}

// Errant transactions: GTIDs this node has that the new master lacks (a crashed master's un-acked tail).
async function errantCheck(rt: Runtime, signal: AbortSignal): Promise<ErrantCheck> {
  const { client: c, dialect: d } = rt.local;
  const local = rt.facts.local;
  const peer = rt.facts.newMaster;
  if (!local || !peer) throw new AppError('INTERNAL', 'errant check before both positions were read');
  if (d.gtid === 'mariadb') {
    return mariaErrantCheck(local.gtidBinlogState ?? '', peer.gtidBinlogState !== undefined
      ? { kind: 'state', binlogState: peer.gtidBinlogState }
      : { kind: 'pos', binlogPos: peer.gtidBinlogPos ?? '' });
  }
  const q = gtidSubtract(local.gtidExecuted ?? '', peer.gtidExecuted ?? '');
  const [row] = await c.query<Row>(q.sql, q.params, { signal });
  const errant = String(row?.['errant'] ?? '').replace(/\s+/g, '');
  return { errant: errant === '' ? [] : [errant], unproven: [] };
}

// The one place a position record is built and written.
async function recordPosition(rt: Runtime, role: PositionRecord['role'], replica: ReplicaStatus | undefined, signal: AbortSignal): Promise<void> {
  const { config, ports, transitionId } = rt.ctx;
  const now = await readServerState(rt.local.client, rt.local.dialect, signal);
  const rec = positionRecordFrom(now, {
    node: config.node.name, role, transitionId, recordedAt: new Date(ports.clock.now()).toISOString(), ...(replica ? { replica } : {}),
  });
  await ports.writePosition(rec);
  ports.log.info(`position recorded (role ${role}): master coordinates ${rec.binlogFile ?? '-'}:${rec.binlogPos ?? '-'} gtid ${rec.gtidBinlogPos ?? '-'}`,
    { binlogFile: rec.binlogFile, binlogPos: rec.binlogPos, gtid: rec.gtidBinlogPos });
  const r = replica ?? now.replica;
  if (r) ports.log.info(`replica applied ${r.relaySourceLogFile}:${r.execSourceLogPos} from ${r.sourceHost}`, { replica: r });
}

function fromState(state: ServerState): PeerPosition {
  return {
    source: 'peer-mysql',
    ...(state.binlog ? { binlog: state.binlog } : {}),
    ...(state.gtidBinlogPos !== undefined ? { gtidBinlogPos: state.gtidBinlogPos } : {}),
    ...(state.gtidBinlogState !== undefined ? { gtidBinlogState: state.gtidBinlogState } : {}),
    ...(state.gtidExecuted !== undefined ? { gtidExecuted: state.gtidExecuted } : {}),
  };
}

function fromRecord(r: PositionRecord): PeerPosition {
  return {
    source: 'position-record',
    ...(r.binlogFile !== undefined && r.binlogPos !== undefined ? { binlog: { file: r.binlogFile, pos: r.binlogPos } } : {}),
    ...(r.gtidBinlogPos !== undefined ? { gtidBinlogPos: r.gtidBinlogPos, gtidExecuted: r.gtidBinlogPos } : {}),
    ...(r.gtidBinlogState !== undefined ? { gtidBinlogState: r.gtidBinlogState } : {}),
  };
}

// Timers as configured (a heartbeat the server does not show is re-applied) and the IO thread acknowledging.
async function replicationCurrent(rt: Runtime, st: ReplicaStatus | undefined, signal: AbortSignal): Promise<boolean> {
  const r = rt.ctx.config.replication;
  if (st?.connectRetryS !== r.connectRetryS) return false;
  const q = replicaRuntime(rt.local.dialect);
  const rows = await rt.local.client.query<Row>(q.sql, q.params, { signal });
  const v = new Map(rows.map((x) => [String(x['Variable_name']).toLowerCase(), String(x['Value'])]));
  const heartbeat = v.get('slave_heartbeat_period');
  const acking = rt.local.dialect.semiSync.replica === undefined || v.get(`${rt.local.dialect.semiSync.replica}_status`)?.toUpperCase() === 'ON';
  return heartbeat !== undefined && Number(heartbeat) === r.heartbeatPeriodS && acking;
}

const replicatingFromPeer = (config: Config, st: ReplicaStatus | undefined): boolean =>
  st !== undefined && st.sourceHost === config.peer.host && st.sourcePort === config.peer.mysqlPort &&
  st.ioRunning === 'Yes' && st.sqlRunning === 'Yes';
