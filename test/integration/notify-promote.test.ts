import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MariaDbFarm, mariadbSkipReason, type MariaDbServer } from '../helpers/mariadb.js';
import {
  readJsonFile, readNotifyLog, readOnly, runNotify, slaveStatus, waitReceived, writeNodeConfig, startPair } from '../helpers/notify-env.js';

const skip = mariadbSkipReason();

describe('notify MASTER on a real MariaDB replica', { skip }, () => {
  let farm: MariaDbFarm;
  let a: MariaDbServer;
  let b: MariaDbServer;

  beforeEach(async () => {
    ({ farm, master: a, replica: b } = await startPair());
  });
  afterEach(() => farm.cleanup());

  it('when the master is killed with rows still in the relay log then notify applies them before opening writes', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a);
    await b.sql('STOP SLAVE SQL_THREAD');
    await a.sql("INSERT INTO appdb.t VALUES (1, 'one'), (2, 'two')", "INSERT INTO appdb.t VALUES (3, 'three')");
    await waitReceived(a, b);
    await a.kill();

    const r = await runNotify(['--config', dirs.configPath, '--foreground', 'master']);

    assert.equal(r.code, 0, r.stderr);
    const rows = await b.sql<{ id: number }>('SELECT id FROM appdb.t ORDER BY id');
    assert.deepEqual(rows.map((x) => Number(x.id)), [1, 2, 3]);
    assert.equal(await readOnly(b), 0);
    assert.equal(await slaveStatus(b), undefined, 'replication detached (RESET SLAVE ALL)');
    await b.sql("INSERT INTO appdb.t VALUES (4, 'written on the new master')");
    const [semi] = await b.sql("SELECT @@rpl_semi_sync_master_enabled AS m, @@rpl_semi_sync_slave_enabled AS s, @@sync_binlog AS sb");
    // No replica attached yet: asynchronous, recorded first; check-mysql's guard turns semi-sync on when one connects.
    assert.deepEqual([Number(semi?.['m']), Number(semi?.['s']), Number(semi?.['sb'])], [0, 0, 1]);
    assert.match(readFileSync(join(dirs.stateDir, 'semisync-async.jsonl'), 'utf8'), /promoted at term 1 with no replica attached/);
    assert.equal(readJsonFile(join(dirs.stateDir, 'term.json'))?.['term'], 1);
    const pos = readJsonFile(join(dirs.stateDir, 'position.json'));
    assert.equal(pos?.['role'], 'master');
    assert.match(String(pos?.['gtidBinlogPos']), /^0-2-\d+$|^0-1-\d+$/);
    const log = readNotifyLog(dirs);
    assert.match(log, /step catch-up done/);
    assert.match(log, /step open-writes done/);
    assert.match(log, /"transitionId":"b-/);
    assert.equal(existsSync(join(dirs.stateDir, 'notify.lock')), false, 'lock released');
  });

  it('when the replica lags beyond catchUpTimeoutMs and the policy is refuse then notify exits 4 and the node stays read-only', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a, { catchUpTimeoutMs: 1000, onCatchUpTimeout: 'refuse' });
    await b.sql('STOP SLAVE', 'CHANGE MASTER TO MASTER_DELAY = 3600', 'START SLAVE');
    await a.sql("INSERT INTO appdb.t VALUES (10, 'delayed')");
    await waitReceived(a, b);

    const r = await runNotify(['--config', dirs.configPath, '--foreground', 'master']);

    assert.equal(r.code, 4, r.stderr + readNotifyLog(dirs));
    assert.equal(await readOnly(b), 1);
    assert.match(readNotifyLog(dirs), /onCatchUpTimeout=refuse: staying read-only/);
    assert.equal(readJsonFile(join(dirs.stateDir, 'position.json'))?.['role'], 'fenced');
  });

  it('when the replica lags beyond catchUpTimeoutMs and the policy is promote then the node is writable and the gap is logged as an error', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a, { catchUpTimeoutMs: 1000, onCatchUpTimeout: 'promote' });
    await b.sql('STOP SLAVE', 'CHANGE MASTER TO MASTER_DELAY = 3600', 'START SLAVE');
    await a.sql("INSERT INTO appdb.t VALUES (11, 'delayed')");
    await waitReceived(a, b);

    const r = await runNotify(['--config', dirs.configPath, '--foreground', 'master']);

    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readOnly(b), 0);
    assert.match(readNotifyLog(dirs), / error promoting with a gap: replica did not apply 0-1-\d+/);
    assert.equal((await b.sql('SELECT id FROM appdb.t WHERE id = 11')).length, 0, 'the delayed row is the logged gap');
    assert.equal(await readOnly(a), 1, 'the reachable old master was fenced');
  });
  it('when the old master is hung (SIGSTOP) then notify kills the replication IO thread rather than waiting on STOP, and opens writes', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a);
    await a.sql("INSERT INTO appdb.t VALUES (20, 'before the hang')");
    await waitReceived(a, b);
    a.signal('SIGSTOP');
    try {
      const r = await runNotify(['--config', dirs.configPath, '--foreground', 'master']);

      assert.equal(r.code, 0, r.stderr + readNotifyLog(dirs));
      assert.equal(await readOnly(b), 0);
      assert.equal((await b.sql('SELECT id FROM appdb.t WHERE id = 20')).length, 1);
      const log = readNotifyLog(dirs);
      assert.match(log, /sql local: KILL CONNECTION \d+/);
      assert.match(log, /step kill-io-thread done/);
      assert.doesNotMatch(log, /did not finish/, 'STOP did not have to wait on the hung source');
      assert.equal(await slaveStatus(b), undefined, 'replication detached');
    } finally {
      a.signal('SIGCONT');
    }
  });
});
