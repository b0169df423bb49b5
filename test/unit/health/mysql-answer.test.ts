import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { probeMysqlByLogin } from '../../../src/health/mysql-answer.js';
import { mysql2Connector } from '../../../src/mysql/mysql2-client.js';
import type { MysqlTarget } from '../../../src/mysql/types.js';

const target = (port: number): MysqlTarget => ({ host: '127.0.0.1', port, user: 'k', password: 'p', connectTimeoutMs: 200, queryTimeoutMs: 200 });

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    resolve(typeof a === 'object' && a !== null ? a.port : 0);
  }));
}

describe('probeMysqlByLogin (the isolation guard\'s question to the peer\'s MySQL port)', () => {
  const held: Socket[] = [];
  // A hung mysqld: the kernel accepts, nothing greets.
  const mute = createServer((s) => void held.push(s));
  let mutePort = 0;
  // Nothing listens on a port just closed: the kernel refuses.
  let closedPort = 0;
  before(async () => {
    mutePort = await listen(mute);
    const gone = createServer();
    closedPort = await listen(gone);
    await new Promise((resolve) => gone.close(resolve));
  });
  after(() => {
    for (const s of held) s.destroy();
    mute.close();
  });

  it('when the host accepts but its MySQL never greets then the host answers, the login named as what failed', async () => {
    const f = await probeMysqlByLogin(mysql2Connector, target(mutePort), 150, new AbortController().signal);
    assert.equal(f.answered, true);
    assert.match(f.detail, /^127\.0\.0\.1:\d+ accepted a connection \(login: .*\)$/);
    assert.ok(f.ms >= 140 && f.ms < 1000, `${f.ms} ms`);
  });

  it('when the port refuses then the host answers (mysqld down, host up), with no login tried', async () => {
    const f = await probeMysqlByLogin(mysql2Connector, target(closedPort), 150, new AbortController().signal);
    assert.deepEqual({ answered: f.answered, detail: f.detail }, { answered: true, detail: `127.0.0.1:${closedPort} refused the connection (it answers)` });
  });

  it('when the caller\'s signal fires first then the probe ends at once, as silent when not even TCP answered', async () => {
    const c = new AbortController();
    c.abort();
    const f = await probeMysqlByLogin(mysql2Connector, { ...target(mutePort), host: '192.0.2.1' }, 150, c.signal);
    assert.equal(f.answered, false);
  });
});
