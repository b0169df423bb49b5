import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Finding } from '../../src/doctor/checks.js';
import { keepalivedSkipReason, type Keepalived } from '../helpers/keepalived.js';
import { ACCOUNTS, mariadbSkipReason, writePrivate, type MariaDbFarm, type MariaDbServer } from '../helpers/mariadb.js';
import { startObservedPair, type ObservedPair } from '../helpers/observed-pair.js';
import { runBin } from '../helpers/run-bin.js';
import { sshdSkipReason, type Sshd } from '../helpers/sshd.js';

const skip = mariadbSkipReason() ?? sshdSkipReason() ?? keepalivedSkipReason();

// The wiring of templates/keepalived.conf.tmpl; `plant` swaps one line for a misconfiguration.
function keepalivedConf(deadlineS: number, stateDir: string, plant: (text: string) => string = (t) => t): string {
  return plant(`global_defs {
  router_id doctor_test
  enable_script_security
  script_user root
}
track_file km_switchover {
  file "${stateDir}/switchover.weight"
  weight 0
  init_file 0
}
track_file km_takeover {
  file "${stateDir}/switchover.takeover"
  weight 254
  init_file 0
}
vrrp_script chk_mysql {
  script "/opt/keepalived-mysql/bin/check-mysql --config /etc/keepalived-mysql/config.json"
  interval 1
  timeout ${deadlineS + 2}
  fall 1
  rise 2
}
vrrp_instance VI_1 {
  state BACKUP
  nopreempt
  interface eth0
  virtual_router_id 51
  priority 101
  advert_int 1
  virtual_ipaddress {
    192.0.2.10/24 dev eth0
  }
  track_script {
    chk_mysql
  }
  track_file {
    km_switchover weight 0
    km_takeover weight 254
  }
  notify "/opt/keepalived-mysql/bin/notify --config /etc/keepalived-mysql/config.json"
}
`);
}

interface DoctorRun {
  readonly code: number | null;
  readonly findings: readonly Finding[];
  readonly text: string;
}

describe('keepalived-mysql doctor on a real MariaDB pair', { skip }, () => {
  let pair: ObservedPair | undefined;
  let farm: MariaDbFarm;
  let a: MariaDbServer;
  let b: MariaDbServer;
  let sshd: Sshd;
  let keepalived: Keepalived;
  let dir: string;
  let good: Record<string, Record<string, unknown>>;
  let stateDir: string;

  const deadlineMs = 8000;

  // Writes a 0600 config: the good one with `edit` applied.
  function config(edit: (c: Record<string, Record<string, unknown>>) => void = () => undefined): string {
    const c = structuredClone(good);
    edit(c);
    const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
    writePrivate(path, JSON.stringify(c));
    return path;
  }

  function file(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  async function doctor(configPath: string): Promise<DoctorRun> {
    const json = await runBin('keepalived-mysql', ['doctor', '--config', configPath, '--json']);
    assert.equal(json.stderr, '');
    const findings = (JSON.parse(json.stdout) as { findings: Finding[] }).findings;
    const text = await runBin('keepalived-mysql', ['doctor', '--config', configPath]);
    assert.equal(text.code, json.code);
    return { code: json.code, findings, text: text.stdout };
  }

  function level(r: DoctorRun, id: string): string {
    const f = r.findings.find((x) => x.id === id);
    assert.ok(f, `no finding ${id} in ${r.text}`);
    return `${f.level}: ${f.message}${f.fix ? ` | fix: ${f.fix}` : ''}`;
  }

  async function planted(edit: (c: Record<string, Record<string, unknown>>) => void, id: string, expected: RegExp): Promise<void> {
    const r = await doctor(config(edit));
    assert.match(level(r, id), expected, r.text);
    if (expected.source.startsWith('^FAIL')) assert.equal(r.code, 1, r.text);
  }

  before(async () => {
    pair = await startObservedPair('doctor');
    ({ farm, a, b, sshd, keepalived, dir } = pair);
    // What the test servers lack of the README's settings (all dynamic in MariaDB).
    for (const s of [a, b]) await s.sql('SET GLOBAL gtid_strict_mode = 1', 'SET GLOBAL sync_binlog = 1', 'SET GLOBAL rpl_semi_sync_master_timeout = 10000');
    const base = pair.node;
    for (const d of ['state', 'log']) mkdirSync(join(farm.baseDir, 'node-a', d), { recursive: true });
    good = JSON.parse(readFileSync(base.configPath, 'utf8')) as Record<string, Record<string, unknown>>;
    good['check'] = { ...good['check'], deadlineMs };
    good['paths'] = { ...good['paths'], keepalivedPidFile: keepalived.pidFile };
    stateDir = base.stateDir;
    // What keepalived's init_file leaves there when it starts with this wiring.
    for (const f of ['switchover.weight', 'switchover.takeover']) writeFileSync(join(stateDir, f), '0\n');
    good['keepalived'] = { confFile: file('keepalived.conf', keepalivedConf(deadlineMs / 1000, stateDir)) };
    good['doctor'] = { myCnf: file('my.cnf', '[mariadbd]\nread-only = ON\nlog-slave-updates = ON\n') };
  });
  after(async () => {
    await pair?.stop();
  });

  it('when both nodes are configured as the README says then every line passes and it exits 0', async () => {
    const r = await doctor(config());
    const notPass = r.findings.filter((f) => f.level !== 'PASS').map((f) => `${f.level} ${f.id}`);
    assert.deepEqual(notPass, [], r.text);
    assert.equal(r.code, 0);
    for (const id of ['a.log_slave_updates', 'b.wait_point', 'pair.server_id', 'pair.clock', 'replication_account.b', 'ssh.peer', 'keepalived.VI_1.vrid', 'my.cnf.read_only', 'files.config']) {
      assert.match(level(r, id), /^PASS/);
    }
    assert.match(r.text, /^PASS  SSH key login to .* host key from .*known_hosts verified$/m);
    assert.match(r.text, /\n\d+ pass, 0 warn, 0 fail\n$/);
  });

  it('when gtid_strict_mode is off on the peer then b.gtid FAILs', async () => {
    await b.sql('SET GLOBAL gtid_strict_mode = 0');
    try {
      await planted(() => undefined, 'b.gtid', /^FAIL: b: gtid_strict_mode off.*\| fix: my\.cnf: gtid-strict-mode = ON$/);
    } finally {
      await b.sql('SET GLOBAL gtid_strict_mode = 1');
    }
  });

  it('when the wait point is AFTER_COMMIT then a.wait_point FAILs', async () => {
    await a.sql("SET GLOBAL rpl_semi_sync_master_wait_point = 'AFTER_COMMIT'");
    try {
      await planted(() => undefined, 'a.wait_point', /^FAIL: a: semi-sync wait point AFTER_COMMIT/);
    } finally {
      await a.sql("SET GLOBAL rpl_semi_sync_master_wait_point = 'AFTER_SYNC'");
    }
  });

  it('when semi-sync stops waiting once no replica is connected then a.wait_no_slave FAILs', async () => {
    await a.sql('SET GLOBAL rpl_semi_sync_master_wait_no_slave = 0');
    try {
      await planted(() => undefined, 'a.wait_no_slave', /^FAIL: a: semi-sync wait_no_slave is OFF/);
    } finally {
      await a.sql('SET GLOBAL rpl_semi_sync_master_wait_no_slave = 1');
    }
  });

  it('when the semi-sync timeout is below check.deadlineMs then a.semisync_timeout WARNs', async () => {
    await a.sql('SET GLOBAL rpl_semi_sync_master_timeout = 2000');
    try {
      await planted(() => undefined, 'a.semisync_timeout', /^WARN: a: semi-sync timeout 2000 ms is not above check\.deadlineMs 8000 ms/);
    } finally {
      await a.sql('SET GLOBAL rpl_semi_sync_master_timeout = 10000');
    }
  });

  describe('against a third server (b\'s port) that shares a\'s server id and does not log its replica updates', () => {
    let c: MariaDbServer;
    before(async () => {
      c = await farm.start({ name: 'c', serverId: 1, extraArgs: ['--skip-log-slave-updates'] });
      await c.sql('SET GLOBAL gtid_strict_mode = 1', 'SET GLOBAL sync_binlog = 1', 'SET GLOBAL rpl_semi_sync_master_timeout = 10000');
    });
    const peerC = (cfg: Record<string, Record<string, unknown>>): void => {
      cfg['peer'] = { ...cfg['peer'], mysqlPort: c.port };
    };
    it('then the peer\'s log_slave_updates FAILs', async () => {
      await planted(peerC, 'b.log_slave_updates', /^FAIL: b: log_slave_updates is OFF/);
    });
    it('then pair.server_id FAILs', async () => {
      await planted(peerC, 'pair.server_id', /^FAIL: a and b share server_id 1/);
    });
  });

  it('when my.cnf does not start the server read-only then my.cnf.read_only FAILs', async () => {
    const cnf = file('my-rw.cnf', '[mysqld]\nread-only = OFF\n');
    await planted((c) => { c['doctor'] = { myCnf: cnf }; }, 'my.cnf.read_only', /^FAIL: read_only is OFF at start in .*my-rw\.cnf/);
    const none = file('my-none.cnf', '[mysqld]\nport = 3306\n');
    await planted((c) => { c['doctor'] = { myCnf: none }; }, 'my.cnf.read_only', /^FAIL: read_only not set at start/);
  });

  it('when the toolkit account has only PROCESS then a.grants and b.grants FAIL naming SUPER and REPLICATION CLIENT', async () => {
    for (const s of [a, b]) await s.sql('SET sql_log_bin = 0', "CREATE USER IF NOT EXISTS 'weak'@'%' IDENTIFIED BY 'weak-pw'", "GRANT PROCESS ON *.* TO 'weak'@'%'");
    await planted((c) => { c['mysql'] = { ...c['mysql'], user: 'weak', password: 'weak-pw' }; }, 'b.grants', /^FAIL: b: toolkit account lacks SUPER, REPLICATION CLIENT on \*\.\*/);
  });

  it('when the replication password is wrong then both replication_account lines FAIL', async () => {
    const r = await doctor(config((c) => { c['replication'] = { ...c['replication'], password: 'wrong' }; }));
    assert.match(level(r, 'replication_account.a'), /^FAIL: replication account repl cannot log in to a/);
    assert.match(level(r, 'replication_account.b'), /^FAIL: replication account repl cannot log in to b/);
    assert.equal(r.code, 1);
  });

  it('when the pinned host key is not the peer\'s then ssh.peer FAILs with the re-pin fix', async () => {
    await planted((c) => {
      const peer = c['peer'] as { ssh: Record<string, unknown> };
      const { knownHostsFile: _drop, ...rest } = peer.ssh;
      peer.ssh = { ...rest, hostKeySha256: `SHA256:${'A'.repeat(43)}` };
    }, 'ssh.peer', /^FAIL: SSH to .*\| fix: pin the peer's current host key/);
  });

  const confPlants: [string, (t: string) => string, string, RegExp][] = [
    ['the check timeout is below check.deadlineMs', (t) => t.replace(/timeout \d+/, 'timeout 5'), 'keepalived.chk_mysql.timeout', /^FAIL: vrrp_script chk_mysql timeout 5 s is not above check\.deadlineMs 8000 ms.*\| fix: vrrp_script chk_mysql \{ timeout 9 \}$/],
    ['the instance starts as MASTER', (t) => t.replace('state BACKUP', 'state MASTER'), 'keepalived.VI_1.state', /^FAIL: vrrp_instance VI_1 state MASTER/],
    ['nopreempt is missing', (t) => t.replace('  nopreempt\n', ''), 'keepalived.VI_1.nopreempt', /^FAIL: vrrp_instance VI_1 without nopreempt/],
    ['notify is not wired', (t) => t.replace(/ {2}notify .*\n/, ''), 'keepalived.VI_1.notify', /^FAIL: vrrp_instance VI_1 runs no keepalived-mysql notify/],
    ['the check script is not tracked', (t) => t.replace(/ {2}track_script \{\n {4}chk_mysql\n {2}\}\n/, ''), 'keepalived.VI_1.track', /^FAIL: vrrp_instance VI_1 does not track/],
    ['enable_script_security is missing', (t) => t.replace('  enable_script_security\n', ''), 'keepalived.script_security', /^WARN: enable_script_security not set/],
    ["the instance tracks the switchover file with weight 1", (t) => t.replace('km_switchover weight 0', 'km_switchover weight 1'), 'keepalived.VI_1.switchover',
      /^FAIL: vrrp_instance VI_1 tracks .*\/switchover\.weight with weight 1, not 0 \| fix: vrrp_instance VI_1 \{ track_file \{ km_switchover weight 0 \} \}$/],
  ];
  for (const [name, plant, id, expected] of confPlants) {
    it(`when in keepalived.conf ${name} then ${id} ${expected.source.slice(1, 5)}s`, async () => {
      const conf = file(`keepalived-${id}.conf`, keepalivedConf(deadlineMs / 1000, stateDir, plant));
      await planted((c) => { c['keepalived'] = { confFile: conf, peerConfFile: good['keepalived']?.['confFile'] }; }, id, expected);
    });
  }

  it('when the peer\'s keepalived.conf has another virtual_router_id then keepalived.VI_1.vrid FAILs', async () => {
    const peerConf = file('keepalived-peer.conf', keepalivedConf(deadlineMs / 1000, stateDir, (t) => t.replace('virtual_router_id 51', 'virtual_router_id 52')));
    await planted((c) => { c['keepalived'] = { ...c['keepalived'], peerConfFile: peerConf }; }, 'keepalived.VI_1.vrid', /^FAIL: virtual_router_id 51 here, 52 on b/);
  });

  it('when a switchover that died left 1 in switchover.weight then files.switchover_weight FAILs', async () => {
    writeFileSync(join(stateDir, 'switchover.weight'), '1\n');
    try {
      await planted(() => undefined, 'files.switchover_weight',
        /^FAIL: .*\/switchover\.weight reads "1": this node is held out of the VRRP race \(FAULT\), by a switchover still running or one that died \| fix: unless a switchover is running: echo 0 > /);
    } finally {
      writeFileSync(join(stateDir, 'switchover.weight'), '0\n');
    }
  });

  it('when keepalived\'s pid file is missing then keepalived.pid_file WARNs', async () => {
    await planted((c) => { c['paths'] = { ...c['paths'], keepalivedPidFile: join(dir, 'none.pid') }; }, 'keepalived.pid_file', /^WARN: .*none\.pid: /);
  });

  it('when the state dir is missing and the SSH key is readable by others then files lines FAIL', async () => {
    const key = join(dir, 'id_loose');
    copyFileSync(sshd.identityFile, key);
    chmodSync(key, 0o644);
    const r = await doctor(config((c) => {
      c['paths'] = { ...c['paths'], stateDir: join(dir, 'no-such-state') };
      const peer = c['peer'] as { ssh: Record<string, unknown> };
      peer.ssh = { ...peer.ssh, identityFile: key };
    }));
    assert.match(level(r, 'files.paths.stateDir'), /^FAIL: paths\.stateDir .*no-such-state missing or not writable/);
    assert.match(level(r, 'files.identity'), /^FAIL: .*id_loose is mode 644/);
    assert.equal(r.code, 1);
  });

  it('when a flag is unknown then one line and 64', async () => {
    const r = await runBin('keepalived-mysql', ['doctor', '--nope']);
    assert.equal(r.code, 64);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  // ACCOUNTS keeps the repl user name in one place.
  it('when the replication account is the configured one then its name is in the PASS line', async () => {
    const r = await doctor(config());
    assert.match(level(r, 'replication_account.b'), new RegExp(`^PASS: replication account ${ACCOUNTS.repl.user} logs in to b with REPLICATION SLAVE`));
  });
});
