import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { AppError, describeError } from '../errors.js';
import type { PositionRecord } from '../failover/position-record.js';
import { positionRecordFrom, readServerState, type ServerState } from '../failover/server-state.js';
import type { Logger } from '../log/types.js';
import type { BinlogTools } from '../mysql/binlog-applier.js';
import { detectDialect, type Dialect } from '../mysql/dialect.js';
import { countWaitingForAck, readHealSettings, readNoAckCommits, resetMaster, setGtidBinlogState } from '../mysql/heal-queries.js';
import {
  changeSource, semiSyncFor, setGtidSlavePos, showStatement, startReplica, stopReplica, readReplicaStatus, showReplicaStatus,
  type ReplicaStatus, type Statement,
} from '../mysql/queries.js';
import { mysqlTarget as localTarget, peerMysqlTarget as peerTarget } from '../mysql/targets.js';
import type { Row, SqlClient, SqlConnector } from '../mysql/types.js';
import type { Clock } from '../platform/clock.js';
import { writeFileAtomic } from '../platform/atomic-write.js';
import { deadline } from '../platform/deadline.js';
import { pollUntil } from '../platform/poll.js';
import { errantRanges } from './gtid-sets.js';
import { describePlan, planRejoin, type RejoinFacts, type RejoinMethod, type RejoinPlan } from './plan.js';
import type { Rebuilder } from './rebuild.js';
import { locateErrant, saveErrant, type LocatedErrant, type SavedTail } from './save.js';
import { readSwitchLog } from './switch-log.js';
import { decideHeal } from './verdict.js';

/** Every side effect of `rejoin`, as small ports (the CLI passes the real ones). */
export interface RejoinPorts {
  readonly sql: SqlConnector;
  readonly log: Logger;
  readonly clock: Clock;
  readonly binlogTools: BinlogTools;
  /** Rebuild from the peer, or why it cannot run here. */
  readonly rebuild: { readonly rebuilder: Rebuilder } | { readonly blocked: string };
  /** Why this node holds the VIP, or undefined when it does not. */
  holdsVip(): Promise<string | undefined>;
  writePosition(record: PositionRecord): Promise<void>;
}

export interface RejoinOptions {
  readonly method: RejoinMethod;
  /** The BACKUP transition's automatic heal: refuse unless no client can have been acknowledged for the errant tail. */
  readonly onlyIfProvenSafe?: boolean;
  /** Print the plan (what would be saved, discarded, rebuilt) and change nothing. */
  readonly dryRun: boolean;
  readonly print: (line: string) => void;
}

// Present from just before a discard starts until replication is configured: a crash in between is seen by the next run.
const JOURNAL_FILE = 'rejoin-in-progress.json';

async function readJournal(stateDir: string): Promise<RejoinFacts['interrupted']> {
  const text = await readFile(join(stateDir, JOURNAL_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const j = JSON.parse(text) as { method?: unknown; savedDir?: unknown };
    return { method: j.method === 'rebuild' ? 'rebuild' : 'flashback', savedDir: String(j.savedDir ?? '?') };
  } catch {
    return { method: 'flashback', savedDir: `? (unreadable ${JOURNAL_FILE})` };
  }
}

interface Session { readonly client: SqlClient; readonly dialect: Dialect }

async function open(sql: SqlConnector, target: Parameters<SqlConnector['connect']>[0], signal: AbortSignal): Promise<Session> {
  const client = await sql.connect(target, signal);
  try {
    return { client, dialect: await detectDialect(client, signal) };
  } catch (err) {
    client.close();
    throw err;
  }
}

async function first(c: SqlClient, s: Statement, signal: AbortSignal): Promise<Row | undefined> {
  return (await c.query<Row>(s.sql, s.params, { signal }))[0];
}

async function exec(c: SqlClient, log: Logger, statements: readonly Statement[], signal: AbortSignal): Promise<void> {
  for (const s of statements) {
    log.info(`sql local: ${showStatement(s)}`);
    await c.execute(s.sql, s.params, { signal });
  }
}

interface Read { readonly facts: RejoinFacts; readonly local: ServerState; readonly located?: LocatedErrant; readonly peerState: string }

// Reads this node, the peer and the evidence (read-only: the same in a dry run).
async function readFacts(config: Config, ports: RejoinPorts, local: Session, opts: RejoinOptions, signal: AbortSignal): Promise<Read> {
  const state = await readServerState(local.client, local.dialect, signal);
  const settings = await first(local.client, readHealSettings(), signal);
  const noTx = await first(local.client, readNoAckCommits(), signal);
  const uptime = await first(local.client, { sql: "SHOW GLOBAL STATUS LIKE 'Uptime'", params: [] }, signal);
  const waiting = await first(local.client, countWaitingForAck(), signal);
  let peerFacts: RejoinFacts['peer'];
  let peerState = '';
  try {
    const peer = await open(ports.sql, peerTarget(config), signal);
    try {
      const p = await readServerState(peer.client, peer.dialect, signal);
      peerState = p.gtidBinlogState ?? '';
      peerFacts = { reachable: true, readOnly: p.readOnly, replicating: p.replica?.ioRunning === 'Yes' || p.replica?.sqlRunning === 'Yes',
        binlogState: peerState, binlogPos: p.gtidBinlogPos ?? '' };
    } finally {
      peer.client.close();
    }
  } catch (err) {
    peerFacts = { reachable: false, reason: describeError(err) };
  }
  const ranges = peerFacts.reachable ? errantRanges(state.gtidBinlogState ?? '', peerState) : [];
  const located = ranges.length > 0 && state.logBinIndex ? await locateErrant(state.logBinIndex, ranges, signal) : undefined;
  const verdict = decideHeal({
    nowMs: ports.clock.now(),
    ...(uptime?.['Value'] !== undefined ? { startedAtMs: ports.clock.now() - Number(uptime['Value']) * 1000 } : {}),
    localBinlogState: state.gtidBinlogState ?? '',
    ...(located?.firstWrittenAtMs !== undefined ? { errantSinceMs: located.firstWrittenAtMs } : {}),
    peer: peerFacts.reachable ? { kind: 'live', binlogState: peerState } : { kind: 'none', reason: peerFacts.reason },
    semiSync: {
      enabled: Number(settings?.['semiEnabled']) === 1, waitPoint: String(settings?.['semiWaitPoint'] ?? ''),
      waitNoSlave: Number(settings?.['semiWaitNoSlave']) === 1, timeoutMs: Number(settings?.['semiTimeoutMs'] ?? 0),
      noAckCommits: Number(noTx?.['Value'] ?? 0), waitingForAck: Number(waiting?.['n'] ?? 0),
    },
    switchLog: await readSwitchLog(config.paths.stateDir),
  });
  const holdsVip = await ports.holdsVip();
  const interrupted = await readJournal(config.paths.stateDir);
  // A rebuild renames heal.datadir away: it must be the directory this mysqld really serves.
  const trim = (p: string): string => p.replace(/\/+$/, '');
  const serverDatadir = trim(String(settings?.['datadir'] ?? ''));
  const rebuildBlocked = 'blocked' in ports.rebuild ? ports.rebuild.blocked
    : trim(config.heal.datadir) !== serverDatadir ? `heal.datadir ${config.heal.datadir} is not this server's datadir ${serverDatadir}` : undefined;
  const facts: RejoinFacts = {
    ...(interrupted !== undefined ? { interrupted } : {}),
    method: opts.method,
    ...(opts.onlyIfProvenSafe ? { onlyIfProvenSafe: true } : {}),
    local: {
      flavorGtid: local.dialect.gtid, readOnly: state.readOnly, ...(holdsVip !== undefined ? { holdsVip } : {}),
      binlogState: state.gtidBinlogState ?? '', binlogPos: state.gtidBinlogPos ?? '', slavePos: state.gtidSlavePos ?? '',
      binlogFormat: String(settings?.['binlogFormat'] ?? ''),
    },
    peer: peerFacts,
    verdict,
    ...(located !== undefined ? { located: { found: located.found, missing: located.missing, statements: located.statements } } : {}),
    ...(rebuildBlocked !== undefined ? { rebuildBlocked } : {}),
  };
  return { facts, local: state, peerState, ...(located !== undefined ? { located } : {}) };
}

/**
 * `keepalived-mysql rejoin`: read, decide (planRejoin), log the plan, then save → discard → replicate.
 * Returns the plan (also in a dry run); a refusal throws REJOIN_REFUSED with its one-line reason.
 */
export async function runRejoin(config: Config, ports: RejoinPorts, opts: RejoinOptions, parent: AbortSignal): Promise<RejoinPlan> {
  const signal = deadline(config.heal.deadlineMs, parent);
  const log = ports.log;
  let local = await open(ports.sql, localTarget(config), signal);
  try {
    const read = await readFacts(config, ports, local, opts, signal);
    const plan = planRejoin(read.facts);
    const lines = describePlan(plan);
    for (const l of lines) log.info(`rejoin plan: ${l}`, { plan: plan.kind });
    if (opts.dryRun) {
      for (const l of lines) opts.print(l);
      return plan;
    }
    if (plan.kind === 'refuse') throw new AppError('REJOIN_REFUSED', `rejoin refused: ${plan.reason}`);

    await exec(local.client, log, [stopReplica(local.dialect)], signal);
    let saved: SavedTail | undefined;
    if (plan.save.length > 0 && read.located) {
      saved = await saveErrant({
        stateDir: config.paths.stateDir, at: new Date(ports.clock.now()), node: config.node.name, ranges: plan.save, located: read.located,
        renderer: ports.binlogTools, signal,
        manifest: {
          reason: plan.verdict.reason,
          maybeAcknowledged: plan.verdict.kind === 'errant' ? plan.verdict.maybeAcknowledged : [],
          localBinlogState: read.local.gtidBinlogState ?? '',
          newMaster: { host: config.peer.host, binlogState: read.peerState },
          discard: plan.discard.kind === 'flashback'
            ? { method: 'flashback', resetMaster: true, note: `mariadb-binlog --flashback of the events files (sql_log_bin=0), then RESET MASTER and gtid_binlog_state='${plan.discard.commonState}'` }
            : { method: 'rebuild', resetMaster: true, note: `datadir replaced by a backup of ${config.peer.host}; the old datadir is kept beside ${config.heal.datadir}` },
        },
      });
      for (const gtid of saved.manifest.gtids) log.warn(`saved errant transaction ${gtid} to ${saved.dir}`, { gtid, dir: saved.dir });
    }

    let startFrom = plan.startFrom;
    const d = plan.discard;
    const journal = join(config.paths.stateDir, JOURNAL_FILE);
    if (d.kind !== 'none') {
      await writeFileAtomic(journal, `${JSON.stringify({ method: d.kind, savedDir: saved?.dir ?? '', startedAt: new Date(ports.clock.now()).toISOString() })}\n`, 0o600);
    }
    if (d.kind === 'flashback' && saved) {
      const dir = saved.dir;
      await ports.binlogTools.flashback(saved.manifest.files.map((f) => join(dir, f.file)), signal);
      log.warn(`flashback applied: ${saved.manifest.errant.join(', ')} undone on this node (saved in ${dir})`);
      await exec(local.client, log, [resetMaster(), setGtidBinlogState(d.commonState)], signal);
    } else if (d.kind === 'rebuild') {
      if (!('rebuilder' in ports.rebuild)) throw new AppError('INTERNAL', 'rebuild planned without a rebuilder');
      local.client.close();
      const rebuilt = await ports.rebuild.rebuilder.rebuild(signal);
      log.warn(`rebuilt from ${config.peer.host} at GTID ${rebuilt.gtid}; old datadir kept at ${rebuilt.keptAside}`);
      local = await open(ports.sql, localTarget(config), signal);
      // Binlogs outside the datadir survive the swap and still hold the discarded (saved) transactions.
      await exec(local.client, log, [stopReplica(local.dialect), resetMaster()], signal);
      startFrom = rebuilt.gtid;
    }
    if (startFrom === undefined) throw new AppError('INTERNAL', 'no GTID position to replicate from');

    const dl = local.dialect;
    await exec(local.client, log, [
      setGtidSlavePos(startFrom),
      changeSource(dl, {
        host: config.peer.host, port: config.peer.mysqlPort, user: config.replication.user, password: config.replication.password,
        connectRetryS: config.replication.connectRetryS, heartbeatPeriodS: config.replication.heartbeatPeriodS, position: { kind: 'gtid' },
      }),
      // Semi-sync replica on before the IO thread starts, so it acknowledges from the first event.
      ...semiSyncFor(dl, 'replica'),
      startReplica(dl),
    ], signal);
    await unlink(journal).catch(() => undefined);
    await verifyReplicating(ports, local, signal);
    const now = await readServerState(local.client, dl, signal);
    await ports.writePosition(positionRecordFrom(now, { node: config.node.name, role: 'replica', transitionId: `rejoin-${ports.clock.now().toString(36)}`,
      recordedAt: new Date(ports.clock.now()).toISOString() }));
    log.info(`rejoined: replicating from ${config.peer.host}:${config.peer.mysqlPort} from GTID ${startFrom}`, { saved: saved?.dir });
    return plan;
  } finally {
    local.client.close();
  }
}

async function verifyReplicating(ports: RejoinPorts, s: Session, signal: AbortSignal): Promise<void> {
  const running = (st: ReplicaStatus | undefined): boolean => st?.ioRunning === 'Yes' && st.sqlRunning === 'Yes';
  const { value: st } = await pollUntil({
    clock: ports.clock, signal, deadlineMs: 30_000,
    read: async (sig) => readReplicaStatus(await first(s.client, showReplicaStatus(s.dialect), sig)),
    // Running, or stopped by an error that waiting will not clear.
    settled: (v) => running(v) || (v?.lastSqlError ?? '') !== '' || (v?.ioRunning === 'No' && (v.lastIoError ?? '') !== ''),
  });
  if (!running(st)) {
    throw new AppError('FAILOVER_STEP_FAILED', `replication did not start: IO ${st?.ioRunning ?? '?'} ${st?.lastIoError ?? ''}, ` +
      `SQL ${st?.sqlRunning ?? '?'} ${st?.lastSqlError ?? ''}`.trim());
  }
}
