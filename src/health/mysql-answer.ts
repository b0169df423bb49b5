import { describeMysqlError } from '../mysql/errors.js';
import type { MysqlTarget, SqlClient, SqlConnector } from '../mysql/types.js';
import { scope } from '../platform/deadline.js';
import { openTcp, TCP_HEAD_START_MS } from '../platform/tcp-probe.js';
import type { IsolationFinding } from './evaluate.js';

/** Asks whether a MySQL port answers within timeoutMs; resolves (never rejects). */
export type LoginProbe = (target: MysqlTarget, timeoutMs: number, signal: AbortSignal) => Promise<IsolationFinding>;

/**
 * Whether a MySQL port answers, asked with a login and a goodbye (COM_QUIT) rather than a bare TCP connect. MySQL and
 * MariaDB count a connection closed before its handshake against max_connect_errors (once the client's address
 * resolves to a name, the host is blocked after 100 by default) and log each one as an aborted connection: a bare probe
 * of the peer every second blocked this node at its peer after 100 seconds. A login resets that count.
 *
 * The answer is the TCP one (accepted or refused: the host answers; nothing: silent); the login only follows it.
 * `keep` takes the logged-in session instead of the goodbye.
 */
export async function probeMysqlByLogin(connector: SqlConnector, target: MysqlTarget, timeoutMs: number, signal: AbortSignal,
  keep?: (client: SqlClient) => void): Promise<IsolationFinding> {
  const started = Date.now();
  const tcp = await openTcp(target.host, target.port, timeoutMs, signal);
  if (tcp.socket === undefined) return { answered: tcp.answer !== 'silent', detail: tcp.detail, ms: tcp.ms };
  const where = `${target.host}:${target.port}`;
  const login = scope(signal, Math.max(1, timeoutMs - (Date.now() - started)), 'the login');
  try {
    const client = await connector.connect({ ...target, stream: tcp.socket }, login.signal);
    if (keep) keep(client);
    else client.close();
    return { answered: true, detail: `${where} answered a login`, ms: Date.now() - started };
  } catch (err) {
    tcp.socket.destroy();
    return { answered: true, detail: `${where} accepted a connection (login: ${describeMysqlError(err)})`, ms: Date.now() - started };
  } finally {
    login.end();
  }
}

/** A login probe that keeps its session between probes; `drop` ends the session (a goodbye when it is idle). */
export interface KeptLoginProbe {
  readonly probe: LoginProbe;
  readonly drop: () => void;
}

/**
 * The resident watcher asks the peer every second. A login costs it ~3 ms of CPU (mysql2's connection set-up, the
 * handshake, TCP set-up and teardown) and the peer a login a second in its logs; a COM_PING on a session kept from the
 * last login costs a fraction of that. A session that errs is dropped and the next probe logs in afresh. One slower
 * than the head start gets a fresh probe beside it: a hung mysqld's host still answers by TCP, as with every login.
 */
export function keptLoginProbe(connector: SqlConnector, headStartMs = TCP_HEAD_START_MS): KeptLoginProbe {
  let held: SqlClient | undefined;
  const drop = (): void => {
    held?.close();
    held = undefined;
  };
  // The newest login is the one known to work: a session it replaces is closed, and a ping still on it fails.
  const keep = (client: SqlClient): void => {
    const old = held;
    held = client;
    old?.close();
  };
  const onSession = async (client: SqlClient, target: MysqlTarget, timeoutMs: number, signal: AbortSignal): Promise<IsolationFinding> => {
    const started = Date.now();
    try {
      await client.ping({ signal, timeoutMs });
      return { answered: true, detail: `${target.host}:${target.port} answered on the kept session`, ms: Date.now() - started };
    } catch (err) {
      if (held === client) {
        held = undefined;
        client.close();
      }
      return { answered: false, detail: `the kept session: ${describeMysqlError(err)}`, ms: Date.now() - started };
    }
  };
  const probe: LoginProbe = async (target, timeoutMs, signal) => {
    const started = Date.now();
    const fresh = (): Promise<IsolationFinding> => probeMysqlByLogin(connector, target, Math.max(1, timeoutMs - (Date.now() - started)), signal, keep);
    if (held === undefined) return fresh();
    const session = onSession(held, target, timeoutMs, signal);
    let timer: NodeJS.Timeout | undefined;
    const first = await Promise.race([session, new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), headStartMs); })]);
    clearTimeout(timer);
    if (first?.answered === true) return first;
    return first === undefined ? firstAnswered([session, fresh()]) : fresh();
  };
  return { probe, drop };
}

// The first finding that answered, or the last silence once every one is silent.
function firstAnswered(pending: readonly Promise<IsolationFinding>[]): Promise<IsolationFinding> {
  return new Promise((resolve) => {
    let silent = 0;
    for (const p of pending) {
      void p.then((f) => {
        if (f.answered) resolve(f);
        else if (++silent === pending.length) resolve(f);
      });
    }
  });
}
