import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MariaDbFarm, mariadbSkipReason, waitFor, waitForSync, type MariaDbServer } from '../helpers/mariadb.js';
import {
  readJsonFile, readNotifyLog, readOnly, runNotify, slaveStatus, writeNodeConfig, type NodeDirs, startPair } from '../helpers/notify-env.js';
import { sshdSkipReason, startSshd, type Sshd } from '../helpers/sshd.js';

const skip = mariadbSkipReason();
const sshSkip = skip ?? sshdSkipReason();

async function checksum(s: MariaDbServer): Promise<string> {
  const [row] = await s.sql('CHECKSUM TABLE appdb.t');
  return String(row?.['Checksum']);
}

describe('notify BACKUP on a real MariaDB old master', { skip }, () => {
  let farm: MariaDbFarm;
  let a: MariaDbServer;
  let b: MariaDbServer;

  beforeEach(async () => {
    ({ farm, master: a, replica: b } = await startPair());
    await a.sql("INSERT INTO appdb.t VALUES (1, 'one'), (2, 'two')");
    await waitForSync(a, b);
  });
  afterEach(() => farm.cleanup());

  it('when the old master is demoted after a switchover then it replicates from the new master and the data is equal', async () => {
    const bDirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a);
    const aDirs = writeNodeConfig(farm.baseDir, 'a', a, 'b', b);
    assert.equal((await runNotify(['--config', bDirs.configPath, '--foreground', 'master'])).code, 0);
    await b.sql("INSERT INTO appdb.t VALUES (3, 'on the new master')");

    const r = await runNotify(['--config', aDirs.configPath, '--foreground', 'backup']);

    assert.equal(r.code, 0, r.stderr + readNotifyLog(aDirs));
    assert.equal(await readOnly(a), 1);
    const st = await slaveStatus(a);
    assert.equal(st?.['Slave_IO_Running'], 'Yes');
    assert.equal(st?.['Slave_SQL_Running'], 'Yes');
    assert.equal(Number(st?.['Master_Port']), b.port);
    assert.equal(st?.['Using_Gtid'], 'Slave_Pos');
    await b.sql("INSERT INTO appdb.t VALUES (4, 'after the rejoin')");
    await waitForSync(b, a);
    assert.equal(await checksum(a), await checksum(b));
    const [semi] = await a.sql('SELECT @@rpl_semi_sync_master_enabled AS m, @@rpl_semi_sync_slave_enabled AS s');
    assert.deepEqual([Number(semi?.['m']), Number(semi?.['s'])], [0, 1]);
    const [status] = await b.sql("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'");
    assert.equal(Number(status?.['Value']), 1, 'the new master has its semi-sync replica');
    assert.equal(readJsonFile(join(aDirs.stateDir, 'position.json'))?.['role'], 'replica');
  });

  it('when BACKUP runs again on a replica already acknowledging with the configured timers then replication is left running, and re-applied once they drift', async () => {
    const bDirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a);
    const aDirs = writeNodeConfig(farm.baseDir, 'a', a, 'b', b);
    assert.equal((await runNotify(['--config', bDirs.configPath, '--foreground', 'master'])).code, 0);
    assert.equal((await runNotify(['--config', aDirs.configPath, '--foreground', 'backup'])).code, 0);
    await waitFor(async () => (await a.sql("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_slave_status'"))[0]?.['Value'] === 'ON', 10_000, 'a acknowledging');
    const ioThread = async (): Promise<number> => Number((await a.sql("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO'"))[0]?.['ID']);
    const before = await ioThread();

    const again = await runNotify(['--config', aDirs.configPath, '--foreground', 'backup']);

    assert.equal(again.code, 0, again.stderr);
    assert.equal(await ioThread(), before, 'the IO thread was not restarted (no gap in its acknowledgements)');
    assert.match(readNotifyLog(aDirs), /already replicating from the new master with the configured timers, as a semi-sync replica: left running/);

    await a.sql('STOP SLAVE', 'CHANGE MASTER TO MASTER_CONNECT_RETRY = 10', 'START SLAVE');
    assert.equal((await runNotify(['--config', aDirs.configPath, '--foreground', 'backup'])).code, 0);
    assert.equal(Number((await slaveStatus(a))?.['Connect_Retry']), 1, 'a drifted timer is re-applied');
  });

  it('when the old master holds a transaction the new master lacks then BACKUP exits 3, stays read-only and logs the GTIDs', async () => {
    const bDirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a);
    const aDirs = writeNodeConfig(farm.baseDir, 'a', a, 'b', b);
    await b.sql('STOP SLAVE IO_THREAD');
    await a.sql('SET GLOBAL rpl_semi_sync_master_enabled = 0', "INSERT INTO appdb.t VALUES (99, 'never replicated')");
    const [errant] = await a.sql<{ pos: string }>('SELECT @@gtid_binlog_pos AS pos');
    await a.stop();
    assert.equal((await runNotify(['--config', bDirs.configPath, '--foreground', 'master'])).code, 0);
    await a.start();

    const r = await runNotify(['--config', aDirs.configPath, '--foreground', 'backup']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(await readOnly(a), 1);
    const st = await slaveStatus(a);
    assert.notEqual(st?.['Slave_IO_Running'], 'Yes', 'replication not started');
    assert.match(r.stderr, /errant transactions/);
    assert.ok(readNotifyLog(aDirs).includes(String(errant?.pos)), `log names ${errant?.pos}`);
    assert.equal((await a.sql('SELECT id FROM appdb.t WHERE id = 99')).length, 1, 'nothing was reset or hidden');
  });

  it('when keepalived reports STOP on the master then it is fenced and its master coordinates are recorded and logged', async () => {
    const aDirs = writeNodeConfig(farm.baseDir, 'a', a, 'b', b);
    const [pos] = await a.sql<{ pos: string }>('SELECT @@gtid_binlog_pos AS pos');

    const r = await runNotify(['--config', aDirs.configPath, '--foreground', 'INSTANCE', 'VI_1', 'STOP', '0']);

    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readOnly(a), 1);
    const rec = readJsonFile(join(aDirs.stateDir, 'position.json'));
    assert.deepEqual([rec?.['role'], rec?.['gtidBinlogPos']], ['stopped', pos?.pos]);
    assert.match(readNotifyLog(aDirs), /master coordinates mysql-bin\.\d+:\d+ gtid /);
  });

  it('when the new master MySQL and SSH are both unreachable then BACKUP stays fenced with a clear error', async () => {
    const bDirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a);
    const aDirs = writeNodeConfig(farm.baseDir, 'a', a, 'b', b);
    assert.equal((await runNotify(['--config', bDirs.configPath, '--foreground', 'master'])).code, 0);
    await b.kill();

    const r = await runNotify(['--config', aDirs.configPath, '--foreground', 'backup']);

    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr, /cannot learn the new master's position|SSH/);
    assert.equal(await readOnly(a), 1);
    assert.equal(await slaveStatus(a), undefined, 'no replication configured');
  });
});

describe('notify BACKUP falling back to the peer position.json over a real sshd', { skip: sshSkip }, () => {
  let farm: MariaDbFarm;
  let a: MariaDbServer;
  let b: MariaDbServer;
  let sshd: Sshd;
  let aDirs: NodeDirs;

  beforeEach(async () => {
    ({ farm, master: a, replica: b } = await startPair());
    sshd = await startSshd();
    const ssh = { user: sshd.user, port: sshd.port, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, connectTimeoutMs: 2000, commandTimeoutMs: 3000 };
    const bDirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a, { ssh });
    aDirs = writeNodeConfig(farm.baseDir, 'a', a, 'b', b, { ssh });
    await a.sql("INSERT INTO appdb.t VALUES (1, 'one')");
    await waitForSync(a, b);
    assert.equal((await runNotify(['--config', bDirs.configPath, '--foreground', 'master'])).code, 0);
    await b.kill();
  });
  afterEach(async () => {
    await sshd.stop();
    await farm.cleanup();
  });

  it('when the new master MySQL is down then BACKUP checks against its recorded position.json and configures replication to it', async () => {
    const r = await runNotify(['--config', aDirs.configPath, '--foreground', 'backup']);

    // Configured but not connected (the peer's mysqld is down): exit 69, and the IO thread keeps retrying.
    assert.equal(r.code, 69, r.stderr + readNotifyLog(aDirs));
    assert.match(readNotifyLog(aDirs), /using the peer's recorded position \(role master/);
    assert.equal(await readOnly(a), 1);
    const st = await slaveStatus(a);
    assert.equal(Number(st?.['Master_Port']), b.port);
    await b.start();
    await waitFor(async () => (await slaveStatus(a))?.['Slave_IO_Running'] === 'Yes', 20_000, 'IO thread connected once the peer is back');
    await b.sql("INSERT INTO appdb.t VALUES (2, 'after the peer came back')");
    await waitForSync(b, a);
    assert.equal((await a.sql('SELECT id FROM appdb.t WHERE id = 2')).length, 1);
  });

  it('when the peer host key changed then the SSH fallback is refused and the node stays fenced without replication', async () => {
    await sshd.regenerateHostKey();

    const r = await runNotify(['--config', aDirs.configPath, '--foreground', 'backup']);

    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr + readNotifyLog(aDirs), /host key/i);
    assert.equal(await readOnly(a), 1);
    assert.equal(await slaveStatus(a), undefined);
  });
});

describe("notify MASTER reading the dead old master's binlog tail over a real sshd", { skip: sshSkip }, () => {
  let farm: MariaDbFarm;
  let a: MariaDbServer;
  let b: MariaDbServer;
  let sshd: Sshd;

  beforeEach(async () => {
    ({ farm, master: a, replica: b } = await startPair());
    sshd = await startSshd();
  });
  afterEach(async () => {
    await sshd.stop();
    await farm.cleanup();
  });

  it('when the old master is dead then the log says where its binlog ended and what the replica applied, with no gap', async () => {
    const ssh = { user: sshd.user, port: sshd.port, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, connectTimeoutMs: 2000, commandTimeoutMs: 3000 };
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a, { ssh, peerBinlogIndexFile: join(a.datadir, 'mysql-bin.index') });
    await a.sql("INSERT INTO appdb.t VALUES (1, 'one')");
    await waitForSync(a, b);
    const [pos] = await a.sql<{ pos: string }>('SELECT @@gtid_binlog_pos AS pos');
    await a.kill();

    const r = await runNotify(['--config', dirs.configPath, '--foreground', 'master']);

    assert.equal(r.code, 0, r.stderr);
    const log = readNotifyLog(dirs);
    assert.match(log, /info old master ended at mysql-bin\.000001:\d+.*, replica applied mysql-bin\.000001:\d+/, log);
    assert.doesNotMatch(log, /possible loss/);
    assert.ok(log.includes(String(pos?.pos)), `log names the applied GTID ${pos?.pos}`);
  });
});
