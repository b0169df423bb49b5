import { AppError, describeError } from '../errors.js';
import { describeDialect, detectDialect, type Dialect } from '../mysql/dialect.js';
import { describeMysqlError } from '../mysql/errors.js';
import {
  durableCommits, fenceWrites, killConnection, replicaIoThreadIds, openWrites, resetReplicaAll, semiSyncFor, startReplicaIoThread, startReplicaSqlThread,
  stopReplica, stopReplicaIoThread, stopReplicaSqlThread, waitForGtids, type ReplicaStatus,
} from '../mysql/queries.js';
import type { Row, SqlClient } from '../mysql/types.js';
import type { BinlogTail } from '../ssh/types.js';
import { mariaPositionReached } from './gtid.js';
import { fenceBudgetMs, fenceServer, openPeerMysql, readPeerBinlogTail } from './peer.js';
import { compareTail, decideAfterCatchUp, hasReplication, nextPollDelay, relayLogApplied } from './plans.js';
import { positionRecordFrom, readReplica, readServerState, type ServerState } from './server-state.js';
import { localTarget, stepBudgets, type TransitionContext } from './steps.js';
import { openOldMasterFiles, recoverOldMasterTail, type EarlyPeerFiles } from './tail-recovery.js';

/** A connection that a timed-out step may have destroyed; steps reconnect through it. */
export interface LocalSession {
  client: SqlClient;
  readonly dialect: Dialect;
  reconnect(signal: AbortSignal): Promise<SqlClient>;
}

// Connects to the local server and learns its dialect; an unreachable local MySQL ends the transition.
export async function openLocal(ctx: TransitionContext, signal: AbortSignal): Promise<LocalSession> {
  const { config, ports, steps } = ctx;
  const b = stepBudgets(config);
  const connect = (s: AbortSignal): Promise<SqlClient> => ports.sql.connect(localTarget(config), s).catch((err: unknown) => {
    if (err instanceof AppError) throw err;
    throw new AppError('MYSQL_UNREACHABLE', `local MySQL does not answer: ${describeMysqlError(err)}`, { cause: err });
  });
  const client = await steps.run('connect-local', b.connect, signal, connect);
  try {
    const dialect = await steps.run('detect-dialect', b.query, signal, (s) => detectDialect(client, s));
    ports.log.info(`local server: ${describeDialect(dialect)}`);
    const session: LocalSession = {
      client, dialect,
      reconnect: async (s) => {
        session.client.close();
        session.client = await steps.run('reconnect-local', b.connect, s, connect);
        return session.client;
      },
    };
    return session;
  } catch (err) {
    client.close();
    throw err;
  }
}

interface CatchUp {
  readonly caughtUp: boolean;
  readonly target: string;
  readonly detail: string;
}

// Waits until everything received (or, when the old master answered, everything it has) is applied — bounded.
async function waitForCatchUp(ctx: TransitionContext, session: LocalSession, status: ReplicaStatus,
  peerGtids: string | undefined, local: ServerState, signal: AbortSignal): Promise<CatchUp> {
  const { config, ports, steps } = ctx;
  const d = session.dialect;
  const timeoutMs = config.notify.catchUpTimeoutMs;
  const gtidMode = d.gtid === 'mariadb' ? status.usingGtid.toLowerCase() !== 'no' : d.gtid === 'mysql';
  if (gtidMode) {
    const target = peerGtids ?? status.receivedGtids;
    if (target === '') return { caughtUp: relayLogApplied(status), target, detail: 'nothing received by GTID; compared relay positions' };
    if (steps.dryRun) {
      const applied = d.gtid === 'mariadb' ? local.gtidSlavePos ?? '' : local.gtidExecuted ?? '';
      steps.note(`[catch-up] would wait up to ${timeoutMs} ms for GTIDs ${target} (applied now: ${applied})`);
      return { caughtUp: d.gtid === 'mariadb' ? mariaPositionReached(applied, target) : true, target, detail: 'dry run' };
    }
    const w = waitForGtids(d, target, timeoutMs / 1000);
    return steps.run('catch-up', timeoutMs + 3000, signal, async (s) => {
      const [row] = await session.client.query<Row>(w.sql, w.params, { signal: s, timeoutMs: timeoutMs + 2000 });
      const result = row?.['result'];
      const caughtUp = result !== null && result !== undefined && Number(result) === 0;
      return { caughtUp, target, detail: `server wait returned ${String(result)}` };
    });
  }
  // No GTIDs: poll the relay coordinates with growing intervals (MHA's rule), bounded by the catch-up timeout.
  if (steps.dryRun) {
    steps.note(`[catch-up] would poll relay positions up to ${timeoutMs} ms (applied now: ${relayLogApplied(status)})`);
    return { caughtUp: relayLogApplied(status), target: `${status.sourceLogFile}:${status.readSourceLogPos}`, detail: 'dry run' };
  }
  return steps.run('catch-up', timeoutMs + 3000, signal, async (s) => {
    const until = ports.clock.now() + timeoutMs;
    let delay = 20;
    let st: ReplicaStatus | undefined = status;
    for (;;) {
      if (st && relayLogApplied(st)) return { caughtUp: true, target: `${st.sourceLogFile}:${st.readSourceLogPos}`, detail: 'relay log applied' };
      if (st && st.sqlRunning !== 'Yes' && st.lastSqlError !== '') {
        return { caughtUp: false, target: `${st.sourceLogFile}:${st.readSourceLogPos}`, detail: `SQL thread stopped: ${st.lastSqlError}` };
      }
      if (ports.clock.now() >= until) break;
      await ports.clock.sleep(Math.min(delay, Math.max(1, until - ports.clock.now())), s);
      delay = nextPollDelay(delay);
      st = await readReplica(session.client, session.dialect, s);
    }
    return { caughtUp: false, target: `${st?.sourceLogFile}:${st?.readSourceLogPos}`, detail: `relay log not applied within ${timeoutMs} ms` };
  });
}

// STOP SLAVE can hang on a dead master's socket: bounded, then the IO and SQL threads one by one on a fresh connection.
// With a source known to be unreachable, the IO thread is killed first: STOP waits ~2 s on a hung source's socket, KILL does not.
export async function stopReplicationBounded(ctx: TransitionContext, session: LocalSession, signal: AbortSignal,
  opts: { sourceUnreachable?: boolean } = {}): Promise<void> {
  const { config, ports, steps } = ctx;
  const b = stepBudgets(config);
  const d = session.dialect;
  if (opts.sourceUnreachable) {
    try {
      await steps.run('kill-io-thread', b.query, signal, async (s) => {
        // The SQL thread first: everything received is applied already, and nothing more may be.
        await steps.write(session.client, 'kill-io-thread', 'local', [stopReplicaSqlThread(d)], s);
        const ids = await session.client.query<Row>(replicaIoThreadIds(d).sql, [], { signal: s });
        const kills = ids.map((r) => Number(r['id'])).filter((id) => Number.isSafeInteger(id) && id > 0).map(killConnection);
        if (kills.length > 0) await steps.write(session.client, 'kill-io-thread', 'local', kills, s);
      });
    } catch (err) {
      if (steps.dryRun) throw err;
      ports.log.warn(`could not kill the replication IO thread (${describeError(err)}); STOP will wait for it`);
    }
  }
  try {
    await steps.run('stop-replication', b.stopReplica + 500, signal, (s) =>
      steps.write(session.client, 'stop-replication', 'local', [stopReplica(d)], s, b.stopReplica));
    return;
  } catch (err) {
    if (steps.dryRun) throw err;
    ports.log.warn(`STOP ${d.replicaStatements ? 'REPLICA' : 'SLAVE'} did not finish (${describeError(err)}); stopping the threads one by one`);
  }
  await session.reconnect(signal);
  await steps.run('stop-io-thread', b.stopReplica + 500, signal, (s) =>
    steps.write(session.client, 'stop-io-thread', 'local', [stopReplicaIoThread(d)], s, b.stopReplica));
  await steps.run('stop-sql-thread', b.stopReplica + 500, signal, (s) =>
    steps.write(session.client, 'stop-sql-thread', 'local', [stopReplicaSqlThread(d)], s, b.stopReplica));
}

/** MASTER: promote the local replica to a writable, durable, semi-sync master. */
export async function promote(ctx: TransitionContext, signal: AbortSignal): Promise<void> {
  const { config, ports, steps } = ctx;
  const log = ports.log;
  const b = stepBudgets(config);
  const session = await openLocal(ctx, signal);
  let readTail: () => Promise<BinlogTail | undefined> = async () => undefined;
  let early: EarlyPeerFiles | undefined;
  try {
    const d = session.dialect;
    const before = await steps.run('read-local', b.query, signal, (s) => readServerState(session.client, d, s));
    let replicaAtStop: ReplicaStatus | undefined;
    let applied: ServerState = before;
    let gapNoted = false;
    // Set when the old master's tail was read before opening writes (its outcome is already logged).
    let tailChecked = false;

    if (!hasReplication(before.replica)) {
      // Idempotence: a re-run after a finished (or crashed past RESET) promotion has nothing to catch up.
      log.info(before.readOnly ? 'no replication configured: finishing an interrupted promotion'
        : 'already a writable master: re-asserting master settings');
    } else {
      // Fence the old master first, so the catch-up target stops moving and it cannot take writes beside us.
      const peer = await openPeerMysql(ctx, 'reach-old-master', signal);
      let peerGtids: string | undefined;
      if (peer.reachable) {
        try {
          await steps.run('fence-old-master', fenceBudgetMs(ctx, peer.dialect), signal, (s) =>
            fenceServer(ctx, peer.client, peer.dialect, `old master ${config.peer.host}`, 'fence-old-master', config.notify.killClientConnections, s));
          // Read after fencing: everything it will ever have, so the wait target is exact.
          const fenced = await readServerState(peer.client, peer.dialect, signal);
          peerGtids = d.gtid === 'mariadb' ? fenced.gtidBinlogPos : d.gtid === 'mysql' ? fenced.gtidExecuted : undefined;
        } catch (err) {
          log.warn(`could not fence the old master: ${describeError(err)}`);
        } finally {
          peer.client.close();
        }
      }
      // Not fenced: its tail is read before writes open; connect now, while the replica catches up.
      if (peerGtids === undefined && !steps.dryRun) early = openOldMasterFiles(ctx, signal);
      const status = before.replica;
      // Walk the old master's binlog only from what this replica already read (a whole-file walk is slow).
      const hint = status.sourceLogFile !== '' ? { file: status.sourceLogFile, pos: status.readSourceLogPos } : undefined;
      // A fenced old master's tail only feeds the log: read it after writes open (loading ssh2 costs more CPU than the promotion).
      if (!steps.dryRun && peerGtids !== undefined) {
        readTail = () => readPeerBinlogTail(ctx, peer.reachable ? peer.state.logBinIndex : undefined, hint, signal);
      }

      // The relay log is applied by the SQL thread; a stopped one (operator, crash) must run again to drain it.
      if (status.sqlRunning !== 'Yes') {
        await steps.run('start-sql-thread', b.query, signal, (s) => steps.write(session.client, 'start-sql-thread', 'local', [startReplicaSqlThread(d)], s));
      }
      // Fetch the rest only from an old master we have just fenced; never reconnect to one we could not reach.
      if (status.ioRunning !== 'Yes' && peerGtids !== undefined) {
        await steps.run('start-io-thread', b.query, signal, (s) => steps.write(session.client, 'start-io-thread', 'local', [startReplicaIoThread(d)], s));
      }
      const catchUp = await waitForCatchUp(ctx, session, status, peerGtids, before, signal);
      const decision = decideAfterCatchUp(catchUp.caughtUp, config.notify.onCatchUpTimeout);
      // Stays read-only, records the fenced position and ends the transition with exit 4.
      const refuse = async (msg: string): Promise<never> => {
        await steps.write(session.client, 'stay-fenced', 'local', fenceWrites(d), signal);
        const now = await readServerState(session.client, d, signal);
        if (!steps.dryRun) {
          await ports.writePosition(positionRecordFrom(now, { node: config.node.name, role: 'fenced', transitionId: ctx.transitionId, recordedAt: new Date(ports.clock.now()).toISOString() }));
        }
        log.error(msg, { applied: now.gtidSlavePos ?? now.gtidExecuted, replica: now.replica });
        throw new AppError('PROMOTION_REFUSED', msg);
      };
      if (decision === 'refuse') {
        await refuse(`replica did not apply ${catchUp.target || 'its relay log'} within ${config.notify.catchUpTimeoutMs} ms ` +
          `(${catchUp.detail}); onCatchUpTimeout=refuse: staying read-only`);
      }
      if (decision === 'promote-with-gap') {
        gapNoted = true;
        log.error(`promoting with a gap: replica did not apply ${catchUp.target} within ${config.notify.catchUpTimeoutMs} ms ` +
          `(${catchUp.detail}); transactions the old master has may be lost`, { target: catchUp.target });
      } else {
        log.info(`replica caught up to ${catchUp.target || 'its relay log'} (${catchUp.detail})`);
      }

      await stopReplicationBounded(ctx, session, signal, { sourceUnreachable: peerGtids === undefined });
      replicaAtStop = await readReplica(session.client, d, signal);
      applied = await readServerState(session.client, d, signal);
      if (replicaAtStop && replicaAtStop.ioRunning === 'Yes' && !steps.dryRun) {
        throw new AppError('FAILOVER_STEP_FAILED', 'replication is still running after STOP; refusing to open writes');
      }
      log.info('replication stopped; coordinates before detaching', { replica: replicaAtStop, gtidSlavePos: applied.gtidSlavePos, gtidExecuted: applied.gtidExecuted });
      // An old master we could not fence may hold complete transactions we never received (semi-sync fell back to
      // async): with the SQL thread drained, Exec_Master_Log_Pos is exact, so recover them before writes open (MHA).
      if (peerGtids === undefined && replicaAtStop && !gapNoted) {
        tailChecked = true;
        const outcome = await recoverOldMasterTail(ctx, session, {
          relaySourceLogFile: replicaAtStop.relaySourceLogFile, execSourceLogPos: replicaAtStop.execSourceLogPos,
          gtidBinlogPos: (d.gtid === 'mariadb' ? applied.gtidBinlogPos : applied.gtidExecuted) ?? '',
          gtidSlavePos: applied.gtidSlavePos ?? '', flavor: d.flavor,
        }, early, signal);
        if (outcome.kind === 'gap') {
          if (decideAfterCatchUp(false, config.notify.onCatchUpTimeout) === 'refuse') {
            await refuse(`${outcome.detail}; onCatchUpTimeout=refuse: staying read-only. To recover, apply them from the old master ` +
              `(${outcome.operatorHint}) and run notify master again, or set notify.onCatchUpTimeout=promote to accept the loss`);
          }
          gapNoted = true;
          log.error(`promoting with a gap (onCatchUpTimeout=promote): ${outcome.detail}; these transactions may be lost`);
        }
        if (outcome.kind === 'recovered') applied = await readServerState(session.client, d, signal);
      }
      // Forget the old master for good (a restarted mysqld would otherwise reconnect to it); coordinates are in the log and position.json.
      await steps.run('detach-replication', b.query, signal, (s) => steps.write(session.client, 'detach-replication', 'local', [resetReplicaAll(d)], s));
    }

    await steps.run('durable-commits', b.query, signal, (s) => steps.write(session.client, 'durable-commits', 'local', durableCommits(), s));
    const semi = semiSyncFor(d, 'master');
    if (semi.length === 0) log.warn('no semi-sync plugin installed: this master will replicate asynchronously');
    else if (d.semiSync.waitWithNoReplica) {
      // With no replica attached yet, the first commit waits the whole semi-sync timeout: a write outage after every failover.
      log.warn(`semi-sync waits for a replica even when none is connected: the first commit may stall ` +
        `${d.semiSync.timeoutMs} ms; set ${d.semiSync.source}_wait_no_${d.semiSync.source === 'rpl_semi_sync_source' ? 'replica' : 'slave'}=OFF`);
    }
    await steps.run('semi-sync-master', b.query, signal, (s) => steps.write(session.client, 'semi-sync-master', 'local', semi, s));
    await steps.run('open-writes', b.query, signal, (s) => steps.write(session.client, 'open-writes', 'local', openWrites(d), s));
    log.info('local server is writable');
    const tail = readTail();

    await steps.run('record-position', b.query + 1000, signal, async (s) => {
      const now = await readServerState(session.client, d, s);
      const record = positionRecordFrom(now, {
        node: config.node.name, role: 'master', transitionId: ctx.transitionId,
        recordedAt: new Date(ports.clock.now()).toISOString(), ...(replicaAtStop ? { replica: replicaAtStop } : {}),
      });
      if (!steps.dryRun) await ports.writePosition(record);
      log.info('new master coordinates recorded', { binlogFile: record.binlogFile, binlogPos: record.binlogPos, gtid: record.gtidBinlogPos });
    });

    const oldTail = await tail;
    if (oldTail && replicaAtStop) {
      const cmp = compareTail(oldTail, {
        relaySourceLogFile: replicaAtStop.relaySourceLogFile, execSourceLogPos: replicaAtStop.execSourceLogPos,
        appliedGtids: (d.gtid === 'mariadb' ? applied.gtidSlavePos : applied.gtidExecuted) ?? '', flavor: d.flavor,
      });
      if (cmp.gap) log.error(cmp.summary, { tail: oldTail, gapAlreadyReported: gapNoted });
      else log.info(cmp.summary, { tail: oldTail });
    } else if (replicaAtStop && !tailChecked) {
      log.info(`replica applied ${replicaAtStop.relaySourceLogFile}:${replicaAtStop.execSourceLogPos}; old master's binlog end unknown`);
    }
  } finally {
    early?.close();
    session.client.close();
  }
}
