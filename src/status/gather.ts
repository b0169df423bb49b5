import type { Config } from '../config/schema.js';
import { describeError } from '../errors.js';
import { mysqlTarget, peerMysqlTarget } from '../mysql/targets.js';
import type { MysqlTarget, SqlConnector } from '../mysql/types.js';
import { deadline, withSignal } from '../platform/deadline.js';
import type { PeerFilesConnector } from '../ssh/types.js';
import { compareGtids, readNode, type NodeRead, type PeerGtidSource } from './collect.js';
import { judgePair, type NodeView, type PairStatus, type StateFilesView, type VipView } from './model.js';
import { parseStateTexts, readLocalStateTexts, readPeerStateTexts } from './state-files.js';

/** The outside world of `status`; the CLI passes real adapters. */
export interface StatusPorts {
  readonly sql: SqlConnector;
  /** Loaded only when the peer's MySQL does not answer. */
  readonly peerFiles: () => Promise<PeerFilesConnector>;
  /** Addresses on this host's interfaces. */
  readonly localAddresses: () => readonly string[];
  readonly keepalived: () => { running: boolean; detail: string };
  readonly now: () => Date;
}

// Reads both nodes at once (the peer's files over SSH only when its MySQL does not answer) and judges the pair.
export async function gatherStatus(config: Config, vipAddress: string | null, ports: StatusPorts, parent: AbortSignal): Promise<PairStatus> {
  const local = mysqlTarget(config);
  const peer = peerMysqlTarget(config);
  const budget = local.connectTimeoutMs + 4 * local.queryTimeoutMs;
  const signal = deadline(budget, parent);
  const attempt = (t: typeof local): Promise<NodeRead | string> =>
    readNode(ports.sql, t, deadline(budget, signal)).catch((err: unknown) => describeError(err));
  const vipLocal = vipAddress !== null && ports.localAddresses().includes(vipAddress);
  const [localRead, peerRead, vipAnswer] = await Promise.all([
    attempt(local),
    attempt(peer),
    vipAddress !== null && !vipLocal ? whoAnswers(ports.sql, { ...peer, host: vipAddress }, signal) : Promise.resolve(undefined),
  ]);

  const localFiles = parseStateTexts(readLocalStateTexts(config.paths.stateDir), config.paths.stateDir);
  const peerErrors: string[] = typeof peerRead === 'string' ? [`MySQL: ${peerRead}`] : [];
  let peerFiles: StateFilesView = {};
  if (typeof peerRead === 'string') {
    try {
      const files = await withSignal(ports.peerFiles().then((c) => c.connect(config.peer.host, config.peer.ssh, parent)), parent, 'SSH to the peer');
      try {
        peerFiles = parseStateTexts(await readPeerStateTexts(files, config.peer.stateDir, parent), `${config.peer.host}:${config.peer.stateDir}`);
      } finally {
        files.close();
      }
    } catch (err) {
      peerErrors.push(`SSH: ${describeError(err)}`);
    }
  }
  const sshRead = typeof peerRead === 'string' && peerErrors.length === 1;

  const localView: NodeView = {
    name: config.node.name, host: local.socketPath ?? local.host, port: local.port,
    source: typeof localRead === 'string' ? 'none' : 'mysql',
    mysql: typeof localRead === 'string' ? null : localRead.view,
    errors: typeof localRead === 'string' ? [`MySQL: ${localRead}`] : [],
    files: localFiles,
    keepalived: ports.keepalived(),
    ...(vipAddress !== null ? { vipLocal } : {}),
  };
  const peerView: NodeView = {
    name: config.peer.name, host: peer.host, port: peer.port,
    source: typeof peerRead !== 'string' ? 'mysql' : sshRead ? 'ssh' : 'none',
    mysql: typeof peerRead === 'string' ? null : peerRead.view,
    errors: peerErrors,
    files: peerFiles,
  };
  const vip = vipView(vipAddress, vipLocal, vipAnswer, peerView);
  const errant = await compareGtids(typeof localRead === 'string' ? undefined : localRead, peerGtids(peerRead, peerFiles),
    () => ports.sql.connect(local, signal), signal);
  const judged = judgePair({ vip, local: localView, peer: peerView, errant });
  return { v: 1, at: ports.now().toISOString(), ...judged, vip, local: localView, peer: peerView, errant };
}

function peerGtids(read: NodeRead | string, files: StateFilesView): PeerGtidSource | undefined {
  if (typeof read !== 'string') {
    return { from: 'mysql', position: read.view.gtidPosition, ...(read.view.gtidBinlogState !== undefined ? { binlogState: read.view.gtidBinlogState } : {}) };
  }
  const p = files.position;
  if (p === undefined) return undefined;
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const binlogState = str(p['gtidBinlogState']);
  const position = str(p['gtidBinlogPos']);
  return { from: 'position.json', ...(binlogState !== undefined ? { binlogState } : {}), ...(position !== undefined ? { position } : {}) };
}

// Which server answers MySQL on the VIP (when it is not on this host): its server_id, or why nothing answered.
async function whoAnswers(sql: SqlConnector, target: MysqlTarget, signal: AbortSignal): Promise<number | string> {
  try {
    const client = await sql.connect(target, signal);
    try {
      const [row] = await client.query('SELECT @@server_id AS id', [], { signal });
      return Number(row?.['id']);
    } finally {
      client.close();
    }
  } catch (err) {
    return describeError(err);
  }
}

function vipView(address: string | null, local: boolean, answer: number | string | undefined, peer: NodeView): VipView {
  if (address === null) return { address: null, holder: null, detail: 'no VIP configured (heal.vip, or virtual_ipaddress in keepalived.confFile)' };
  if (local) return { address, holder: 'local', detail: `${address} is on a local interface` };
  if (typeof answer === 'string') return { address, holder: 'none', detail: `${address} is not local and nothing answers MySQL on it: ${answer}` };
  if (peer.mysql !== null && answer === peer.mysql.serverId) return { address, holder: 'peer', detail: `${address} answers as ${peer.name} (server_id ${answer})` };
  return { address, holder: 'unknown', detail: `${address} is not local and answers as server_id ${String(answer)}` };
}
