import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { classifyMysqlError } from '../../src/mysql/errors.js';
import { mysql2Connector } from '../../src/mysql/mysql2-client.js';
import type { SqlClient } from '../../src/mysql/types.js';
import { MariaDbFarm, mariadbSkipReason, waitFor, type MariaDbServer } from '../helpers/mariadb.js';

const skip = mariadbSkipReason();
// What a command waits when nothing ends it sooner: a failure well before it is the connection's close, not the timeout.
const QUERY_TIMEOUT_MS = 15_000;

// Handled from the start: the command fails while the test still awaits its KILL.
async function failure(p: Promise<unknown>): Promise<{ message: string; at: number; err: unknown }> {
  try {
    await p;
  } catch (err) {
    return { message: (err as Error).message, at: Date.now(), err };
  }
  assert.fail('the command succeeded');
}

// The adapter keeps its sockets half-open after its own goodbye (COM_QUIT); a server that closes first must still fail
// the command waiting on it (the old master's fence kills its client sessions, a server shuts down mid-statement).
describe('the mysql2 adapter against a real MariaDB: a command ends when the server closes its connection or stops answering', { skip }, () => {
  const farm = new MariaDbFarm();
  let master: MariaDbServer;
  let replica: MariaDbServer;

  before(async () => {
    ({ master, replica } = await farm.startPair(['--rpl-semi-sync-master-timeout=3600000', '--rpl-semi-sync-master-wait-no-slave=ON']));
    await master.sql('SET GLOBAL rpl_semi_sync_master_enabled = 1');
    await waitFor(async () => Number((await master.sql<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'"))[0]?.Value) === 1,
      10_000, 'the replica to attach as a semi-sync client');
  });
  after(async () => {
    replica?.signal('SIGCONT');
    await farm.cleanup();
  });

  // Runs `command` on a fresh connection, waits until the server shows it in `state`, kills the connection, and
  // asserts the command failed with the connection lost, long before its timeout.
  async function killedWhile(command: (c: SqlClient) => Promise<unknown>, state: string): Promise<void> {
    const c = await mysql2Connector.connect(master.target({ queryTimeoutMs: QUERY_TIMEOUT_MS }));
    const pending = failure(command(c));
    await waitFor(async () => (await master.sql(`SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ${c.threadId} AND STATE LIKE '${state}%'`)).length === 1,
      5000, `the command to reach '${state}'`);
    const killedAt = Date.now();
    await master.sql(`KILL CONNECTION ${c.threadId}`);
    const f = await pending;
    c.close();
    assert.match(f.message, /Connection lost|closed the connection|killed/i);
    assert.ok(f.at - killedAt < QUERY_TIMEOUT_MS / 2, `failed ${f.at - killedAt} ms after the KILL`);
  }

  it('a statement whose connection is killed fails with the connection lost, not at its timeout', async () => {
    await killedWhile((c) => c.query('SELECT SLEEP(12)'), 'User sleep');
  });

  it('a commit waiting for a semi-sync ACK whose session is killed (a fence) fails at once; the row stays committed', async () => {
    replica.signal('SIGSTOP');
    await waitFor(async () => readFileSync(`/proc/${replica.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T') === true, 5000, 'the replica to stop');
    try {
      await killedWhile((c) => c.execute("INSERT INTO appdb.t (id, note) VALUES (7001, 'waits for an ack')"), 'Waiting for semi-sync ACK');
    } finally {
      replica.signal('SIGCONT');
    }
    assert.equal((await master.sql('SELECT id FROM appdb.t WHERE id = 7001')).length, 1, 'committed in the binlog before the wait: a new master recovers it');
  });

  it('COM_PING answers on a live session; on a hung server it fails at its own timeoutMs (the driver has none) and drops the session', async () => {
    const c = await mysql2Connector.connect(replica.target({ queryTimeoutMs: QUERY_TIMEOUT_MS }));
    await c.ping({ signal: AbortSignal.timeout(5000), timeoutMs: 1000 });
    replica.signal('SIGSTOP');
    await waitFor(async () => readFileSync(`/proc/${replica.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T') === true, 5000, 'the replica to stop');
    try {
      const started = Date.now();
      const f = await failure(c.ping({ signal: new AbortController().signal, timeoutMs: 300 }));
      assert.match(f.message, /COM_PING/);
      assert.equal(classifyMysqlError(f.err), 'timeout', 'a hung server, as the verdict must read it');
      assert.ok(f.at - started >= 290 && f.at - started < 2000, `failed ${f.at - started} ms after the ping`);
      assert.match((await failure(c.ping({ signal: new AbortController().signal, timeoutMs: 300 }))).message, /closed state|destroyed|Connection lost/i,
        'the session is gone: a second ping fails at once');
    } finally {
      replica.signal('SIGCONT');
      c.close();
    }
  });
});
