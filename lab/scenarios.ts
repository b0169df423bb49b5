import { writeFileSync, chmodSync } from 'node:fs';
import { run, sleep, waitFor } from './exec.js';
import { holderPid, sql } from './lab.js';
import type { DrillCtx, Scenario } from './drills.js';
import { CONFIG_PATH, DB_HOSTS, HOSTS, PASSWORDS, REPO_IN_HOST, SWITCH_NS, rootPath, type DbHostId } from './topology.js';

// The fault list: seed 000 §7 and seed 004 (故障切换验证) for a two-node semi-sync pair. db1 (a) starts as master.

const VIP_WAIT_MS = 25_000;
const MYSQLD_PID = '/run/mysqld/mysqld.pid';

async function failedOver(ctx: DrillCtx, to: DbHostId = 'b'): Promise<void> {
  if (!(await ctx.waitVip(to, VIP_WAIT_MS))) ctx.mark(`no VIP on ${HOSTS[to].hostname} within ${VIP_WAIT_MS / 1000} s`);
}

async function killMysqld(ctx: DrillCtx, h: DbHostId, signal: 'KILL' | 'STOP' | 'CONT'): Promise<void> {
  ctx.mark(`SIG${signal} mysqld on ${HOSTS[h].hostname}`);
  await ctx.sh(h, `kill -${signal} "$(cat ${MYSQLD_PID})"`);
}

async function rejoin(ctx: DrillCtx, h: DbHostId): Promise<void> {
  await ctx.operatorStartMysqld(h);
  await ctx.operatorStartKeepalived(h);
}

/** Powers a host off: every process killed at once, its switch port down (its VIP address then serves nothing). */
async function powerOff(ctx: DrillCtx, h: DbHostId): Promise<void> {
  ctx.mark(`power off ${HOSTS[h].hostname}`);
  const pid = holderPid(h);
  if (pid !== undefined) process.kill(pid, 'SIGKILL');
  ctx.deadSince[h] = Date.now();
  await run('ip', ['-n', SWITCH_NS, 'link', 'set', HOSTS[h].port, 'down']);
}

/** Blocks db1's switch port (bridge port state disabled: carrier stays up) or forwards again. */
async function blockPort(h: DbHostId, blocked: boolean): Promise<void> {
  await run('bridge', ['-n', SWITCH_NS, 'link', 'set', 'dev', HOSTS[h].port, 'state', blocked ? '0' : '3']);
}

/** The bridge's per-port `isolated` flag on both DB ports: only frames between db1 and db2 are dropped. */
async function isolateNodes(on: boolean): Promise<void> {
  for (const h of DB_HOSTS) await run('bridge', ['-n', SWITCH_NS, 'link', 'set', 'dev', HOSTS[h].port, 'isolated', on ? 'on' : 'off']);
}

const SWITCHOVER = `${REPO_IN_HOST}/bin/keepalived-mysql switchover --config ${CONFIG_PATH}`;
const REJOIN = `${REPO_IN_HOST}/bin/keepalived-mysql rejoin --config ${CONFIG_PATH}`;
// The example config's paths.stateDir, which the lab keeps.
const STATE_DIR = '/var/lib/keepalived-mysql';

// The operator's planned switchover, run on h; returns its exit code (the one line it printed is marked).
async function switchover(ctx: DrillCtx, h: DbHostId, args = '--wait'): Promise<number> {
  ctx.mark(`keepalived-mysql switchover ${args} on ${HOSTS[h].hostname}`);
  const out = await ctx.sh(h, `${SWITCHOVER} ${args} 2>&1; echo "exit=$?"`, 60_000);
  const code = Number(/exit=(\d+)$/.exec(out)?.[1] ?? -1);
  ctx.mark(`switchover exit ${code}: ${out.split('\n')[0] ?? ''}`);
  return code;
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'master-host-down',
    title: 'master host powered off (every process killed, link lost)',
    expect: { master: 'b', other: 'down', failover: true },
    async run(ctx) {
      await powerOff(ctx, 'a');
      await failedOver(ctx);
      await sleep(3000);
    },
  },
  {
    name: 'mysqld-crash',
    title: 'master mysqld crash (SIGKILL)',
    expect: { master: 'b', other: 'down', failover: true },
    async run(ctx) {
      await killMysqld(ctx, 'a', 'KILL');
      await failedOver(ctx);
      await sleep(3000);
    },
  },
  {
    name: 'mysqld-shutdown',
    title: 'master mysqld clean shutdown',
    expect: { master: 'b', other: 'down', failover: true },
    async run(ctx) {
      ctx.mark('mariadb-admin shutdown on db1');
      await ctx.sh('a', 'mariadb-admin -uroot shutdown', 60_000);
      await failedOver(ctx);
      await sleep(3000);
    },
  },
  {
    name: 'mysqld-hang',
    title: 'master mysqld hung (SIGSTOP), resumed (SIGCONT) after the failover, then rejoined',
    // A commit in flight when mysqld froze is in db1's binlog but was never acknowledged by db2: provably never
    // acknowledged (semi-sync never fell back), that tail is saved and discarded and db1 replicates again (issue 8).
    expect: { master: 'b', other: 'replica', failover: true },
    async run(ctx) {
      await killMysqld(ctx, 'a', 'STOP');
      await failedOver(ctx);
      await sleep(3000);
      await killMysqld(ctx, 'a', 'CONT');
      await sleep(3000);
      await rejoin(ctx, 'a');
    },
  },
  {
    name: 'wrong-credentials',
    title: 'monitor credentials wrong on the master (must not fail over)',
    expect: { master: 'a', other: 'replica', failover: false },
    async run(ctx) {
      ctx.mark('wrong password in db1 mysql.password');
      const f = rootPath('a', '/etc/keepalived-mysql/mysql.password');
      writeFileSync(f, 'not-the-password\n', { mode: 0o600 });
      chmodSync(f, 0o600);
      await sleep(10_000);
      writeFileSync(f, `${PASSWORDS.admin}\n`, { mode: 0o600 });
      ctx.mark('password restored');
      await sleep(2000);
    },
  },
  {
    name: 'master-nic-down',
    title: 'master NIC down, then up and rejoined',
    // A commit waiting for the semi-sync ack when db1 was cut off is in its binlog only, never acknowledged: healed.
    expect: { master: 'b', other: 'replica', failover: true },
    async run(ctx) {
      ctx.mark('db1 eth0 down');
      await run('ip', ['-n', HOSTS.a.ns, 'link', 'set', 'eth0', 'down']);
      await failedOver(ctx);
      await sleep(3000);
      await run('ip', ['-n', HOSTS.a.ns, 'link', 'set', 'eth0', 'up']);
      ctx.mark('db1 eth0 up');
      await sleep(3000);
      await rejoin(ctx, 'a');
    },
  },
  {
    name: 'master-partition',
    title: 'master cut off from peer and clients without losing carrier (switch port blocked), healed, rejoined',
    // A commit waiting for the semi-sync ack when db1 was cut off is in its binlog only, never acknowledged: healed.
    expect: { master: 'b', other: 'replica', failover: true },
    async run(ctx) {
      ctx.mark('partition db1 (switch port blocked, carrier up)');
      await blockPort('a', true);
      await failedOver(ctx);
      await sleep(5000);
      await blockPort('a', false);
      ctx.mark('partition healed');
      await sleep(4000);
      await rejoin(ctx, 'a');
    },
  },
  {
    name: 'short-partition',
    title: "master's switch port blocked for 4.5 s, healed before its own check or VRRP notices much",
    // db2 may have promoted (and then holds the newer writes) or not: the newer master must end serving.
    expect: { master: ['a', 'b'], other: ['replica', 'fenced'], failover: 'either' },
    async run(ctx) {
      ctx.mark('partition db1 for 4.5 s (switch port blocked, carrier up)');
      await blockPort('a', true);
      await sleep(4500);
      await blockPort('a', false);
      ctx.mark('partition healed');
      await sleep(6000);
      for (const h of DB_HOSTS) await rejoin(ctx, h);
    },
  },
  {
    name: 'peer-link-cut',
    title: 'only the link between db1 and db2 cut (clients reach both), healed after 12 s',
    expect: { master: ['a', 'b'], other: ['replica', 'fenced'], failover: 'either' },
    tradeOff: true,
    async run(ctx) {
      ctx.mark('cut db1 <-> db2 (bridge ports isolated)');
      await isolateNodes(true);
      await sleep(12_000);
      await isolateNodes(false);
      ctx.mark('link healed');
      await sleep(6000);
      for (const h of DB_HOSTS) await rejoin(ctx, h);
    },
  },
  {
    name: 'keepalived-killed',
    title: 'keepalived on the master killed without cleanup (SIGKILL via its pid files; VIP left behind)',
    expect: { master: 'b', other: 'replica', failover: true },
    async run(ctx) {
      ctx.mark('SIGKILL keepalived on db1');
      await ctx.sh('a', 'p=$(cat /run/keepalived.pid); c=$(cat /run/keepalived_vrrp.pid); kill -STOP $p $c; kill -KILL $p $c');
      await failedOver(ctx);
      await sleep(3000);
      await rejoin(ctx, 'a');
    },
  },
  {
    name: 'master-cpu-bound',
    title: 'master host CPU-bound for 12 s (two busy loops per core in its namespaces; must not fail over)',
    expect: { master: 'a', other: 'replica', failover: false },
    async run(ctx) {
      ctx.mark('db1 CPU-bound (4 busy loops)');
      await ctx.sh('a', 'for i in 1 2 3 4; do timeout 12 sh -c "while :; do :; done" & done; wait', 20_000);
      ctx.mark('db1 CPU load ended');
      await sleep(2000);
    },
  },
  {
    name: 'replica-down',
    title: 'replica mysqld down (must not fail over; semi-sync waits, then degrades), restarted and rejoined',
    expect: { master: 'a', other: 'replica', failover: false },
    tradeOff: true,
    async run(ctx) {
      await killMysqld(ctx, 'b', 'KILL');
      await sleep(8000);
      await rejoin(ctx, 'b');
    },
  },
  {
    name: 'replica-host-down',
    title: 'replica host powered off (must not fail over; writes go on once the master knows its replica is gone)',
    expect: { master: 'a', other: 'down', failover: false },
    tradeOff: true,
    async run(ctx) {
      await powerOff(ctx, 'b');
      await sleep(10_000);
    },
  },
  {
    name: 'old-master-rejoin',
    title: 'old master returns after a crash failover and rejoins as replica',
    expect: { master: 'b', other: 'replica', failover: true },
    async run(ctx) {
      await killMysqld(ctx, 'a', 'KILL');
      await failedOver(ctx);
      await sleep(3000);
      await rejoin(ctx, 'a');
    },
  },
  {
    name: 'old-master-errant',
    title: 'old master returns holding an errant transaction: it stays fenced until keepalived-mysql rejoin saves and rewinds it',
    expect: { master: 'b', other: 'replica', failover: true },
    async run(ctx) {
      await killMysqld(ctx, 'a', 'KILL');
      await failedOver(ctx);
      await sleep(2000);
      // Maintenance with the toolkit out of the way, so the errant transaction exists before db1 is seen again.
      await ctx.operatorStopKeepalived('a');
      await ctx.operatorStartMysqld('a');
      ctx.mark('errant write on db1');
      // Alone, with my.cnf's semi-sync (wait_no_slave=ON, 1 h) the commit would wait for an ACK: the operator's
      // write is asynchronous. A fence still running from db1's FAULT may kill the session: write until the row is
      // there and db1 is read-only again.
      await waitFor('the errant write on db1', 15_000, async () => {
        await sql('a', 'SET GLOBAL rpl_semi_sync_master_enabled=0; SET GLOBAL read_only=0; INSERT IGNORE INTO drill.writes (id, at_ms) VALUES (-1, 0); SET GLOBAL read_only=1;', 5000);
        // Not `SELECT COUNT(*), @@read_only FROM …`: beside an aggregate MariaDB 10.11 answers read_only 0.
        return (await sql('a', 'SELECT (SELECT COUNT(*) FROM drill.writes WHERE id = -1), @@read_only')) === '1\t1' ? true : undefined;
      }, 200);
      await ctx.operatorStartKeepalived('a');
      await sleep(5000);
      // Someone may have been acknowledged for that write: nothing heals it by itself.
      if ((await sql('a', 'SELECT @@read_only, (SELECT COUNT(*) FROM information_schema.processlist WHERE command = \'Slave_IO\')')) !== '1\t0') {
        throw new Error('db1 was not held fenced (read-only, not replicating) with its errant write');
      }
      ctx.mark('keepalived-mysql rejoin on db1');
      const out = await ctx.sh('a', `${REJOIN} 2>&1; echo "exit=$?"`, 120_000);
      ctx.mark(`rejoin: ${out.trim().split('\n').at(-1) ?? ''}`);
      if (!/exit=0$/.test(out.trim())) throw new Error(`keepalived-mysql rejoin failed: ${out.trim().split('\n').slice(-3).join(' | ')}`);
      const saved = await ctx.sh('a', `ls ${STATE_DIR}/saved/ 2>/dev/null | head -5`);
      if (saved.trim() === '') throw new Error(`rejoin saved nothing under ${STATE_DIR}/saved/`);
      ctx.mark(`saved: ${saved.trim().split('\n').join(', ')}`);
      await sleep(3000);
    },
  },
  {
    name: 'semisync-degraded',
    title: 'semi-sync degraded to async (replica IO stopped), then the master crashes; it returns and rejoins',
    expect: { master: 'b', other: 'replica', failover: true, refusalAllowed: true },
    async run(ctx) {
      ctx.mark('STOP SLAVE IO_THREAD on db2');
      await sql('b', 'STOP SLAVE IO_THREAD');
      await sleep(5000);
      // The figures measure from the crash; the 2 s semi-sync stall before it is the degradation itself.
      ctx.faultNow('fault');
      await killMysqld(ctx, 'a', 'KILL');
      await failedOver(ctx);
      await sleep(3000);
      // What it acknowledged alone is on db2 (its tail was read over SSH): it has nothing errant to come back with.
      await rejoin(ctx, 'a');
    },
  },
  {
    name: 'switchover',
    title: 'planned switchover on the master (keepalived-mysql switchover --wait): db2 becomes the master, db1 its replica',
    expect: { master: 'b', other: 'replica', failover: true },
    async run(ctx) {
      await sleep(2000);
      ctx.faultNow('switchover');
      if ((await switchover(ctx, 'a')) !== 0) ctx.mark('switchover did not succeed');
      await sleep(3000);
    },
  },
  {
    name: 'switchover-back',
    title: 'planned switchover and back, the second one run on the replica: db1 ends as the master again',
    expect: { master: 'a', other: 'replica', failover: true },
    async run(ctx) {
      await sleep(2000);
      if ((await switchover(ctx, 'a')) !== 0) ctx.mark('first switchover did not succeed');
      await sleep(3000);
      // The figures measure the way back.
      ctx.faultNow('switchover back');
      if ((await switchover(ctx, 'a')) !== 0) ctx.mark('switchover back did not succeed');
      await sleep(3000);
    },
  },
  {
    name: 'switchover-refused-lagging',
    title: 'switchover while the replica lags (MASTER_DELAY holds a 100 s old transaction): refused, nothing changes',
    expect: { master: 'a', other: 'replica', failover: false },
    async run(ctx) {
      ctx.mark('db2 lags (MASTER_DELAY 3600, a 100 s old transaction)');
      await sql('b', 'STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 3600; START SLAVE;');
      await sql('a', "SET timestamp = UNIX_TIMESTAMP() - 100; CREATE TABLE IF NOT EXISTS drill.lag (id INT PRIMARY KEY); INSERT INTO drill.lag VALUES (1);");
      // Seconds_Behind_Master rises only as the SQL thread reaches the held transaction: wait for it to show.
      for (let i = 0; i < 50; i += 1) {
        const behind = /Seconds_Behind_Master: (\d+)/.exec(await sql('b', 'SHOW SLAVE STATUS\\G', 4000, true))?.[1];
        if (Number(behind ?? 0) > 5) break;
        await sleep(200);
      }
      const code = await switchover(ctx, 'a');
      if (code !== 4) ctx.mark(`expected exit 4 (refused), got ${code}`);
      await sleep(2000);
      await sql('b', 'STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 0; START SLAVE;');
      ctx.mark('db2 delay lifted');
      await sleep(3000);
    },
  },
];

export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
