import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { TransitionRecord } from '../../src/history/transitions.js';
import { freePort, mariadbSkipReason, type MariaDbFarm, type MariaDbServer } from '../helpers/mariadb.js';
import { readNotifyLog, readOnly, runNotify, startPair, writeNodeConfig, type NotifyConfigOptions } from '../helpers/notify-env.js';
import { sshdSkipReason, startSshd, type Sshd } from '../helpers/sshd.js';

const skip = mariadbSkipReason() ?? sshdSkipReason();

// Semi-sync gives up after 200 ms and the master goes on asynchronously: the drill's "acknowledged, never replicated" writes.
const PAIR_ARGS = ['--rpl-semi-sync-master-timeout=200', '--gtid-strict-mode=1'];

const ids = async (s: MariaDbServer): Promise<number[]> =>
  (await s.sql<{ id: number }>('SELECT id FROM appdb.t ORDER BY id')).map((r) => Number(r.id));

const gtidBinlogPos = async (s: MariaDbServer): Promise<string> =>
  String((await s.sql<{ p: string }>('SELECT @@GLOBAL.gtid_binlog_pos AS p'))[0]?.p ?? '');

// A step's logged duration (ms), for the figures in the test output.
function stepMs(log: string, step: string): number | undefined {
  const m = new RegExp(`step ${step} done.*?"durationMs":(\\d+)`).exec(log);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

describe("notify MASTER recovering the dead old master's binlog tail over a real sshd", { skip }, () => {
  let farm: MariaDbFarm;
  let a: MariaDbServer;
  let b: MariaDbServer;
  let sshd: Sshd;

  beforeEach(async () => {
    ({ farm, master: a, replica: b } = await startPair(PAIR_ARGS));
    sshd = await startSshd();
  });
  afterEach(async () => {
    await sshd.stop();
    await farm.cleanup();
  });

  const configFor = (o: NotifyConfigOptions & { sshPort?: number } = {}): string => {
    const ssh = { user: sshd.user, port: o.sshPort ?? sshd.port, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile,
      connectTimeoutMs: 2000, commandTimeoutMs: 3000 };
    return writeNodeConfig(farm.baseDir, 'b', b, 'a', a, { ssh, peerBinlogIndexFile: join(a.datadir, 'mysql-bin.index'), ...o }).configPath;
  };

  // The drill: the replica stops receiving, the master commits alone (semi-sync times out), then its mysqld is SIGKILLed.
  async function writeAloneThenKill(rows: number[]): Promise<string[]> {
    await b.sql('STOP SLAVE IO_THREAD');
    const gtids: string[] = [];
    for (const id of rows) {
      await a.sql(`INSERT INTO appdb.t VALUES (${id}, 'only on the old master')`);
      gtids.push(await gtidBinlogPos(a));
    }
    await a.kill();
    return gtids;
  }

  it('when the replica missed acknowledged writes and the old master host is up then they are applied with their GTIDs before writes open', async () => {
    const configPath = configFor();
    const gtids = await writeAloneThenKill([1, 2, 3]);

    const r = await runNotify(['--config', configPath, '--foreground', 'master']);

    const log = readNotifyLog({ logDir: join(farm.baseDir, 'node-b', 'log'), stateDir: '', configPath });
    assert.equal(r.code, 0, r.stderr + log);
    assert.deepEqual(await ids(b), [1, 2, 3]);
    assert.equal(await readOnly(b), 0);
    assert.equal(await gtidBinlogPos(b), gtids.at(-1), "the recovered transactions keep the old master's GTIDs");
    assert.match(log, new RegExp(`recovered 3 transaction\\(s\\) \\(GTIDs ${gtids[0]}\\.\\.${gtids[2]}\\) at mysql-bin\\.000001:\\d+-\\d+`));
    // Order matters: the recovery ran before the writes opened.
    assert.ok(log.indexOf('step apply-old-master-tail done') < log.indexOf('step open-writes done'), log);
    // The ledger names the recovered GTIDs, read back from the applied events.
    const ledger = readFileSync(join(farm.baseDir, 'node-b', 'state', 'transitions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TransitionRecord);
    assert.deepEqual(ledger.at(-1)?.recoveredTail?.gtids, gtids);
    assert.deepEqual(ledger.at(-1)?.recoveredTail?.files.map((f) => f.replace(/.*\//, '')), ['mysql-bin.000001']);
    await b.sql("INSERT INTO appdb.t VALUES (4, 'new master')");
    assert.equal(readdirSync(join(farm.baseDir, 'node-b', 'state')).filter((f) => f.startsWith('recover-')).length, 0, 'temp files removed');
    console.log(`# figures: read-old-master-tail ${stepMs(log, 'read-old-master-tail')} ms, apply-old-master-tail ${stepMs(log, 'apply-old-master-tail')} ms, notify total ${r.ms} ms`);
  });

  it('when the old master rotated its binlog after the replica stopped receiving then the transactions of both files are applied in order', async () => {
    const configPath = configFor();
    await b.sql('STOP SLAVE IO_THREAD');
    await a.sql("INSERT INTO appdb.t VALUES (21, 'before the rotation')", 'FLUSH BINARY LOGS', "INSERT INTO appdb.t VALUES (22, 'after it')");
    const last = await gtidBinlogPos(a);
    await a.kill();

    const r = await runNotify(['--config', configPath, '--foreground', 'master']);

    const log = readNotifyLog({ logDir: join(farm.baseDir, 'node-b', 'log'), stateDir: '', configPath });
    assert.equal(r.code, 0, r.stderr + log);
    assert.deepEqual(await ids(b), [21, 22]);
    assert.equal(await gtidBinlogPos(b), last);
    assert.match(log, /recovered 2 transaction\(s\) .* at mysql-bin\.000001:\d+-\d+, mysql-bin\.000002:\d+-\d+/);
    const ledger = readFileSync(join(farm.baseDir, 'node-b', 'state', 'transitions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TransitionRecord);
    assert.equal(ledger.at(-1)?.recoveredTail?.gtids.at(-1), last);
    assert.equal(ledger.at(-1)?.recoveredTail?.gtids.length, 2);
  });

  it('when applying the recovered transactions fails and the policy is refuse then notify exits 4, stays read-only and keeps the fetched binlog', async () => {
    const configPath = configFor({ onCatchUpTimeout: 'refuse' });
    // A conflicting row only on the replica: the recovered INSERT fails with a duplicate key.
    await b.sql('SET sql_log_bin = 0', "INSERT INTO appdb.t VALUES (31, 'conflict')");
    await writeAloneThenKill([31]);

    const r = await runNotify(['--config', configPath, '--foreground', 'master']);

    assert.equal(r.code, 4, r.stderr);
    assert.equal(await readOnly(b), 1);
    assert.match(r.stderr, /applying them failed: applying .*mysql-bin\.000001:\d+-\d+ \(kept in .*recover-.*\.binlog\) failed: .*Duplicate entry/);
    const kept = readdirSync(join(farm.baseDir, 'node-b', 'state')).filter((f) => f.startsWith('recover-'));
    assert.equal(kept.length, 1, `only the fetched binlog is kept, not the credentials file: ${kept.join(', ')}`);
    assert.match(kept[0] ?? '', /\.binlog$/);
    assert.equal(statSync(join(farm.baseDir, 'node-b', 'state', kept[0] ?? '')).mode & 0o777, 0o600);
  });

  it('when notify master runs with --dry-run then it prints the tail recovery step and changes nothing', async () => {
    const configPath = configFor();
    await writeAloneThenKill([41]);

    const r = await runNotify(['--config', configPath, '--dry-run', 'master']);

    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\[recover-tail\] would read the old master's binlogs over SSH from mysql-bin\.000001:\d+ and apply/);
    assert.equal(await readOnly(b), 1);
    assert.deepEqual(await ids(b), []);
    assert.notEqual((await b.sql('SHOW SLAVE STATUS')).length, 0, 'replication still configured');
  });

  it('when recovery is off and the policy is refuse then notify exits 4, stays read-only and the error names the missing GTIDs', async () => {
    const configPath = configFor({ recoverOldMasterTail: false, onCatchUpTimeout: 'refuse' });
    const gtids = await writeAloneThenKill([5, 6]);

    const r = await runNotify(['--config', configPath, '--foreground', 'master']);

    assert.equal(r.code, 4, r.stderr);
    assert.equal(await readOnly(b), 1);
    assert.deepEqual(await ids(b), []);
    assert.match(r.stderr, new RegExp(`2 transaction\\(s\\) \\(GTIDs ${gtids[0]}\\.\\.${gtids[1]}\\) at mysql-bin\\.000001:\\d+-\\d+ missing here; ` +
      'notify.recoverOldMasterTail is false; onCatchUpTimeout=refuse: staying read-only. To recover.*mariadb-binlog --start-position=\\d+'));
  });

  it('when the old master host is down (SSH port closed) then notify promotes as before with a warning, within the SSH deadline', async () => {
    const configPath = configFor({ sshPort: await freePort() });
    await writeAloneThenKill([7]);

    const r = await runNotify(['--config', configPath, '--foreground', 'master']);

    const log = readNotifyLog({ logDir: join(farm.baseDir, 'node-b', 'log'), stateDir: '', configPath });
    assert.equal(r.code, 0, r.stderr + log);
    assert.equal(await readOnly(b), 0);
    assert.match(log, / warn old master's binlog unreachable; replica applied mysql-bin\.000001:\d+/);
    const ms = stepMs(log, 'read-old-master-tail');
    assert.ok(ms !== undefined && ms < 2000 + 500, `tail read bounded by the SSH connect timeout, took ${ms} ms`);
    assert.deepEqual(await ids(b), [], 'the write only the dead host had is the documented loss');
  });

  it('when the old master\'s last transaction is torn then only the complete ones before it are applied', async () => {
    const configPath = configFor();
    const gtids = await writeAloneThenKill([8, 9, 10]);
    const binlog = join(a.datadir, 'mysql-bin.000001');
    // Cut into the last transaction's commit event, as a crash mid-write leaves it.
    truncateSync(binlog, statSync(binlog).size - 10);
    const before = readFileSync(binlog).length;

    const r = await runNotify(['--config', configPath, '--foreground', 'master']);

    const log = readNotifyLog({ logDir: join(farm.baseDir, 'node-b', 'log'), stateDir: '', configPath });
    assert.equal(r.code, 0, r.stderr + log);
    assert.deepEqual(await ids(b), [8, 9]);
    assert.equal(await gtidBinlogPos(b), gtids[1]);
    assert.match(log, new RegExp(`recovered 2 transaction\\(s\\) \\(GTIDs ${gtids[0]}\\.\\.${gtids[1]}\\)`));
    assert.equal(readFileSync(binlog).length, before, "the old master's binlog is only read");
  });
});
