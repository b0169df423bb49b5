import type { MysqlTarget, QueryOptions, Row, SqlClient, SqlConnector } from './types.js';

/** A connector that hands the same connection to every caller while it works; `drop` closes it for good. */
export interface KeptConnector extends SqlConnector {
  drop(): void;
}

// A resident check pays the connect and handshake once, not every round: a healthy round is then one COM_PING.
// A connection that saw an error, or is closed with a command still running (a deadline), is closed, never reused.
export function keptConnector(inner: SqlConnector): KeptConnector {
  let held: { client: SqlClient; target: MysqlTarget } | undefined;
  const drop = (): void => {
    held?.client.close();
    held = undefined;
  };
  return {
    async connect(target, signal) {
      if (held !== undefined && held.target !== target) drop();
      if (held === undefined) held = { client: await inner.connect(target, signal), target };
      const mine = held.client;
      return lease(mine, () => {
        if (held?.client === mine) drop();
      });
    },
    drop,
  };
}

function lease(client: SqlClient, spoil: () => void): SqlClient {
  let running = 0;
  let failed = false;
  const track = async <T>(p: Promise<T>): Promise<T> => {
    running++;
    try {
      return await p;
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      running--;
    }
  };
  return {
    query: <T extends Row = Row>(sql: string, params?: readonly unknown[], opts?: QueryOptions) => track(client.query<T>(sql, params, opts)),
    execute: (sql, params, opts) => track(client.execute(sql, params, opts)),
    ping: (opts) => track(client.ping(opts)),
    threadId: client.threadId,
    close: () => {
      if (failed || running > 0) spoil();
    },
  };
}
