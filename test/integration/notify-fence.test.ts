import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { mysql2Connector } from '../../src/mysql/mysql2-client.js';
import { ACCOUNTS, mariadbSkipReason, type MariaDbFarm, type MariaDbServer } from '../helpers/mariadb.js';
import { readNotifyLog, readOnly, runNotify, startPair, writeNodeConfig } from '../helpers/notify-env.js';

const skip = mariadbSkipReason();

describe('notify STOP fences a master that is busy or briefly hung', { skip }, () => {
  let farm: MariaDbFarm;
  let a: MariaDbServer;
  let b: MariaDbServer;

  beforeEach(async () => {
    ({ farm, master: a, replica: b } = await startPair());
  });
  afterEach(async () => {
    a.signal('SIGCONT');
    await farm.cleanup();
  });

  // A commit on `a` that waits for a semi-sync ack nobody will send (the replica's IO thread is stopped).
  async function commitWaitingForAck(timeoutMs: number): Promise<{ pending: Promise<unknown> }> {
    await a.sql(`SET GLOBAL rpl_semi_sync_master_timeout = ${timeoutMs}`);
    await b.sql('STOP SLAVE IO_THREAD');
    // The app's account: the toolkit never kills its own or the replication account's sessions.
    const client = await mysql2Connector.connect(a.target({ user: ACCOUNTS.app.user, password: ACCOUNTS.app.password, queryTimeoutMs: timeoutMs + 5000 }));
    const pending = client.execute("INSERT INTO appdb.t VALUES (100, 'waits for an ack')").finally(() => client.close());
    pending.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    return { pending };
  }

  it('when a commit waits for its semi-sync ack then STOP kills that session first and the node is read-only', async () => {
    const { pending } = await commitWaitingForAck(20_000);
    const dirs = writeNodeConfig(farm.baseDir, 'a', a, 'b', b, { killClientConnections: true });

    const r = await runNotify(['--config', dirs.configPath, '--foreground', 'stop']);

    assert.equal(r.code, 0, r.stderr + readNotifyLog(dirs));
    assert.equal(await readOnly(a), 1);
    assert.match(readNotifyLog(dirs), /killing 1 client connection\(s\) on local/);
    await assert.rejects(pending, 'the waiting session was killed');
  });

  it('when a client reconnects after every kill and commits again then the fence kills and retries until the node is read-only', async () => {
    await a.sql('SET GLOBAL rpl_semi_sync_master_timeout = 60000');
    await b.sql('STOP SLAVE IO_THREAD');
    // A pool whose address still points here: reconnects at once after each kill, and each commit waits for an ack.
    let stop = false;
    let next = 200;
    const pool = (async () => {
      while (!stop) {
        const client = await mysql2Connector.connect(a.target({ user: ACCOUNTS.app.user, password: ACCOUNTS.app.password, queryTimeoutMs: 65_000 }))
          .catch(() => undefined);
        if (client === undefined) continue;
        await client.execute(`INSERT INTO appdb.t VALUES (${next++}, 'pool')`).catch(() => undefined);
        client.close();
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    const dirs = writeNodeConfig(farm.baseDir, 'a', a, 'b', b, { killClientConnections: true });

    const r = await runNotify(['--config', dirs.configPath, '--foreground', 'stop']);
    stop = true;

    assert.equal(r.code, 0, r.stderr + readNotifyLog(dirs));
    assert.equal(await readOnly(a), 1);
    assert.match(readNotifyLog(dirs), /step fence-local done/);
    await b.sql('START SLAVE IO_THREAD');
    await pool;
  });

  it('when a commit waits for its ack and sessions may not be killed then the fence outlasts the semi-sync timeout', async () => {
    await commitWaitingForAck(2500);
    const dirs = writeNodeConfig(farm.baseDir, 'a', a, 'b', b, { killClientConnections: false });

    const r = await runNotify(['--config', dirs.configPath, '--foreground', 'stop']);

    assert.equal(r.code, 0, r.stderr + readNotifyLog(dirs));
    assert.equal(await readOnly(a), 1);
    assert.match(readNotifyLog(dirs), /step fence-local done/);
  });

  it('when mysqld is hung (SIGSTOP) at STOP and resumes later then notify keeps trying and fences it', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'a', a, 'b', b);
    a.signal('SIGSTOP');
    setTimeout(() => a.signal('SIGCONT'), 2500).unref();

    const r = await runNotify(['--config', dirs.configPath, '--foreground', 'stop']);

    assert.equal(r.code, 0, r.stderr + readNotifyLog(dirs));
    assert.equal(await readOnly(a), 1);
    assert.match(readNotifyLog(dirs), /accepts but does not answer .*retrying the fence/);
  });

  it('when mysqld is down (refused) at STOP then notify does not wait: nothing to fence', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'a', a, 'b', b);
    await a.kill();

    const r = await runNotify(['--config', dirs.configPath, '--foreground', 'stop']);

    assert.equal(r.code, 0, r.stderr);
    assert.match(readNotifyLog(dirs), /nothing to fence or record/);
    assert.doesNotMatch(readNotifyLog(dirs), /retrying the fence/);
  });
});
