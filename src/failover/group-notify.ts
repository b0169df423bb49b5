import type { VipInstance } from '../config/group-replication.js';
import type { GroupReplicationConfig } from '../config/schema.js';
import { AppError } from '../errors.js';
import type { Logger } from '../log/types.js';
import { describeMysqlError } from '../mysql/errors.js';
import { killConnection, processList, showStatement } from '../mysql/queries.js';
import type { Row, SqlClient, SqlConnector } from '../mysql/types.js';
import { withSignal } from '../platform/deadline.js';
import { canonicalIp } from '../platform/ip.js';
import type { TcpConnection } from '../platform/tcp-table.js';
import { mysqlTarget } from '../mysql/targets.js';
import type { TargetState } from './transition.js';
import { sessionsThroughVip, type SessionRow } from './vip-sessions.js';

/** notify's side effects in mode group-replication, as ports. */
export interface GroupNotifyPorts {
  readonly sql: SqlConnector;
  readonly log: Logger;
  /** Open TCP connections on this local port (the kernel's socket table). */
  readonly tcpConnections: (port: number) => readonly TcpConnection[];
  /** Addresses on this host's interfaces now (canonical). */
  readonly localAddresses: () => readonly string[];
  /** Dry run: each KILL goes here as a line and nothing is executed. */
  readonly plan?: (line: string) => void;
}

// MGR elects and keepalived moves the VIP: on losing a VIP only the sessions that came in through it are ended
// (seed 002), so pools reconnect to whoever holds it now. Nothing is ever promoted or demoted here.
export async function handleGroupTransition(state: TargetState, instances: readonly VipInstance[], config: GroupReplicationConfig,
  ports: GroupNotifyPorts, signal: AbortSignal): Promise<void> {
  const { log } = ports;
  if (state === 'MASTER') {
    for (const i of instances) {
      log.info(`${i.name}: MASTER: ${i.vip} (${i.role}) is on this node; keepalived sends the gratuitous ARP (garp_master_* in keepalived.conf); MGR elects the primary, nothing to promote`, { instance: i.name, vip: i.vip });
    }
    return;
  }
  if (!config.notify.killClientConnections) {
    log.info(`${state}: notify.killClientConnections is off: sessions through ${instances.map((i) => i.vip).join(', ')} are left alone`);
    return;
  }
  const here = new Set(ports.localAddresses());
  const releasing = instances.filter((i) => {
    if (!here.has(canonicalIp(i.vip))) return true;
    log.warn(`${i.name}: ${state}, but ${i.vip} is on this node again (keepalived took it back): its sessions are left alone`, { instance: i.name, vip: i.vip });
    return false;
  });
  if (releasing.length === 0) return;

  let client: SqlClient;
  try {
    client = await withSignal(ports.sql.connect(mysqlTarget(config), signal), signal, 'connecting to the local MySQL');
  } catch (err) {
    throw new AppError('MYSQL_UNREACHABLE', `cannot reach the local MySQL to end sessions through ${releasing.map((i) => i.vip).join(', ')}: ${describeMysqlError(err)}`, { cause: err });
  }
  try {
    const sessions = await readSessions(client, signal);
    const connections = ports.tcpConnections(config.mysql.port);
    for (const i of releasing) {
      const plan = sessionsThroughVip({
        vip: i.vip, mysqlPort: config.mysql.port, connections, sessions,
        keep: { ownThreadId: client.threadId, users: [config.mysql.user] },
      });
      log.info(`${i.name}: ${state}: ${plan.kill.length} client session(s) came in through ${i.vip}:${config.mysql.port}`,
        { instance: i.name, vip: i.vip, ids: plan.kill.map((k) => k.id) });
      for (const s of plan.unattributed) {
        log.warn(`${i.name}: session ${s.id} (${s.user}@${s.host}) cannot be tied to a socket: its HOST is a name; set skip_name_resolve=ON`, { instance: i.name, id: s.id });
      }
      for (const k of plan.kill) {
        log.info(`${i.name}: ending session ${k.id} (${k.user}@${k.host}): ${k.why}`, { instance: i.name, id: k.id });
        await kill(client, k.id, ports, signal, config.mysql.queryTimeoutMs);
      }
    }
  } finally {
    client.close();
  }
}

async function kill(client: SqlClient, id: number, ports: GroupNotifyPorts, signal: AbortSignal, timeoutMs: number): Promise<void> {
  const s = killConnection(id);
  if (ports.plan) {
    ports.plan(`  local: ${showStatement(s)}`);
    return;
  }
  try {
    await client.execute(s.sql, s.params, { signal, timeoutMs });
  } catch (err) {
    // ER_NO_SUCH_THREAD: the session ended by itself between the list and the kill.
    if ((err as { errno?: number }).errno !== 1094) throw err;
  }
}

async function readSessions(client: SqlClient, signal: AbortSignal): Promise<SessionRow[]> {
  const s = processList();
  const rows = await client.query<Row>(s.sql, s.params, { signal });
  return rows.map((r) => ({ id: Number(r['id']), user: String(r['user'] ?? ''), host: String(r['host'] ?? ''), command: String(r['command'] ?? '') }));
}
