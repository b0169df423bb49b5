import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { sshdSkipReason, startSshd, type Sshd } from '../helpers/sshd.js';
import { MARIADBD, mariadbSkipReason, waitFor, waitForSync, writePrivate, type MariaDbFarm, type MariaDbServer } from '../helpers/mariadb.js';
import { readOnly, slaveStatus, startPair, writeNodeConfig } from '../helpers/notify-env.js';
import { runBin } from '../helpers/run-bin.js';
import { fileRequestStore } from '../../src/failover/request-store.js';

const skip = mariadbSkipReason();

// Semi-sync gives up after 300 ms: the old master commits alone (asynchronously), the errant tail of a partition.
const PAIR_ARGS = ['--rpl-semi-sync-master-timeout=300', '--gtid-strict-mode=1'];

type Rows = { id: number; note: string }[];
const rows = async (s: MariaDbServer): Promise<Rows> =>
  (await s.sql<{ id: number; note: string }>('SELECT id, note FROM appdb.t ORDER BY id')).map((r) => ({ id: Number(r.id), note: String(r.note) }));
const status = async (s: MariaDbServer, name: string): Promise<string> =>
  String((await s.sql<{ Value: string }>(`SHOW GLOBAL STATUS LIKE '${name}'`))[0]?.Value ?? '');
const gtid = async (s: MariaDbServer, v: string): Promise<string> =>
  String((await s.sql<{ v: string }>(`SELECT @@GLOBAL.${v} AS v`))[0]?.v ?? '');

// db1 (a) was master, db2 (b) replicated; a partition: db1 commits alone, db2 is promoted and takes writes.
async function partitionAndFailover(a: MariaDbServer, b: MariaDbServer): Promise<void> {
  await a.sql("INSERT INTO appdb.t VALUES (1, 'both'), (2, 'both'), (3, 'both')");
  await waitForSync(a, b);
  await b.sql('STOP SLAVE');
  await a.sql("INSERT INTO appdb.t VALUES (100, 'only on db1')", "UPDATE appdb.t SET note = 'changed on db1' WHERE id = 1",
    'DELETE FROM appdb.t WHERE id = 2');
  await b.sql('RESET SLAVE ALL', 'SET GLOBAL read_only = 0', "INSERT INTO appdb.t VALUES (200, 'on the new master')");
  await a.sql('SET GLOBAL read_only = 1');
}

// The node config of db1 (a), its peer db2 (b), plus a heal section.
function configFor(farm: MariaDbFarm, a: MariaDbServer, b: MariaDbServer, heal: Record<string, unknown> = {}, ssh?: Record<string, unknown>): { configPath: string; stateDir: string; logDir: string } {
  const dirs = writeNodeConfig(farm.baseDir, 'db1', a, 'db2', b, ssh ? { ssh } : {});
  const cfg = JSON.parse(readFileSync(dirs.configPath, 'utf8')) as Record<string, unknown>;
  writePrivate(dirs.configPath, JSON.stringify({ ...cfg, heal: { ...(cfg['heal'] as Record<string, unknown>), datadir: a.datadir, ...heal } }, null, 2));
  return dirs;
}

const rejoin = (configPath: string, ...args: string[]): ReturnType<typeof runBin> =>
  runBin('keepalived-mysql', ['rejoin', '--config', configPath, ...args], { timeoutMs: 170_000 });

describe('keepalived-mysql rejoin on real MariaDB (save, flashback, rejoin)', { skip }, () => {
  let farm: MariaDbFarm;
  let a: MariaDbServer;
  let b: MariaDbServer;

  beforeEach(async () => {
    ({ farm, master: a, replica: b } = await startPair(PAIR_ARGS));
  });
  afterEach(async () => {
    await farm.cleanup();
  });

  it('when db1 holds a tail db2 lacks then rejoin saves it (replayable to the same rows), rewinds it, and db1 replicates with the same GTID state', async () => {
    await partitionAndFailover(a, b);
    const before = await rows(a);
    const errantState = await gtid(a, 'gtid_binlog_state');
    const { configPath, stateDir } = configFor(farm, a, b);

    const dry = await rejoin(configPath, '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /save: 0-1-4\.\.0-1-6/);
    assert.match(dry.stdout, /discard: mariadb-binlog --flashback/);
    assert.equal(await gtid(a, 'gtid_binlog_state'), errantState, 'a dry run changes nothing');
    assert.equal(existsSync(join(stateDir, 'saved')), false);

    await b.sql('SET GLOBAL rpl_semi_sync_master_enabled = 1');
    const res = await rejoin(configPath);
    assert.equal(res.code, 0, res.stderr);
    await waitFor(async () => (await status(b, 'Rpl_semi_sync_master_clients')) === '1', 10_000, 'db1 acknowledging as a semi-sync replica');
    assert.equal(await status(a, 'Rpl_semi_sync_slave_status'), 'ON');
    await b.sql("INSERT INTO appdb.t VALUES (201, 'after the rejoin')");
    await waitForSync(b, a);
    assert.deepEqual(await rows(a), await rows(b));
    assert.equal(await gtid(a, 'gtid_binlog_state'), await gtid(b, 'gtid_binlog_state'));
    const st = await slaveStatus(a);
    assert.equal(st?.['Slave_IO_Running'], 'Yes');
    assert.equal(st?.['Using_Gtid'], 'Slave_Pos');
    assert.equal(Number(st?.['Connect_Retry']), 1);
    const [hb] = await a.sql<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Slave_heartbeat_period'");
    assert.equal(Number(hb?.Value), 1);
    assert.equal(await readOnly(a), 1);

    const [savedName] = readdirSync(join(stateDir, 'saved'));
    assert.ok(savedName !== undefined);
    const dir = join(stateDir, 'saved', savedName);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { gtids: string[]; errant: string[]; discard: { method: string; resetMaster: boolean } };
    assert.deepEqual(manifest.gtids, ['0-1-4', '0-1-5', '0-1-6']);
    assert.deepEqual(manifest.discard.method, 'flashback');
    assert.equal(manifest.discard.resetMaster, true);
    assert.match(readFileSync(join(dir, 'readable.sql'), 'utf8'), /INSERT INTO `appdb`.`t`[\s\S]*@2='only on db1'/);

    // The saved events replay on a fresh server holding the common rows to exactly db1's rows before the rejoin.
    const fresh = await farm.start({ name: 'c', serverId: 3 });
    await fresh.sql('CREATE DATABASE appdb', 'CREATE TABLE appdb.t (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB',
      "INSERT INTO appdb.t VALUES (1, 'both'), (2, 'both'), (3, 'both')");
    const sql = execFileSync('mariadb-binlog', [join(dir, 'events-000.binlog')]);
    execFileSync('mariadb', ['--no-defaults', `--socket=${fresh.socket}`, '-uroot', '--binary-mode'], { input: sql });
    assert.deepEqual(await rows(fresh), before);
    assert.equal(await gtid(fresh, 'gtid_binlog_pos'), '0-1-6');
    const replay = readFileSync(join(dir, 'replay.sql'));
    assert.ok(replay.includes('BINLOG'));
  });

  it('when the tail db1 alone holds includes DDL then the plan is a rebuild (flashback would skip the DDL silently)', async () => {
    await partitionAndFailover(a, b);
    await a.sql('SET GLOBAL read_only = 0', 'CREATE TABLE appdb.only_db1 (id INT PRIMARY KEY)', 'SET GLOBAL read_only = 1');
    const { configPath } = configFor(farm, a, b);
    const dry = await rejoin(configPath, '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /save: 0-1-4\.\.0-1-7/);
    assert.match(dry.stdout, /discard: rebuild/);
    const forced = await rejoin(configPath, '--method', 'flashback');
    assert.equal(forced.code, 4);
    assert.match(forced.stderr, /flashback impossible: 0-1-7 is a statement \(DDL\)/);
    // A rebuild renames heal.datadir away: one that is not the server's own datadir rules it out.
    const wrong = configFor(farm, a, b, { datadir: join(farm.baseDir, 'not-the-datadir') }).configPath;
    const refused = await rejoin(wrong, '--dry-run');
    assert.match(refused.stdout, /refuse: .*rebuild impossible \(heal.datadir .*not-the-datadir is not this server's datadir/);
  });

  it('when db1 is writable, holds the VIP, or the peer is read-only, then rejoin refuses with one line and exit 4 (a bad flag: 64)', async () => {
    await partitionAndFailover(a, b);
    const { configPath, stateDir } = configFor(farm, a, b);
    await a.sql('SET GLOBAL read_only = 0');
    const writable = await rejoin(configPath);
    assert.equal(writable.code, 4);
    assert.equal(writable.stderr.trim().split('\n').filter((l) => l.startsWith('keepalived-mysql:')).length, 1);
    assert.match(writable.stderr, /keepalived-mysql: rejoin refused: this node is writable/);
    await a.sql('SET GLOBAL read_only = 1');
    await b.sql('SET GLOBAL read_only = 1');
    const peerRo = await rejoin(configPath);
    assert.equal(peerRo.code, 4);
    assert.match(peerRo.stderr, /rejoin refused: the peer is read-only/);
    await b.sql('SET GLOBAL read_only = 0');
    // keepalived's latest request to db1 was MASTER: it holds (or is taking) the VIP.
    await fileRequestStore(stateDir).record({ state: 'MASTER', requestedAt: new Date().toISOString(), pid: 1, origin: 'test', transitionId: 't' });
    const vip = await rejoin(configPath);
    assert.equal(vip.code, 4);
    assert.match(vip.stderr, /rejoin refused: this node holds the VIP \(keepalived's latest request to this node .* is MASTER\)/);
    const usage = await rejoin(configPath, '--method', 'bogus');
    assert.equal(usage.code, 64);
    assert.match(usage.stderr, /--method bogus: expected one of auto, flashback, rebuild/);
    assert.equal((await slaveStatus(a))?.['Slave_IO_Running'] ?? 'No', 'No');
  });

  it('when a restarted old master has no errant transaction then rejoin only re-points it with the configured heartbeat and retry', async () => {
    await a.sql("INSERT INTO appdb.t VALUES (1, 'both')");
    await waitForSync(a, b);
    await b.sql('STOP SLAVE', 'RESET SLAVE ALL', 'SET GLOBAL read_only = 0');
    await a.sql('SET GLOBAL read_only = 1');
    const { configPath } = configFor(farm, a, b);
    const res = await rejoin(configPath);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr + readLogs(farm), /save: nothing/);
    await b.sql("INSERT INTO appdb.t VALUES (2, 'new master')");
    await waitForSync(b, a);
    assert.deepEqual(await rows(a), await rows(b));
  });
});

describe('keepalived-mysql rejoin --method rebuild: mariadb-backup streamed over a real sshd from a live new master under writes', { skip: skip ?? sshdSkipReason() }, () => {
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
    // db1's mysqld was restarted by heal.mysqldStart, outside the harness: stop it by its pid file.
    const pid = Number(readFileSync(a.pidFile, 'utf8').trim());
    if (pid > 0 && pid !== a.pid) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await farm.cleanup();
  });

  it('when db1 holds a tail and a rebuild is asked for then the tail is saved, the datadir replaced (old kept), and db1 replicates every row', async () => {
    await partitionAndFailover(a, b);
    const quote = (w: string): string => `'${w.replace(/'/g, "'\\''")}'`;
    const heal = {
      mysqldStop: ['bash', '-c', `pid=$(cat ${quote(a.pidFile)}); kill -TERM "$pid"; for i in $(seq 600); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done; exit 1`],
      mysqldStart: ['bash', '-c', `setsid ${MARIADBD} ${a.args().map(quote).join(' ')} </dev/null >/dev/null 2>&1 &`],
      peerBackupCommand: ['mariadb-backup', '--backup', '--stream=xbstream', `--socket=${b.socket}`, '--user=root', `--target-dir=${join(farm.baseDir, 'backup-tmp')}`],
    };
    const ssh = { user: sshd.user, port: sshd.port, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, connectTimeoutMs: 5000, commandTimeoutMs: 5000 };
    const { configPath, stateDir } = configFor(farm, a, b, heal, ssh);

    let writing = true;
    let next = 1000;
    const writer = (async () => {
      while (writing) {
        await b.sql(`INSERT INTO appdb.t VALUES (${next++}, 'written during the rebuild')`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const res = await rejoin(configPath, '--method', 'rebuild');
    writing = false;
    await writer;
    assert.equal(res.code, 0, res.stderr);
    assert.ok(next > 1010, `writes went on during the rebuild (${next - 1000})`);

    await waitForSync(b, a, 30_000);
    assert.deepEqual(await rows(a), await rows(b));
    assert.equal(await gtid(a, 'gtid_binlog_pos'), await gtid(b, 'gtid_binlog_pos'));
    assert.equal((await slaveStatus(a))?.['Slave_SQL_Running'], 'Yes');
    assert.equal(await readOnly(a), 1);
    const [savedName] = readdirSync(join(stateDir, 'saved'));
    const manifest = JSON.parse(readFileSync(join(stateDir, 'saved', savedName ?? '', 'manifest.json'), 'utf8')) as { gtids: string[]; discard: { method: string } };
    assert.deepEqual(manifest.gtids, ['0-1-4', '0-1-5', '0-1-6']);
    assert.equal(manifest.discard.method, 'rebuild');
    const aside = readdirSync(farm.baseDir + '/a').filter((n) => n.startsWith('data.before-rejoin-'));
    assert.equal(aside.length, 1, 'the old datadir is kept beside the new one');
  });
});

function readLogs(farm: MariaDbFarm): string {
  const dir = join(farm.baseDir, 'node-db1', 'log');
  return existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('') : '';
}
