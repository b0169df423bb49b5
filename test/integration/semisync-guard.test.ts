import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCheckLog, writeCheckConfig } from '../helpers/check-mysql-config.js';
import { mariadbSkipReason, type MariaDbFarm, type MariaDbServer } from '../helpers/mariadb.js';
import { startPair } from '../helpers/notify-env.js';
import { runBin } from '../helpers/run-bin.js';
import { startStalledListener } from '../helpers/stalled-listener.js';

// The recommended my.cnf: semi-sync never falls back by itself (a long timeout, wait-no-slave ON); check-mysql's
// guard on the master decides, on real MariaDB servers.
const NEVER_BY_ITSELF = ['--rpl-semi-sync-master-timeout=3600000', '--rpl-semi-sync-master-wait-no-slave=ON'];
const skip = mariadbSkipReason();

async function semiSyncEnabled(s: MariaDbServer): Promise<number> {
  const [r] = await s.sql<{ v: unknown }>('SELECT @@GLOBAL.rpl_semi_sync_master_enabled AS v');
  return Number(r?.v);
}

// Starts a commit that waits for a replica's ack; resolves with how it ended.
function stuckCommit(master: MariaDbServer, id: number): Promise<string> {
  return master.sql(`INSERT INTO appdb.t (id, note) VALUES (${id}, 'stuck')`).then(() => 'committed', (err: Error) => `failed: ${err.message}`);
}

describe('check-mysql semi-sync guard', { skip }, () => {
  let farm: MariaDbFarm;
  let master: MariaDbServer;
  let replica: MariaDbServer;
  let dir: string;

  before(async () => {
    ({ farm, master, replica } = await startPair(NEVER_BY_ITSELF));
    dir = mkdtempSync(join(tmpdir(), 'km-guard-'));
  });
  after(async () => {
    await farm?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('when the pair is healthy then the guard does nothing and the check writes nothing', async () => {
    const r = await runBin('check-mysql', ['--config', writeCheckConfig(dir, { port: master.port, peerPort: replica.port })]);
    assert.equal(r.code, 0);
    assert.equal(readCheckLog(dir), '');
    assert.equal(existsSync(join(dir, 'semisync-async.jsonl')), false);
  });

  it('when the replica mysqld dies then commits wait until the guard proves it down (port refused) and records the switch before it', async () => {
    await replica.kill();
    const commit = stuckCommit(master, 9001);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await Promise.race([commit, new Promise((r) => setTimeout(() => r('still waiting'), 10))]), 'still waiting',
      'semi-sync must not fall back by itself');
    const r = await runBin('check-mysql', ['--config', writeCheckConfig(dir, { port: master.port, peerPort: replica.port })]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await commit, 'committed');
    assert.equal(await semiSyncEnabled(master), 0);
    assert.match(readCheckLog(dir), /semi-sync guard: switched-to-async: .*refuses its MySQL port/);
    const [record] = readFileSync(join(dir, 'semisync-async.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.match(record?.['gtidBinlogPos'] ?? '', /^0-1-\d+$/);
  });

  it('when the replica is back and connected then the guard turns semi-sync on again', async () => {
    await replica.start();
    await replica.sql('START SLAVE');
    const until = Date.now() + 15_000;
    let enabled = 0;
    while (Date.now() < until && enabled === 0) {
      await runBin('check-mysql', ['--config', writeCheckConfig(dir, { port: master.port, peerPort: replica.port })]);
      enabled = await semiSyncEnabled(master);
      if (enabled === 0) await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(enabled, 1);
    assert.match(readCheckLog(dir), /semi-sync guard: enabled-semi-sync/);
    assert.equal(await Promise.race([stuckCommit(master, 9002), new Promise((r) => setTimeout(() => r('blocked'), 5000))]), 'committed');
  });

  it('when the replica cannot be seen and there is no witness then, with partition.withoutWitness=fence, the master steps down', async (t) => {
    const stalled = await startStalledListener();
    if (stalled === undefined) return t.skip('python3 is needed for the stalled listener');
    try {
      await replica.kill();
      const commit = stuckCommit(master, 9003);
      await new Promise((r) => setTimeout(r, 1500));
      const r = await runBin('check-mysql', ['--config', writeCheckConfig(dir, { port: master.port, peerPort: stalled.port, withoutWitness: 'fence' })]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(existsSync(join(dir, 'stepdown.json')), true);
      assert.match(readCheckLog(dir), /verdict: down \(stepped-down\)/);
      assert.equal(await semiSyncEnabled(master), 1, 'a master that steps down does not go async');
      // The next check stays down while the peer is out of sight: the node stays out of the VRRP race.
      const again = await runBin('check-mysql', ['--config', writeCheckConfig(dir, { port: master.port, peerPort: stalled.port, withoutWitness: 'fence' })]);
      assert.equal(again.code, 1);
      await master.sql('SET GLOBAL rpl_semi_sync_master_enabled = 0');
      assert.equal(await commit, 'committed');
    } finally {
      stalled.child.kill('SIGKILL');
      rmSync(join(dir, 'stepdown.json'), { force: true });
    }
  });
});
