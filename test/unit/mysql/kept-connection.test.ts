import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keptConnector } from '../../../src/mysql/kept-connection.js';
import type { MysqlTarget, SqlClient, SqlConnector } from '../../../src/mysql/types.js';

const target: MysqlTarget = { host: '127.0.0.1', port: 3306, user: 'u', password: 'p', connectTimeoutMs: 300, queryTimeoutMs: 300 };

// A connector whose connections count their closes and fail their queries on demand.
function counting() {
  const made: { closed: number; fail: boolean; hang: boolean }[] = [];
  const inner: SqlConnector = {
    connect: async () => {
      const c = { closed: 0, fail: false, hang: false };
      made.push(c);
      const client: SqlClient = {
        threadId: made.length,
        query: async <T>() => {
          if (c.fail) throw new Error('Connection lost: The server closed the connection.');
          if (c.hang) return new Promise<T[]>(() => {});
          return [{ 1: '1' }] as T[];
        },
        execute: async () => ({ affectedRows: 0 }),
        ping: async () => {
          if (c.fail) throw new Error('Connection lost: The server closed the connection.');
          if (c.hang) return new Promise<void>(() => {});
        },
        close: () => { c.closed++; },
      };
      return client;
    },
  };
  return { inner, made };
}

describe('keptConnector', () => {
  it('when rounds succeed then every round gets the one connection, and closing a lease keeps it open', async () => {
    const f = counting();
    const kept = keptConnector(f.inner);
    for (let i = 0; i < 3; i++) {
      const c = await kept.connect(target);
      assert.deepEqual(await c.query('SELECT 1'), [{ 1: '1' }]);
      c.close();
    }
    assert.equal(f.made.length, 1);
    assert.equal(f.made[0]?.closed, 0);
    kept.drop();
    assert.equal(f.made[0]?.closed, 1);
  });

  const asks = {
    'SELECT 1': (c: SqlClient) => c.query('SELECT 1'),
    COM_PING: (c: SqlClient) => c.ping({ signal: new AbortController().signal, timeoutMs: 300 }),
  };
  for (const [name, ask] of Object.entries(asks)) {
    it(`when a ${name} fails then the connection is closed and the next round connects afresh`, async () => {
      const f = counting();
      const kept = keptConnector(f.inner);
      const a = await kept.connect(target);
      f.made[0]!.fail = true;
      await assert.rejects(ask(a), /Connection lost/);
      a.close();
      assert.equal(f.made[0]?.closed, 1);
      const b = await kept.connect(target);
      assert.equal(b.threadId, 2);
      assert.equal(f.made.length, 2);
    });

    it(`when a lease is closed with its ${name} still running (a deadline) then the connection is closed, not reused`, async () => {
      const f = counting();
      const kept = keptConnector(f.inner);
      const a = await kept.connect(target);
      f.made[0]!.hang = true;
      void ask(a);
      a.close();
      assert.equal(f.made[0]?.closed, 1);
      assert.equal((await kept.connect(target)).threadId, 2);
    });
  }

  it('when another target is asked for then the held connection is closed first', async () => {
    const f = counting();
    const kept = keptConnector(f.inner);
    (await kept.connect(target)).close();
    (await kept.connect({ ...target, port: 3307 })).close();
    assert.deepEqual(f.made.map((c) => c.closed), [1, 0]);
  });
});
