import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { stopIoThreadOffSilentSource } from '../../src/failover/execute.js';
import { StepRunner } from '../../src/failover/steps.js';
import { createMemoryLogger } from '../../src/log/stderr-logger.js';
import { detectDialect } from '../../src/mysql/dialect.js';
import type { SqlClient } from '../../src/mysql/types.js';
import { systemClock } from '../../src/platform/clock.js';
import { ACCOUNTS, MariaDbFarm, mariadbSkipReason, waitFor, waitForSync, type MariaDbServer } from '../helpers/mariadb.js';
import { namespaceSkipReason } from '../helpers/namespaces.js';
import { NOTIFY_BIN, readNotifyLog, readOnly, slaveStatus, writeNodeConfig } from '../helpers/notify-env.js';

// A semi-sync replica whose master is cut off without a word (its switch port blocked: carrier up, frames dropped),
// as in the lab's master-partition drill, with the two servers in network namespaces of their own on one bridge.

const skip = mariadbSkipReason() ?? namespaceSkipReason('IO thread kill test', 'network', ['/usr/sbin/ip', '/usr/sbin/bridge']);
const tag = `kmiok${process.pid}`;
const NS = { master: `${tag}a`, replica: `${tag}b`, bridge: `${tag}s` };
const ADDR = { master: '10.203.0.1', replica: '10.203.0.2' };
const MASTER_PORT = 'pa';
// Long enough that a STOP which waited it out is unmistakable.
const KILL_CONN_TIMEOUT_S = 5;
// What a reconnect's connect waits when nothing interrupts it.
const SLAVE_NET_TIMEOUT_S = 30;
// terminate_slave_thread's pthread_kill, sent again while the thread runs.
const STOP_SIGNALS_EVERY_S = 2;

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: 'ignore' });
};

function blockMasterPort(blocked: boolean): void {
  execFileSync('bridge', ['-n', NS.bridge, 'link', 'set', 'dev', MASTER_PORT, 'state', blocked ? '0' : '3'], { stdio: 'ignore' });
}

describe('killing the replication IO thread of a semi-sync replica whose master went silent', { skip }, () => {
  const farm = new MariaDbFarm();
  let master: MariaDbServer;
  let replica: MariaDbServer;

  const point = async (): Promise<void> => {
    await replica.sql(
      `CHANGE MASTER TO MASTER_HOST='${ADDR.master}', MASTER_PORT=${master.port}, MASTER_USER='${ACCOUNTS.repl.user}', ` +
        `MASTER_PASSWORD='${ACCOUNTS.repl.password}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1`,
      'START SLAVE');
    await waitFor(async () => (await replica.sql('SHOW SLAVE STATUS'))[0]?.['Slave_IO_Running'] === 'Yes', 15_000, 'the replica connected');
  };

  // MASTER_CONNECT_RETRY=1: past the first refusal and the retry's sleep, the IO thread is connecting into silence.
  const connectingIntoSilence = async (): Promise<void> => {
    await waitFor(async () => {
      const [p] = await replica.sql("SELECT STATE AS state FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO'");
      return p?.['state'] === 'Reconnecting after a failed master event read';
    }, 15_000, 'the IO thread reconnecting');
    await new Promise((resolve) => setTimeout(resolve, 1500));
  };

  // The stop as a promotion runs it, timed; then replication is detached as the plan does next.
  const stopTimed = async (client: SqlClient): Promise<number> => {
    const log = createMemoryLogger();
    const signal = AbortSignal.timeout(20_000);
    const d = await detectDialect(client, signal);
    const started = Date.now();
    const { exited } = await stopIoThreadOffSilentSource({ steps: new StepRunner({ clock: systemClock, log }), ports: { clock: systemClock, log } }, client, d, signal);
    await exited;
    const stopMs = Date.now() - started;
    const [st] = await client.query('SHOW SLAVE STATUS');
    assert.equal(st?.['Slave_IO_Running'], 'No');
    await client.query('STOP SLAVE');
    await client.query('RESET SLAVE ALL');
    assert.deepEqual(await client.query('SHOW SLAVE STATUS'), [], 'replication detached');
    return stopMs;
  };

  before(async () => {
    for (const ns of Object.values(NS)) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    ip('-n', NS.bridge, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', NS.bridge, 'link', 'set', 'br0', 'up');
    for (const [node, port] of [['master', MASTER_PORT], ['replica', 'pb']] as const) {
      ip('-n', NS.bridge, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS[node]);
      ip('-n', NS.bridge, 'link', 'set', port, 'master', 'br0');
      ip('-n', NS.bridge, 'link', 'set', port, 'up');
      ip('-n', NS[node], 'addr', 'add', `${ADDR[node]}/24`, 'dev', 'eth0');
      ip('-n', NS[node], 'link', 'set', 'eth0', 'up');
    }
    const start = (node: 'master' | 'replica', serverId: number): Promise<MariaDbServer> => farm.start({
      name: node, serverId, launcher: ['ip', 'netns', 'exec', NS[node]],
      extraArgs: [`--bind-address=${ADDR[node]}`, `--rpl-semi-sync-slave-kill-conn-timeout=${KILL_CONN_TIMEOUT_S}`, `--slave-net-timeout=${SLAVE_NET_TIMEOUT_S}`],
    });
    [master, replica] = await Promise.all([start('master', 1), start('replica', 2)]);
    await master.sql('SET GLOBAL read_only = 0', 'SET GLOBAL rpl_semi_sync_slave_enabled = 0');
    await replica.sql('SET GLOBAL rpl_semi_sync_master_enabled = 0');
    await point();
    await master.sql('CREATE DATABASE appdb', 'CREATE TABLE appdb.t (id INT PRIMARY KEY) ENGINE=InnoDB', 'INSERT INTO appdb.t VALUES (1)');
    await waitForSync(master, replica);
  });

  after(async () => {
    await farm.cleanup();
    for (const ns of Object.values(NS)) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // not created
      }
    }
  });

  it('stops it without waiting out the semi-sync connect to the silent master', async () => {
    blockMasterPort(true);
    const client = await replica.rootClient();
    try {
      const stopMs = await stopTimed(client);
      // A STOP that reached the killed thread before its connect to the master would wait the whole 5 s.
      assert.ok(stopMs < (KILL_CONN_TIMEOUT_S * 1000) / 2, `the stop took ${stopMs} ms (rpl_semi_sync_slave_kill_conn_timeout is ${KILL_CONN_TIMEOUT_S} s)`);
    } finally {
      client.close();
      blockMasterPort(false);
    }
  });

  // The master's mysqld died first (its reset reached the replica), then its host went silent: the IO thread is inside
  // a reconnect, which a KILL does not interrupt (it waits slave_net_timeout). STOP's signal ends that connect; the
  // thread's own connect to the master then waits until kill_conn_timeout or STOP's next signal, 2 s later (2.1 s here).
  it('bounds the stop of an IO thread reconnecting to a master gone silent by STOP, not slave_net_timeout', async () => {
    await point();
    await master.kill();
    blockMasterPort(true);
    const client = await replica.rootClient();
    try {
      await connectingIntoSilence();
      const stopMs = await stopTimed(client);
      assert.ok(stopMs < Math.min(KILL_CONN_TIMEOUT_S, STOP_SIGNALS_EVERY_S) * 1000 + 1000,
        `the stop took ${stopMs} ms (kill_conn_timeout ${KILL_CONN_TIMEOUT_S} s, slave_net_timeout ${SLAVE_NET_TIMEOUT_S} s)`);
    } finally {
      client.close();
      blockMasterPort(false);
    }
  });

  // The same fault under notify MASTER: the killed thread receives nothing more, so the promotion need not wait for it.
  it('when notify promotes off that reconnecting IO thread then writes open before its STOP returns, and the detach follows', async () => {
    await master.start();
    await master.sql('SET GLOBAL read_only = 0');
    await point();
    await master.sql('INSERT INTO appdb.t VALUES (2)');
    await waitForSync(master, replica);
    const at = (server: MariaDbServer, host: string): MariaDbServer => Object.create(server, { host: { value: host } }) as MariaDbServer;
    const dirs = writeNodeConfig(farm.baseDir, 'b', at(replica, ADDR.replica), 'a', at(master, ADDR.master));
    await master.kill();
    blockMasterPort(true);
    try {
      await connectingIntoSilence();

      const r = await inReplicaNamespace(process.execPath, NOTIFY_BIN, '--config', dirs.configPath, '--foreground', 'master');

      const log = readNotifyLog(dirs);
      assert.equal(r.code, 0, r.stderr + log);
      assert.match(log, /the killed replication IO thread is still on its way out/);
      const done = (step: string): number => log.indexOf(`step ${step} done`);
      assert.ok(done('kill-sql-thread') >= 0 && done('open-writes') > done('kill-sql-thread'), log);
      assert.ok(log.indexOf('the replication IO thread has exited') > done('open-writes'), 'writes opened before the early STOP returned');
      assert.ok(done('stop-replication') > done('open-writes'));
      assert.ok(done('detach-replication') > done('stop-replication'));
      assert.equal(await readOnly(replica), 0);
      assert.equal(await slaveStatus(replica), undefined, 'replication detached (RESET SLAVE ALL)');
      assert.deepEqual((await replica.sql('SELECT id FROM appdb.t ORDER BY id')).map((x) => Number(x['id'])), [1, 2]);
    } finally {
      blockMasterPort(false);
    }
  });
});

function inReplicaNamespace(...argv: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', NS.replica, ...argv], { timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stderr });
    });
  });
}
