import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { stopIoThreadOffSilentSource } from '../../src/failover/execute.js';
import { StepRunner } from '../../src/failover/steps.js';
import { createMemoryLogger } from '../../src/log/stderr-logger.js';
import { detectDialect } from '../../src/mysql/dialect.js';
import { systemClock } from '../../src/platform/clock.js';
import { ACCOUNTS, MariaDbFarm, mariadbSkipReason, waitFor, waitForSync, type MariaDbServer } from '../helpers/mariadb.js';
import { namespaceSkipReason } from '../helpers/namespaces.js';

// A semi-sync replica whose master is cut off without a word (its switch port blocked: carrier up, frames dropped),
// as in the lab's master-partition drill, with the two servers in network namespaces of their own on one bridge.

const skip = mariadbSkipReason() ?? namespaceSkipReason('IO thread kill test', 'network', ['/usr/sbin/ip', '/usr/sbin/bridge']);
const tag = `kmiok${process.pid}`;
const NS = { master: `${tag}a`, replica: `${tag}b`, bridge: `${tag}s` };
const ADDR = { master: '10.203.0.1', replica: '10.203.0.2' };
const MASTER_PORT = 'pa';
// Long enough that a STOP which waited it out is unmistakable.
const KILL_CONN_TIMEOUT_S = 5;

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
      extraArgs: [`--bind-address=${ADDR[node]}`, `--rpl-semi-sync-slave-kill-conn-timeout=${KILL_CONN_TIMEOUT_S}`, '--slave-net-timeout=30'],
    });
    [master, replica] = await Promise.all([start('master', 1), start('replica', 2)]);
    await master.sql('SET GLOBAL read_only = 0', 'SET GLOBAL rpl_semi_sync_slave_enabled = 0');
    await replica.sql('SET GLOBAL rpl_semi_sync_master_enabled = 0',
      `CHANGE MASTER TO MASTER_HOST='${ADDR.master}', MASTER_PORT=${master.port}, MASTER_USER='${ACCOUNTS.repl.user}', ` +
        `MASTER_PASSWORD='${ACCOUNTS.repl.password}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1`,
      'START SLAVE');
    await waitFor(async () => (await replica.sql('SHOW SLAVE STATUS'))[0]?.['Slave_IO_Running'] === 'Yes', 15_000, 'the replica connected');
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
      const log = createMemoryLogger();
      const signal = AbortSignal.timeout(20_000);
      const d = await detectDialect(client, signal);
      const started = Date.now();
      await stopIoThreadOffSilentSource({ steps: new StepRunner({ clock: systemClock, log }), ports: { clock: systemClock, log } }, client, d, signal);
      const stopMs = Date.now() - started;
      const [st] = await client.query('SHOW SLAVE STATUS');
      assert.equal(st?.['Slave_IO_Running'], 'No');
      // A STOP that reached the killed thread before its connect to the master would wait the whole 5 s.
      assert.ok(stopMs < (KILL_CONN_TIMEOUT_S * 1000) / 2, `the stop took ${stopMs} ms (rpl_semi_sync_slave_kill_conn_timeout is ${KILL_CONN_TIMEOUT_S} s)`);
      await client.query('STOP SLAVE');
      await client.query('RESET SLAVE ALL');
      assert.deepEqual(await client.query('SHOW SLAVE STATUS'), [], 'replication detached');
    } finally {
      client.close();
      blockMasterPort(false);
    }
  });
});
