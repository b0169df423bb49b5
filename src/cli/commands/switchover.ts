import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { AppError, describeError } from '../../errors.js';
import {
  decideSwitchover, executeSwitchover, renderSwitchover, WEIGHT_FILE, type NodeReading, type Side, type SwitchoverPorts, type SwitchoverReading,
} from '../../failover/switchover.js';
import { localStateDirReader, peerStateDirReader, readNotifyActivity, type NotifyActivity } from '../../failover/notify-activity.js';
import { appendTransition } from '../../history/transitions.js';
import { KEEPALIVED_COMM } from '../../keepalived/pidfile.js';
import { createFileLogger } from '../../log/winston-logger.js';
import { mysql2Connector } from '../../mysql/mysql2-client.js';
import { mysqlTarget, peerMysqlTarget } from '../../mysql/targets.js';
import { writeFileAtomic } from '../../platform/atomic-write.js';
import { systemClock } from '../../platform/clock.js';
import { deadline } from '../../platform/deadline.js';
import { compareGtids, readNode, type NodeRead } from '../../status/collect.js';
import type { PeerFiles } from '../../ssh/types.js';
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
  const signal = deadline(deadlineMs);
  const peerFiles = lazyPeerFiles(config, signal);
  try {
    const reading = await readPair(config, peerFiles.get, signal);
    const decision = decideSwitchover(reading, { maxLagS, waitMs: deadlineMs, waitReplicating: opts.wait === true });
    if (opts.dryRun === true) {
      io.stdout(`switchover plan on ${config.node.name}:\n${renderSwitchover(decision).join('\n')}\n`);
      return decision.kind === 'go' ? EXIT.OK : EXIT.REFUSED;
    }
    if (decision.kind === 'refuse') throw new AppError('SWITCHOVER_REFUSED', `switchover refused: ${decision.reasons.join('; ')}`);
    const log = createFileLogger({ logDir: config.paths.logDir, stem: 'switchover', base: { pid: process.pid }, alsoStderr: false });
    const names = { local: config.node.name, peer: config.peer.name };
    try {
      log.info(`switchover decided: ${names[decision.master]} → ${names[decision.target]}`, { steps: decision.steps.map((s) => s.kind) });
      const started = Date.now();
      await executeSwitchover(decision, { id: randomUUID(), node: config.node.name }, realPorts(config, peerFiles.get, log), signal);
      io.stdout(`switchover: ${names[decision.target]} is the master (${Date.now() - started} ms), ${names[decision.master]} ` +
        `${opts.wait === true ? 'replicates from it' : 'rejoins as BACKUP'}\n`);
      return EXIT.OK;
    } finally {
      await log.close(1000);
    }
  } finally {
    peerFiles.close();
  }
}

// One SFTP session to the peer, opened only when a step needs it.
function lazyPeerFiles(config: Config, signal: AbortSignal): { get: () => Promise<PeerFiles>; close: () => void } {
  let files: Promise<PeerFiles> | undefined;
  return {
    get: () => (files ??= import('../../ssh/ssh2-peer-files.js').then((m) => m.ssh2PeerFilesConnector.connect(config.peer.host, config.peer.ssh, signal))),
    close: () => void files?.then((f) => f.close(), () => undefined),
  };
}

async function readPair(config: Config, peerFiles: () => Promise<PeerFiles>, signal: AbortSignal): Promise<SwitchoverReading> {
  const read = (target: Parameters<typeof readNode>[1]): Promise<NodeRead | string> =>
    readNode(mysql2Connector, target, signal).catch((err: unknown) => describeError(err));
  const notify = (reader: () => Promise<Parameters<typeof readNotifyActivity>[0]>): Promise<NotifyActivity | string> =>
    reader().then((r) => readNotifyActivity(r, Date.now())).catch((err: unknown) => describeError(err));
  const [local, peer, peerKeepalived, localNotify, peerNotify] = await Promise.all([
    read(mysqlTarget(config)), read(peerMysqlTarget(config)), remoteKeepalived(config, signal),
    notify(async () => localStateDirReader(config.paths.stateDir)),
    notify(async () => peerStateDirReader(await peerFiles(), config.peer.stateDir, signal)),
  ]);
  const node = (name: string, r: NodeRead | string, keepalived: NodeReading['keepalived'], n: NotifyActivity | string): NodeReading =>
    typeof r === 'string' ? { name, unreachable: r, keepalived, notify: n } : { name, mysql: r.view, keepalived, notify: n };
  // Under writes the master moves on: read it again after the replica, so whatever the replica holds from it is in that read.
  const again = async (r: NodeRead | string, target: Parameters<typeof readNode>[1]): Promise<NodeRead | string> =>
    typeof r !== 'string' && r.view.writable ? read(target) : r;
  const [l, p] = [await again(local, mysqlTarget(config)), await again(peer, peerMysqlTarget(config))];
  const errant = await compareGtids(typeof l === 'string' ? undefined : l, typeof p === 'string' ? undefined : {
    ...(p.view.gtidBinlogState !== undefined ? { binlogState: p.view.gtidBinlogState } : {}), position: p.view.gtidPosition, from: 'mysql',
  }, () => mysql2Connector.connect(mysqlTarget(config), signal), signal);
  return {
    local: node(config.node.name, local, keepalivedAlive(config), localNotify),
    peer: node(config.peer.name, peer, peerKeepalived, peerNotify),
    errant,
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

function realPorts(config: Config, peerFiles: () => Promise<PeerFiles>, log: SwitchoverPorts['log']): SwitchoverPorts {
  const targets: Record<Side, ReturnType<typeof mysqlTarget>> = { local: mysqlTarget(config), peer: peerMysqlTarget(config) };
  return {
    clock: systemClock,
    log,
    readMysql: async (on, signal) => (await readNode(mysql2Connector, targets[on], signal)).view,
    setWeight: async (on, value, signal) => {
      log.info(`${WEIGHT_FILE} = ${value} on ${on === 'local' ? config.node.name : config.peer.name}`);
      if (on === 'local') return writeFileAtomic(join(config.paths.stateDir, WEIGHT_FILE), `${value}\n`);
      return (await peerFiles()).writeStateFile(config.peer.stateDir, WEIGHT_FILE, `${value}\n`, signal);
    },
    record: (r) => appendTransition(config.paths.stateDir, r),
  };
}
