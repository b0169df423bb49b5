import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { AppError, describeError } from '../../errors.js';
import {
  decideSwitchover, executeSwitchover, renderSwitchover, switchoverBudgetMs, type NodeReading, type Side, type SwitchoverPorts,
  type SwitchoverReading,
} from '../../failover/switchover.js';
import { fenceOn } from '../../failover/execute.js';
import { fence } from '../../failover/plans.js';
import { StepRunner } from '../../failover/steps.js';
import { localStateDirReader, peerStateDirReader, readNotifyActivity, type NotifyActivity } from '../../failover/notify-activity.js';
import { appendTransition } from '../../history/transitions.js';
import { KEEPALIVED_COMM } from '../../keepalived/pidfile.js';
import { createFileLogger } from '../../log/winston-logger.js';
import { detectDialect } from '../../mysql/dialect.js';
import { mysql2Connector } from '../../mysql/mysql2-client.js';
import { mysqlTarget, peerMysqlTarget } from '../../mysql/targets.js';
import { writeFileAtomic } from '../../platform/atomic-write.js';
import { systemClock } from '../../platform/clock.js';
import { deadline } from '../../platform/deadline.js';
import { compareGtids, readNode, type NodeRead } from '../../status/collect.js';
import type { MysqlTarget } from '../../mysql/types.js';
import type { PeerFiles } from '../../ssh/types.js';
import type { ErrantView } from '../../status/model.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { keepalivedAlive } from './status.js';

export interface SwitchoverOptions {
  readonly config: string;
  readonly dryRun?: boolean;
  readonly wait?: boolean;
  readonly deadlineMs: string;
  readonly maxLagS: string;
}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new AppError('USAGE', `${flag} ${text}: expected a non-negative integer`);
  return n;
}

// `keepalived-mysql switchover [--dry-run] [--wait] [--deadline-ms N] [--max-lag-s N]`: move the master role to the other node.
export async function switchoverMain(opts: SwitchoverOptions, io: { stdout(text: string): void }): Promise<ExitCode> {
  const deadlineMs = positiveInt('--deadline-ms', opts.deadlineMs);
  const maxLagS = positiveInt('--max-lag-s', opts.maxLagS);
  const config = loadConfig(opts.config);
  const peer = peerSession(config);
  try {
    const reading = await readPair(config, peer, deadline(deadlineMs));
    const decision = decideSwitchover(reading, { maxLagS, waitMs: deadlineMs, waitReplicating: opts.wait === true });
    if (opts.dryRun === true) {
      io.stdout(`switchover plan on ${config.node.name}:\n${renderSwitchover(decision).join('\n')}\n`);
      return decision.kind === 'go' ? EXIT.OK : EXIT.REFUSED;
    }
    if (decision.kind === 'refuse') throw new AppError('SWITCHOVER_REFUSED', `switchover refused: ${decision.reasons.join('; ')}`);
    const log = createFileLogger({ logDir: config.paths.logDir, stem: 'switchover', base: { pid: process.pid }, alsoStderr: false });
    const names = { local: config.node.name, peer: config.peer.name };
    try {
      log.info(`switchover decided: ${names[decision.master]} → ${names[decision.target]}`, { plan: renderSwitchover(decision) });
      const started = Date.now();
      const ports = realPorts(config, peer, log);
      await executeSwitchover(decision, { id: randomUUID(), node: config.node.name }, ports, deadline(switchoverBudgetMs(decision.plan, ports.stepMs)));
      io.stdout(`switchover: ${names[decision.target]} is the master (${Date.now() - started} ms), ${names[decision.master]} ` +
        `${opts.wait === true ? 'replicates from it' : 'rejoins as BACKUP'}\n`);
      return EXIT.OK;
    } finally {
      await log.close(1000);
    }
  } finally {
    peer.close();
  }
}

/** One SFTP session to the peer, opened when first needed and again after a call on it failed (a dropped link). */
interface PeerSession {
  use<T>(fn: (files: PeerFiles) => Promise<T>): Promise<T>;
  close(): void;
}

function peerSession(config: Config): PeerSession {
  let files: Promise<PeerFiles> | undefined;
  const connect = (): Promise<PeerFiles> => import('../../ssh/ssh2-peer-files.js')
    .then((m) => m.ssh2PeerFilesConnector.connect(config.peer.host, config.peer.ssh, AbortSignal.timeout(config.peer.ssh.connectTimeoutMs)));
  return {
    async use(fn) {
      const current = (files ??= connect());
      try {
        return await fn(await current);
      } catch (err) {
        if (files === current) files = undefined;
        void current.then((f) => f.close(), () => undefined);
        throw err;
      }
    },
    close: () => void files?.then((f) => f.close(), () => undefined),
  };
}

// GTIDs each node has that the other lacks, from the local side (status's comparison).
async function compareNodes(config: Config, local: NodeRead | string, peer: NodeRead | string, signal: AbortSignal): Promise<ErrantView> {
  return compareGtids(typeof local === 'string' ? undefined : local, typeof peer === 'string' ? undefined : {
    ...(peer.view.gtidBinlogState !== undefined ? { binlogState: peer.view.gtidBinlogState } : {}), position: peer.view.gtidPosition, from: 'mysql',
  }, () => mysql2Connector.connect(mysqlTarget(config), signal), signal);
}

const readOrWhy = (target: MysqlTarget, signal: AbortSignal): Promise<NodeRead | string> =>
  readNode(mysql2Connector, target, signal).catch((err: unknown) => describeError(err));

async function readPair(config: Config, peerFiles: PeerSession, signal: AbortSignal): Promise<SwitchoverReading> {
  const read = (target: MysqlTarget): Promise<NodeRead | string> => readOrWhy(target, signal);
  const notify = (activity: Promise<NotifyActivity>): Promise<NotifyActivity | string> => activity.catch((err: unknown) => describeError(err));
  const [local, peer, peerKeepalived, localNotify, peerNotify] = await Promise.all([
    read(mysqlTarget(config)), read(peerMysqlTarget(config)), remoteKeepalived(config, signal),
    notify(readNotifyActivity(localStateDirReader(config.paths.stateDir), Date.now())),
    notify(peerFiles.use((f) => readNotifyActivity(peerStateDirReader(f, config.peer.stateDir, signal), Date.now()))),
  ]);
  const node = (name: string, r: NodeRead | string, keepalived: NodeReading['keepalived'], n: NotifyActivity | string): NodeReading =>
    typeof r === 'string' ? { name, unreachable: r, keepalived, notify: n } : { name, mysql: r.view, keepalived, notify: n };
  // Under writes the master moves on: read it again after the replica, so whatever the replica holds from it is in that read.
  const again = async (r: NodeRead | string, target: MysqlTarget): Promise<NodeRead | string> =>
    typeof r !== 'string' && r.view.writable ? read(target) : r;
  const [l, p] = [await again(local, mysqlTarget(config)), await again(peer, peerMysqlTarget(config))];
  return {
    local: node(config.node.name, local, keepalivedAlive(config), localNotify),
    peer: node(config.peer.name, peer, peerKeepalived, peerNotify),
    errant: await compareNodes(config, l, p, signal),
  };
}

// The peer's keepalived: its pid file names a live process called keepalived.
async function remoteKeepalived(config: Config, signal: AbortSignal): Promise<NodeReading['keepalived']> {
  const pidFile = config.peer.keepalivedPidFile;
  try {
    const { ssh2RemoteShellConnector } = await import('../../ssh/ssh2-peer-files.js');
    const shell = await ssh2RemoteShellConnector.connect(config.peer.host, config.peer.ssh, signal);
    try {
      const out = async (argv: string[]): Promise<string> => {
        const chunks: Buffer[] = [];
        await shell.run(argv, new Writable({ write: (c: Buffer, _e, cb) => { chunks.push(c); cb(); } }), signal);
        return Buffer.concat(chunks).toString('utf8').trim();
      };
      const pid = await out(['cat', pidFile]);
      if (!/^\d+$/.test(pid)) return { running: false, detail: `${pidFile} on ${config.peer.name} holds no pid` };
      const comm = await out(['cat', `/proc/${pid}/comm`]).catch(() => '');
      return comm === KEEPALIVED_COMM ? { running: true, detail: `pid ${pid}` }
        : { running: false, detail: `pid ${pid} from ${pidFile} is ${comm === '' ? 'not running' : comm}` };
    } finally {
      shell.close();
    }
  } catch (err) {
    return { running: false, detail: `cannot tell over SSH: ${describeError(err)}` };
  }
}

function realPorts(config: Config, peer: PeerSession, log: SwitchoverPorts['log']): SwitchoverPorts {
  const targets: Record<Side, MysqlTarget> = { local: mysqlTarget(config), peer: peerMysqlTarget(config) };
  const names: Record<Side, string> = { local: config.node.name, peer: config.peer.name };
  const ssh = config.peer.ssh;
  return {
    clock: systemClock,
    log,
    // A call over SFTP on a session opened afresh, or both servers read.
    stepMs: Math.max(ssh.connectTimeoutMs + ssh.commandTimeoutMs, config.mysql.connectTimeoutMs + 6 * config.mysql.queryTimeoutMs),
    readMysql: async (on, signal) => (await readNode(mysql2Connector, targets[on], signal)).view,
    readNotify: (on, signal) => (on === 'local' ? readNotifyActivity(localStateDirReader(config.paths.stateDir), Date.now())
      : peer.use((f) => readNotifyActivity(peerStateDirReader(f, config.peer.stateDir, signal), Date.now()))),
    compareGtids: async (signal) => {
      const [l, p] = await Promise.all([readOrWhy(targets.local, signal), readOrWhy(targets.peer, signal)]);
      return compareNodes(config, l, p, signal);
    },
    fence: async (on, signal) => {
      const client = await mysql2Connector.connect(targets[on], signal);
      try {
        const step = fence(config, await detectDialect(client, signal), on === 'local' ? 'fence-local' : 'fence-old-master', names[on]);
        await fenceOn({ config, steps: new StepRunner({ clock: systemClock, log }), ports: { log, clock: systemClock } }, client, step, signal);
      } finally {
        client.close();
      }
    },
    setTrackFile: async (on, file, value, signal) => {
      log.info(`${file} = ${value} on ${names[on]}`);
      if (on === 'local') return writeFileAtomic(join(config.paths.stateDir, file), `${value}\n`);
      return peer.use((f) => f.writeStateFile(config.peer.stateDir, file, `${value}\n`, signal));
    },
    record: (r) => appendTransition(config.paths.stateDir, r),
  };
}
