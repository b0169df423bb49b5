import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { writeStartupRole } from '../../src/heal/startup-role.js';
import { mysql2Connector } from '../../src/mysql/mysql2-client.js';
import { mariadbSkipReason, pointReplicaAt, waitFor, waitForSync, writePrivate, type MariaDbFarm, type MariaDbServer } from '../helpers/mariadb.js';
import { slaveStatus, startPair, writeNodeConfig } from '../helpers/notify-env.js';
import { runBin } from '../helpers/run-bin.js';

const skip = mariadbSkipReason();

// The recommended semi-sync: a 1 h backstop timeout, waiting even with no replica connected (my.cnf.tmpl).
const PAIR_ARGS = ['--rpl-semi-sync-master-timeout=3600000', '--rpl-semi-sync-master-wait-no-slave=1', '--gtid-strict-mode=1'];

const gtid = async (s: MariaDbServer, v: string): Promise<string> =>
  String((await s.sql<{ v: string }>(`SELECT @@GLOBAL.${v} AS v`))[0]?.v ?? '');
const ids = async (s: MariaDbServer): Promise<number[]> =>
  (await s.sql<{ id: number }>('SELECT id FROM appdb.t ORDER BY id')).map((r) => Number(r.id));

describe('init-rpl-role=SLAVE from the startup-role file truncates the un-acknowledged binlog tail after a SIGKILL', { skip }, () => {
  let farm: MariaDbFarm;
  let a: MariaDbServer;
  let b: MariaDbServer;

  beforeEach(async () => {
    ({ farm, master: a, replica: b } = await startPair(PAIR_ARGS));
  });
  afterEach(async () => {
    await farm.cleanup();
  });

  // db1 commits 1,2 (acked), then 3 waits for an ack; db2 is promoted and writes 10; db1 is SIGKILLed and restarted
  // with `role` in its startup-role file, read through a defaults file that !includes it (as my.cnf.tmpl does).
  async function killWaitingCommitAndRestart(role: 'master' | 'replica'): Promise<void> {
    await a.sql("INSERT INTO appdb.t VALUES (1, 'acked'), (2, 'acked')");
    await waitForSync(a, b);
    // The replica stops receiving: the next commit is binlogged and synced, then waits for an ack that never comes.
    await b.sql('STOP SLAVE IO_THREAD');
    const client = await mysql2Connector.connect(a.target({ queryTimeoutMs: 60_000 }));
    const waiting = client.execute("INSERT INTO appdb.t VALUES (3, 'never acknowledged')").then(() => 'acknowledged', () => 'failed');
    await waitFor(async () => (await gtid(a, 'gtid_binlog_pos')) === '0-1-4', 10_000, 'the waiting commit in the binlog');
    assert.equal(await Promise.race([waiting, new Promise((r) => setTimeout(() => r('still waiting'), 300))]), 'still waiting');

    // Failover: db2 is promoted and takes a write; db1 lost the VIP, so its next start is as a replica.
    await b.sql('STOP SLAVE', 'RESET SLAVE ALL', 'SET GLOBAL read_only = 0', "INSERT INTO appdb.t VALUES (10, 'new master')");
    const roleFile = join(farm.baseDir, 'mariadb-startup-role.cnf');
    await writeStartupRole(roleFile, role, role === 'replica' ? 'lost the VIP (test)' : 'was master (test)', new Date());
    await a.kill();
    client.close();
    assert.equal(await waiting, 'failed', 'the client was never told the commit succeeded');

    // mysqld reads the role the way my.cnf.tmpl wires it: a defaults file that !includes the role file.
    const cnf = join(a.dir, 'my.cnf');
    writeFileSync(cnf, `[mariadbd]\n!include ${roleFile}\n`);
    const plain = a.args.bind(a);
    a.args = () => [`--defaults-file=${cnf}`, ...plain().filter((x) => x !== '--no-defaults')];
    await a.start();
  }

  function rejoinConfig(): string {
    const dirs = writeNodeConfig(farm.baseDir, 'db1', a, 'db2', b);
    const cfg = JSON.parse(readFileSync(dirs.configPath, 'utf8')) as Record<string, unknown>;
    writePrivate(dirs.configPath, JSON.stringify({ ...cfg, heal: { datadir: a.datadir } }));
    return dirs.configPath;
  }

  it('when a commit waits for its ack and mysqld is killed then the restart drops it from the binlog, GTID state matches the new master, and it replicates', async () => {
    await killWaitingCommitAndRestart('replica');
    assert.match(readFileSync(join(a.dir, 'error.log'), 'utf8'), /Successfully truncated binlog file.*to remove transactions starting from GTID 0-1-4/);
    assert.equal(await gtid(a, 'gtid_binlog_state'), '0-1-3');
    assert.deepEqual(await ids(a), [1, 2]);

    // Nothing errant is left: rejoin only re-points db1, which then replicates the new master's writes.
    const res = await runBin('keepalived-mysql', ['rejoin', '--config', rejoinConfig()], { timeoutMs: 60_000 });
    assert.equal(res.code, 0, res.stderr);
    await b.sql("INSERT INTO appdb.t VALUES (11, 'after the rejoin')");
    await waitForSync(b, a);
    assert.deepEqual(await ids(a), [1, 2, 10, 11]);
    assert.equal(await gtid(a, 'gtid_binlog_state'), await gtid(b, 'gtid_binlog_state'));
    assert.equal((await slaveStatus(a))?.['Slave_SQL_Running'], 'Yes');
  });

  it('when the node restarts as master instead then crash recovery commits the waiting transaction: errant, not provable after the restart (no automatic heal), and rejoin by hand rewinds it', async () => {
    await killWaitingCommitAndRestart('master');
    assert.doesNotMatch(readFileSync(join(a.dir, 'error.log'), 'utf8'), /truncated binlog/);
    assert.equal(await gtid(a, 'gtid_binlog_state'), '0-1-4');
    assert.deepEqual(await ids(a), [1, 2, 3]);
    const configPath = rejoinConfig();
    const dry = await runBin('keepalived-mysql', ['rejoin', '--config', configPath, '--dry-run'], { timeoutMs: 60_000 });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /verdict: errant .*mysqld restarted since the errant transactions were written/);
    assert.match(dry.stdout, /save: 0-1-4 /);
    const res = await runBin('keepalived-mysql', ['rejoin', '--config', configPath], { timeoutMs: 60_000 });
    assert.equal(res.code, 0, res.stderr);
    await waitForSync(b, a);
    assert.deepEqual(await ids(a), [1, 2, 10]);
    assert.equal(await gtid(a, 'gtid_binlog_state'), await gtid(b, 'gtid_binlog_state'));
  });

  // Why notify does not write SLAVE: a tail truncated at restart may already be on the new master, and a replica skips
  // events carrying its own server_id, so rejoining cannot bring those rows back; it only moves gtid_slave_pos past them.
  it('when the new master holds a transaction with the old master\'s server_id that it lacks then replication skips it silently', async () => {
    await a.sql("INSERT INTO appdb.t VALUES (1, 'both')");
    await waitForSync(a, b);
    await b.sql('STOP SLAVE', 'RESET SLAVE ALL', 'SET GLOBAL read_only = 0');
    const next = Number((await gtid(a, 'gtid_binlog_pos')).split('-')[2]) + 1;
    // What b holds of a truncated tail: a's server_id and the sequence number a will not have.
    await b.sql('SET SESSION server_id = 1', `SET SESSION gtid_seq_no = ${next}`, "INSERT INTO appdb.t VALUES (2, 'a truncated this')");
    await a.sql('SET GLOBAL read_only = 1', 'SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos');
    await pointReplicaAt(a, b);
    await waitFor(async () => (await gtid(a, 'gtid_slave_pos')) === `0-1-${next}`, 15_000, 'a past the transaction');
    assert.deepEqual(await ids(a), [1], 'the row never arrives');
    assert.deepEqual(await ids(b), [1, 2]);
    const st = await slaveStatus(a);
    assert.deepEqual([st?.['Slave_IO_Running'], st?.['Slave_SQL_Running']], ['Yes', 'Yes'], 'and nothing reports it');
  });
});

