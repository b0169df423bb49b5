import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { keptLoginProbe } from '../../src/health/mysql-answer.js';
import { mysql2Connector } from '../../src/mysql/mysql2-client.js';
import type { SqlClient } from '../../src/mysql/types.js';
import { MariaDbFarm, mariadbSkipReason, waitFor, type MariaDbServer } from '../helpers/mariadb.js';

const skip = mariadbSkipReason();
const TIMEOUT_MS = 300;

// The watcher's isolation guard asks the peer every second on a session kept from its last login.
describe('keptLoginProbe against a real MariaDB (the watcher\'s question to its peer)', { skip }, () => {
  const farm = new MariaDbFarm();
  let server: MariaDbServer;
  let observer: SqlClient;
  const status = async (name: string): Promise<number> =>
    Number((await observer.query<{ Value: string }>('SHOW GLOBAL STATUS LIKE ?', [name]))[0]?.Value);
  const target = (): ReturnType<MariaDbServer['target']> => server.target({ connectTimeoutMs: TIMEOUT_MS, queryTimeoutMs: TIMEOUT_MS });
  const ask = (probe: ReturnType<typeof keptLoginProbe>): ReturnType<ReturnType<typeof keptLoginProbe>['probe']> =>
    probe.probe(target(), TIMEOUT_MS, new AbortController().signal);

  before(async () => {
    server = await farm.start({ name: 'peer', serverId: 1 });
    observer = await server.rootClient();
  });
  after(async () => {
    observer?.close();
    await farm.cleanup();
  });

  it('logs in once, then answers on the kept session; its drop is a goodbye', async () => {
    const probe = keptLoginProbe(mysql2Connector);
    const [connections, abortedClients, abortedConnects] = [await status('Connections'), await status('Aborted_clients'), await status('Aborted_connects')];
    const details: string[] = [];
    for (let i = 0; i < 5; i++) {
      const f = await ask(probe);
      assert.equal(f.answered, true, f.detail);
      details.push(f.detail);
    }
    assert.match(details[0] ?? '', /answered a login/);
    for (const d of details.slice(1)) assert.match(d, /answered on the kept session/);
    assert.equal(await status('Connections') - connections, 1, 'one login for five probes');
    probe.drop();
    await waitFor(async () => (await observer.query('SELECT 1 FROM information_schema.PROCESSLIST WHERE USER = ?', [target().user])).length === 0,
      5000, 'the kept session to end');
    assert.equal(await status('Aborted_clients'), abortedClients, 'the kept session ended with COM_QUIT');
    assert.equal(await status('Aborted_connects'), abortedConnects);
  });

  it('a session the server killed is dropped: the next probe logs in afresh and answers', async () => {
    const probe = keptLoginProbe(mysql2Connector);
    try {
      assert.match((await ask(probe)).detail, /answered a login/);
      const [session] = await observer.query<{ id: number }>('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [target().user]);
      assert.ok(session, 'the kept session is on the server');
      await observer.query(`KILL CONNECTION ${Number(session.id)}`);
      const f = await ask(probe);
      assert.equal(f.answered, true, f.detail);
      assert.match(f.detail, /answered a login/);
      assert.match((await ask(probe)).detail, /answered on the kept session/);
    } finally {
      probe.drop();
    }
  });

  it('a hung server still answers (its host accepts), within the probe\'s timeout', async () => {
    const probe = keptLoginProbe(mysql2Connector);
    try {
      assert.match((await ask(probe)).detail, /answered a login/);
      server.signal('SIGSTOP');
      // A signal is delivered asynchronously: a query sent at once could still be answered.
      await waitFor(async () => readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T') === true, 5000, 'mariadbd to stop');
      let f;
      try {
        f = await ask(probe);
      } finally {
        server.signal('SIGCONT');
      }
      assert.equal(f.answered, true, f.detail);
      assert.match(f.detail, /accepted a connection/);
      // Bounded by the timeout: a bound on waiting, with slack for a loaded machine, not a speed figure.
      assert.ok(f.ms <= TIMEOUT_MS + 200, `answered after ${f.ms} ms`);
      // The session that timed out was dropped; the server, resumed, gets a login again.
      const again = await ask(probe);
      assert.equal(again.answered, true, again.detail);
    } finally {
      probe.drop();
    }
  });
});
