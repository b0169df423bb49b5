import { closeSync, openSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { loadNodeConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { AppError } from '../errors.js';
import type { HealthDeps } from '../health/check.js';
import { readLocalGuard } from '../health/guard.js';
import { heldWhileAnswered, isolationEndpoints } from '../health/isolation.js';
import { keptLoginProbe, type KeptLoginProbe } from '../health/mysql-answer.js';
import { checkRound, type RoundIo } from '../health/round.js';
import { beatIsFresh, watchLoop, type TrackValue, type WatchPorts } from '../health/watch.js';
import type { Logger } from '../log/types.js';
import { keptConnector, type KeptConnector } from '../mysql/kept-connection.js';
import { mysql2Connector } from '../mysql/mysql2-client.js';
import { mysqlTarget } from '../mysql/targets.js';
import { writeFileAtomic } from '../platform/atomic-write.js';
import { systemClock } from '../platform/clock.js';
import { installWatchdog, onTerminate } from '../platform/process.js';
import { CHECK_DOWN_FILE, WATCH_BEAT_FILE } from '../state/files.js';
import { isolationProber, logRound, realCheckMysqlIo } from './check-mysql-main.js';
import { EXIT, type ExitCode } from './exit-codes.js';

// Slack after check.deadlineMs before a round that has not ended ends the process (systemd starts a new one).
const ROUND_WATCHDOG_GRACE_MS = 1000;
// How long a stop waits for the log to flush.
const LOG_CLOSE_MS = 2000;
// The semi-sync guard reads and acts, and the isolation guard's answer holds, at check-mysql's cadence: every round
// would add two queries and a COM_PING (or a login) on the peer for nothing.
const GUARD_EVERY_MS = 1000;

export async function watchMain(opts: { config: string }): Promise<ExitCode> {
  const node = loadNodeConfig(opts.config);
  if (node.mode !== 'semisync-pair') throw new AppError('CONFIG_INVALID', `${opts.config}: watch is for mode semisync-pair; a group-replication node keeps check-mysql --role`);
  const config: Config = node;
  const { createFileLogger } = await import('../log/winston-logger.js');
  const log = createFileLogger({ logDir: config.paths.logDir, stem: 'watch', base: { command: 'watch', node: config.node.name, pid: process.pid } });
  const stop = new AbortController();
  const untrap = onTerminate((s) => {
    log.info(`${s}: stopping after this round; check.down keeps its value and check-mysql (the vrrp_script) goes on checking`);
    stop.abort();
  });
  const sessions: WatchSessions = { local: keptConnector(mysql2Connector), peer: keptLoginProbe(mysql2Connector) };
  const trackPath = join(config.paths.stateDir, CHECK_DOWN_FILE);
  const beatPath = join(config.paths.stateDir, WATCH_BEAT_FILE);
  try {
    refuseSecondWatcher(beatPath, config);
    await writeFileAtomic(beatPath, `${JSON.stringify({ pid: process.pid, since: new Date().toISOString(), intervalMs: config.check.watch.intervalMs })}\n`);
    const initial = readTrack(trackPath);
    log.info(`watching every ${config.check.watch.intervalMs} ms; ${CHECK_DOWN_FILE} holds ${initial ?? 'nothing yet'}`, { deadlineMs: config.check.deadlineMs, retries: config.check.retries, retryIntervalMs: config.check.retryIntervalMs });
    await watchLoop(config, initial, watchPorts(config, opts.config, sessions, log, { trackPath, beatPath }), stop.signal);
    log.info('stopped');
    return EXIT.OK;
  } finally {
    untrap();
    sessions.local.drop();
    sessions.peer.drop();
    await log.close(LOG_CLOSE_MS);
  }
}

/** The sessions a watcher keeps between rounds: to the local MySQL, and the isolation guard's to the peer's. */
export interface WatchSessions {
  readonly local: KeptConnector;
  readonly peer: KeptLoginProbe;
}

/** The watcher's real side effects (bench/check-mysql.ts measures a round through these). */
export function watchPorts(config: Config, configPath: string, sessions: WatchSessions, log: Logger, paths: { trackPath: string; beatPath: string }): WatchPorts {
  const target = mysqlTarget(config);
  let guardReadAt = -Infinity;
  const health: HealthDeps = {
    ...realCheckMysqlIo.health(config),
    connector: sessions.local,
    ask: 'COM_PING',
    isolation: heldWhileAnswered(isolationProber(isolationEndpoints(config), sessions.peer.probe), systemClock, GUARD_EVERY_MS),
    readLocal: async (client, signal) => {
      if (Date.now() - guardReadAt < GUARD_EVERY_MS) return undefined;
      guardReadAt = Date.now();
      return readLocalGuard(client, signal);
    },
  };
  const io: RoundIo = { ...realCheckMysqlIo, health: () => health };
  return {
    clock: systemClock,
    round: async (run) => {
      const cancel = installWatchdog(config.check.deadlineMs + ROUND_WATCHDOG_GRACE_MS, EXIT.DEADLINE, () => {
        process.stderr.write(`watch: a round outlived check.deadlineMs (${config.check.deadlineMs} ms); exiting for systemd to restart\n`);
      });
      try {
        const r = await checkRound(config, configPath, target, io, run, () => true);
        if (r.guard.action !== 'none' || r.rejoin === 'requested') logRound(log, config, r);
        return r;
      } finally {
        cancel();
      }
    },
    record: (entry) => realCheckMysqlIo.record(config, entry),
    writeTrack: (value) => writeFileAtomic(paths.trackPath, `${value}\n`),
    beat: () => touch(paths.beatPath),
    log,
    who: () => ({ node: config.node.name, pid: process.pid, at: new Date().toISOString() }),
  };
}

// One watcher per state dir: a second would race the first on check.down. A dead one's pid is free at once.
function refuseSecondWatcher(beatPath: string, config: Config): void {
  let pid: number;
  try {
    pid = Number((JSON.parse(readFileSync(beatPath, 'utf8')) as { pid?: unknown }).pid);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid === process.pid || !beatIsFresh(statSync(beatPath, { throwIfNoEntry: false })?.mtimeMs, Date.now(), config.check)) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return;
  }
  if (/keepalived-mysql.* watch/.test(cmdline)) throw new AppError('LOCK_BUSY', `another keepalived-mysql watch (pid ${pid}) beats in ${beatPath}`);
}

function readTrack(path: string): TrackValue | undefined {
  try {
    const v = readFileSync(path, 'utf8').trim();
    return v === '0' || v === '1' ? v : undefined;
  } catch {
    return undefined;
  }
}

// Only the mtime moves: no write, no fsync, every round.
function touch(path: string): void {
  const now = new Date();
  try {
    utimesSync(path, now, now);
  } catch {
    closeSync(openSync(path, 'a'));
  }
}
