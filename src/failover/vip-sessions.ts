import { isIP } from 'node:net';
import { canonicalIp } from '../platform/ip.js';
import type { TcpConnection } from '../platform/tcp-table.js';
import { clientConnectionsToKill, type ProcessRow } from './plans.js';

/** A PROCESSLIST row with its HOST: "client-ip:client-port" over TCP, "localhost" over the unix socket. */
export interface SessionRow extends ProcessRow {
  readonly host: string;
}

export interface VipSessionKill {
  readonly id: number;
  readonly user: string;
  readonly host: string;
  /** How the session was tied to the VIP (for the log). */
  readonly why: string;
}

export interface VipSessionsPlan {
  readonly kill: readonly VipSessionKill[];
  /** Client sessions whose HOST is a resolved name that cannot be tied to one socket: left alone, logged. */
  readonly unattributed: readonly SessionRow[];
}

/**
 * The client sessions that came in through `vip`. PROCESSLIST shows only the client's address; the kernel's socket
 * table has both ends: a server socket whose local address is the VIP belongs to a session whose HOST is that
 * socket's remote ip:port. Replication, system threads, our own connection and the toolkit's accounts are kept.
 */
export function sessionsThroughVip(input: {
  readonly vip: string;
  readonly mysqlPort: number;
  /** Open TCP connections whose local port is mysqlPort, any local address. */
  readonly connections: readonly TcpConnection[];
  readonly sessions: readonly SessionRow[];
  readonly keep: { readonly ownThreadId: number; readonly users: readonly string[] };
}): VipSessionsPlan {
  const vip = canonicalIp(input.vip);
  const onPort = input.connections.filter((c) => c.local.port === input.mysqlPort);
  const viaVip = onPort.filter((c) => c.local.ip === vip);
  const clients = new Set(clientConnectionsToKill(input.sessions, input.keep));
  const kill: VipSessionKill[] = [];
  const unattributed: SessionRow[] = [];
  for (const s of input.sessions) {
    if (!clients.has(s.id)) continue;
    const client = splitHost(s.host);
    if (client === undefined) continue;
    if (isIP(client.host) !== 0) {
      const ip = canonicalIp(client.host);
      if (viaVip.some((c) => c.remote.ip === ip && c.remote.port === client.port)) {
        kill.push({ id: s.id, user: s.user, host: s.host, why: `socket ${vip}:${input.mysqlPort} ← ${ip}:${client.port}` });
      }
      continue;
    }
    // skip_name_resolve=OFF: HOST is a name. Its client port ties it to the VIP only if no other socket shares that port.
    const samePort = onPort.filter((c) => c.remote.port === client.port);
    const only = samePort.length === 1 ? samePort[0] : undefined;
    if (only === undefined) unattributed.push(s);
    else if (only.local.ip === vip) kill.push({ id: s.id, user: s.user, host: s.host, why: `the only socket from client port ${client.port} is ${vip}:${input.mysqlPort} ← ${only.remote.ip}` });
  }
  return { kill, unattributed };
}

// "10.0.0.5:51234", "::1:51234", "[::1]:51234", "app1.example:51234"; "localhost" (unix socket) has no port.
function splitHost(host: string): { host: string; port: number } | undefined {
  const colon = host.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const port = Number(host.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  const name = host.slice(0, colon);
  return { host: name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name, port };
}
