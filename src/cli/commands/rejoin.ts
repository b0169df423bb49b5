import { access, constants, mkdir } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { DEFAULT_CONFIG_PATH, type Config } from '../../config/schema.js';
import { AppError } from '../../errors.js';
import { POSITION_RECORD_FILE } from '../../failover/position-record.js';
import { fileRequestStore, NOTIFY_LOCK } from '../../failover/request-store.js';
import type { RejoinMethod } from '../../heal/plan.js';
import { createRebuilder } from '../../heal/rebuild.js';
import { runRejoin, type RejoinPorts } from '../../heal/rejoin.js';
import type { Logger } from '../../log/types.js';
import { createFileLogger } from '../../log/winston-logger.js';
import { createBinlogTools } from '../../mysql/binlog-applier.js';
import { mysql2Connector } from '../../mysql/mysql2-client.js';
import { mysqlTarget as localTarget } from '../../mysql/targets.js';
import { writeFileAtomic } from '../../platform/atomic-write.js';
import { systemClock } from '../../platform/clock.js';
import { deadline } from '../../platform/deadline.js';
import { fileLock } from '../../platform/lock.js';
import { pollUntil } from '../../platform/poll.js';
import { ssh2RemoteShellConnector } from '../../ssh/ssh2-peer-files.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

export interface RejoinCliOptions {
  config?: string;
  dryRun?: boolean;
  method?: string;
}

const METHODS: readonly RejoinMethod[] = ['auto', 'flashback', 'rebuild'];

// Why this node holds the VIP: the address on a local interface, or keepalived's last request here was MASTER.
async function holdsVip(config: Config): Promise<string | undefined> {
  const vip = config.heal.vip;
  if (vip !== undefined) {
    for (const [name, addrs] of Object.entries(networkInterfaces())) {
      if (addrs?.some((a) => a.address === vip)) return `${vip} is on ${name}`;
    }
  }
  const latest = await fileRequestStore(config.paths.stateDir).latest();
  return latest?.state === 'MASTER' ? `keepalived's latest request to this node (${latest.requestedAt}) is MASTER` : undefined;
}

// The local half of a rebuild: programs that must be on PATH.
async function missingTools(names: readonly string[]): Promise<string[]> {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  const found = async (n: string): Promise<boolean> => {
    for (const d of dirs) if (await access(join(d, n), constants.X_OK).then(() => true, () => false)) return true;
    return false;
  };
  const missing: string[] = [];
  for (const n of names) if (!(await found(n))) missing.push(n);
  return missing;
}

/** The real adapters of `rejoin`; notify's BACKUP can pass the same to runRejoin (onlyIfProvenSafe) for the automatic heal. */
export async function realRejoinPorts(config: Config, log: Logger): Promise<RejoinPorts> {
  const missing = await missingTools(['mbstream', 'mariadb-backup']);
  return {
    sql: mysql2Connector,
    log,
    clock: systemClock,
    binlogTools: createBinlogTools({ dir: config.paths.stateDir, target: localTarget(config) }),
    rebuild: missing.length > 0 ? { blocked: `${missing.join(' and ')} not installed here (apt-get install mariadb-backup)` } : {
      rebuilder: createRebuilder({
        heal: config.heal, peerHost: config.peer.host, ssh: config.peer.ssh, remote: ssh2RemoteShellConnector, log,
        now: () => new Date(),
        waitLocalUp: async (signal) => {
          const up = await pollUntil({
            clock: systemClock, signal, deadlineMs: Infinity, firstDelayMs: 200,
            read: (s) => mysql2Connector.connect(localTarget(config), s).then((c) => { c.close(); return true; }, () => false),
            settled: (ok) => ok,
          });
          if (!up.settled) throw new AppError('MYSQL_UNREACHABLE', 'the local mysqld did not accept connections');
        },
      }),
    },
    holdsVip: () => holdsVip(config),
    writePosition: (record) => writeFileAtomic(join(config.paths.stateDir, POSITION_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`),
  };
}

// `keepalived-mysql rejoin [--dry-run] [--method auto|flashback|rebuild] [--config PATH]`
export async function rejoinMain(opts: RejoinCliOptions): Promise<ExitCode> {
  const method = (opts.method ?? 'auto') as RejoinMethod;
  if (!METHODS.includes(method)) throw new AppError('USAGE', `--method ${opts.method}: expected one of ${METHODS.join(', ')}`);
  const config = loadConfig(resolve(opts.config ?? DEFAULT_CONFIG_PATH));
  const log = createFileLogger({ logDir: config.paths.logDir, stem: 'rejoin', base: { pid: process.pid }, alsoStderr: !opts.dryRun });
  const ports = await realRejoinPorts(config, log);
  const run = (): Promise<unknown> => runRejoin(config, ports, {
    method, dryRun: opts.dryRun === true, print: (l) => void process.stdout.write(`${l}\n`),
  }, deadline(config.heal.deadlineMs));
  try {
    if (opts.dryRun) {
      await run();
      return EXIT.OK;
    }
    await mkdir(config.paths.stateDir, { recursive: true });
    // notify's own lock: a keepalived transition and a rejoin never run at once.
    const held = await fileLock(join(config.paths.stateDir, NOTIFY_LOCK.name), { staleMs: NOTIFY_LOCK.staleMs }).tryAcquire();
    if (!held) throw new AppError('LOCK_BUSY', 'a keepalived transition (notify) is running on this node: try again when it ends');
    try {
      await run();
    } finally {
      await held.release();
    }
    return EXIT.OK;
  } catch (err) {
    log.error(`rejoin: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  } finally {
    await log.close(1000);
  }
}
