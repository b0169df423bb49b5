import { describeMysqlError } from '../mysql/errors.js';
import type { MysqlTarget, SqlConnector } from '../mysql/types.js';
import { scope } from '../platform/deadline.js';
import { openTcp } from '../platform/tcp-probe.js';
import type { IsolationFinding } from './evaluate.js';

/**
 * Whether a MySQL port answers, asked with a login and a goodbye (COM_QUIT) rather than a bare TCP connect. MySQL and
 * MariaDB count a connection closed before its handshake against max_connect_errors (once the client's address
 * resolves to a name, the host is blocked after 100 by default) and log each one as an aborted connection: a bare probe
 * of the peer every second blocked this node at its peer after 100 seconds. A login resets that count.
 *
 * The answer is the TCP one (accepted or refused: the host answers; nothing: silent); the login only follows it.
 */
export async function probeMysqlByLogin(connector: SqlConnector, target: MysqlTarget, timeoutMs: number, signal: AbortSignal): Promise<IsolationFinding> {
  const started = Date.now();
  const tcp = await openTcp(target.host, target.port, timeoutMs, signal);
  if (tcp.socket === undefined) return { answered: tcp.answer !== 'silent', detail: tcp.detail, ms: tcp.ms };
  const where = `${target.host}:${target.port}`;
  const login = scope(signal, Math.max(1, timeoutMs - (Date.now() - started)), 'the login');
  try {
    (await connector.connect({ ...target, stream: tcp.socket }, login.signal)).close();
    return { answered: true, detail: `${where} answered a login`, ms: Date.now() - started };
  } catch (err) {
    tcp.socket.destroy();
    return { answered: true, detail: `${where} accepted a connection (login: ${describeMysqlError(err)})`, ms: Date.now() - started };
  } finally {
    login.end();
  }
}
