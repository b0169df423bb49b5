import { canonicalIp } from './ip.js';
import { procNetTcpRows } from './procfs.js';

export interface Endpoint {
  /** Canonical IP (see canonicalIp). */
  readonly ip: string;
  readonly port: number;
}

/** One TCP connection of this network namespace, as the kernel lists it. */
export interface TcpConnection {
  readonly local: Endpoint;
  readonly remote: Endpoint;
}

// ESTABLISHED and CLOSE_WAIT (the client half-closed; the server session still lives).
const OPEN_STATES = new Set(['01', '08']);

// Open connections whose local port is `port` (a server's accepted sessions), from /proc/net/tcp and tcp6.
// The local address is what the client dialled: the VIP for a session that came in through it.
export function tcpConnectionsOnPort(port: number, procRoot = '/proc'): TcpConnection[] {
  const found: TcpConnection[] = [];
  for (const cols of procNetTcpRows(procRoot)) {
    if (!OPEN_STATES.has(cols[3] ?? '')) continue;
    const local = parseProcEndpoint(cols[1] ?? '');
    const remote = parseProcEndpoint(cols[2] ?? '');
    if (local === undefined || remote === undefined || local.port !== port) continue;
    found.push({ local, remote });
  }
  return found;
}

// "0200007F:0CEA" → 127.0.0.2:3306. Addresses are 32-bit words in host byte order (little-endian here).
export function parseProcEndpoint(text: string): Endpoint | undefined {
  const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(text);
  if (!m) return undefined;
  const hex = m[1] ?? '';
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    for (const i of [6, 4, 2, 0]) bytes.push(parseInt(hex.slice(w + i, w + i + 2), 16));
  }
  const ip = bytes.length === 4
    ? bytes.join('.')
    : canonicalIp(Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] ?? 0) * 256 + (bytes[2 * i + 1] ?? 0)).toString(16)).join(':'));
  return { ip, port: parseInt(m[2] ?? '0', 16) };
}
