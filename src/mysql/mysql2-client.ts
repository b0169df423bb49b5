import { connect as tcpConnect } from 'node:net';
import mysql from 'mysql2';
import { AppError } from '../errors.js';
import { scope } from '../platform/deadline.js';
import type { MysqlTarget, QueryOptions, Row, SqlClient, SqlConnector } from './types.js';

type Conn = ReturnType<typeof mysql.createConnection>;

// The only module that loads mysql2: opens one connection with connect and per-query deadlines.
export const mysql2Connector: SqlConnector = {
  connect(target: MysqlTarget, signal?: AbortSignal): Promise<SqlClient> {
    return new Promise<SqlClient>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AppError('DEADLINE_EXCEEDED', 'deadline passed before connecting to MySQL'));
        return;
      }
      // Our own socket, half-open allowed: after our COM_QUIT the server's close does not end and destroy it, which
      // made node build process.stderr (2 ms of check-mysql's start) only to compare a socket with it.
      const stream = target.stream ?? (target.socketPath !== undefined
        ? tcpConnect({ path: target.socketPath, allowHalfOpen: true })
        : tcpConnect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true }));
      const link = { quitting: false };
      // Half-open only after our goodbye: a server that closes first (KILL, shutdown) is gone, and mysql2 fails the
      // command it waits on when the socket closes, not when it ends. Left half-open, that command waited out its timeout.
      stream.on('end', () => {
        if (!link.quitting) stream.destroy();
      });
      const conn = mysql.createConnection({
        host: target.host, port: target.port,
        stream,
        user: target.user,
        password: target.password,
        connectTimeout: target.connectTimeoutMs,
        // Our own statements only; no multi-statement injection surface.
        multipleStatements: false,
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
        // Static row parsers: generating one with new Function per query costs more CPU than check-mysql's whole query.
        disableEval: true,
      });
      // A fatal socket error after connect is reported through the pending query; keep it from crashing the process.
      conn.on('error', () => {});
      const onAbort = (): void => {
        conn.destroy();
        reject(new AppError('DEADLINE_EXCEEDED', 'deadline passed while connecting to MySQL'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      conn.connect((err) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          conn.destroy();
          reject(err);
          return;
        }
        resolve(wrapConnection(conn, link, target.queryTimeoutMs));
      });
    });
  },
};

// After COM_QUIT the socket is dropped at this timer, not at the server's close (half-open, see connect): the server
// has the goodbye by then, and a drained command never waits longer on a server that cannot be reached.
const QUIT_GRACE_MS = 250;

function wrapConnection(conn: Conn, link: { quitting: boolean }, defaultTimeoutMs: number): SqlClient {
  let running = 0;
  let spoiled = false;
  conn.on('error', () => {
    spoiled = true;
  });
  const run = <T>(what: string, send: (done: (err: Error | null, result?: unknown) => void) => void, signal: AbortSignal | undefined): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AppError('DEADLINE_EXCEEDED', `deadline passed before: ${what}`));
        return;
      }
      // Aborting mid-command destroys the connection: the only way to stop waiting on a hung server.
      const onAbort = (): void => {
        spoiled = true;
        conn.destroy();
        reject(new AppError('DEADLINE_EXCEEDED', `deadline passed during: ${what}`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      running++;
      send((err, result) => {
        running--;
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          if ((err as { fatal?: boolean }).fatal === true) spoiled = true;
          reject(err);
        } else resolve(result as T);
      });
    });
  const query = <T>(sql: string, params: readonly unknown[] | undefined, opts: QueryOptions | undefined): Promise<T> =>
    run<T>(sql, (done) => conn.query({ sql, values: params ? [...params] : undefined, timeout: opts?.timeoutMs ?? defaultTimeoutMs }, done), opts?.signal);

  return {
    threadId: conn.threadId ?? 0,
    query: <T extends Row = Row>(sql: string, params?: readonly unknown[], opts?: QueryOptions) =>
      query<T[]>(sql, params, opts),
    execute: async (sql, params, opts) => {
      const result = await query<{ affectedRows?: number }>(sql, params, opts);
      return { affectedRows: result.affectedRows ?? 0 };
    },
    // mysql2's ping takes no timeout: the bound is a scope of our own, whose abort destroys the connection.
    ping: async ({ signal, timeoutMs }) => {
      const bound = scope(signal, timeoutMs, 'COM_PING');
      try {
        await run('COM_PING', (done) => conn.ping(done), bound.signal);
      } finally {
        bound.end();
      }
    },
    close: () => {
      if (spoiled || running > 0) {
        conn.destroy();
        return;
      }
      // COM_QUIT, written before this returns: a socket closed without it is an "Aborted connection" warning in the
      // server's error log and one more Aborted_clients, every second for check-mysql.
      link.quitting = true;
      conn.end(() => {});
      setTimeout(() => conn.destroy(), QUIT_GRACE_MS).unref();
    },
  };
}
