import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig, type Config } from '../../src/config/schema.js';
import { handleTransition } from '../../src/failover/handle.js';
import { StepRunner, type FailoverPorts } from '../../src/failover/steps.js';
import { createMemoryLogger } from '../../src/log/stderr-logger.js';
import { mysql2Connector } from '../../src/mysql/mysql2-client.js';
import type { SqlConnector } from '../../src/mysql/types.js';
import { systemClock } from '../../src/platform/clock.js';
import { ssh2PeerFilesConnector, ssh2WitnessConnector } from '../../src/ssh/ssh2-peer-files.js';
import { nodeStateFiles } from '../../src/state/files.js';
import { AppError } from '../../src/errors.js';
import { createBinlogApplier } from '../../src/mysql/binlog-applier.js';
import { mysqlTarget } from '../../src/mysql/targets.js';
import { ACCOUNTS, MariaDbFarm, mariadbSkipReason, waitFor, type MariaDbServer } from '../helpers/mariadb.js';
import { readOnly, slaveStatus } from '../helpers/notify-env.js';
import { startSshd, sshdSkipReason, type Sshd } from '../helpers/sshd.js';

// The link between the nodes is cut, the witness reaches both: the old master holds a commit waiting for our
// acknowledgement. The fence's KILL of that session can answer its client OK (seen in the peer-link-cut drill), so
// the promotion reads the fenced old master's binlog tail through the witness (SFTP over a forwarded SSH) and applies
// it before writes open here. Real MariaDB pair, real sshd as the witness; the direct path to the old master fails
// in the connector (a cut link cannot be made on loopback), the forwarded one does not.
const skip = mariadbSkipReason() ?? sshdSkipReason();

describe('MASTER with the old master reachable only through the witness (real MariaDB, real sshd)', { skip }, () => {
  let farm: MariaDbFarm;
  let a: MariaDbServer;
  let b: MariaDbServer;
  let sshd: Sshd;

  before(async () => {
    farm = new MariaDbFarm();
    const started = await Promise.allSettled([
      farm.startPair().then((p) => ({ a, b } = { a: p.master, b: p.replica })),
      startSshd().then((s) => (sshd = s)),
    ]);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
  });
  after(async () => {
    await Promise.allSettled([farm?.cleanup(), sshd?.stop()]);
  });

  it('when a commit waits for the ack then the new master has it before it opens writes, whatever its client was answered', async () => {
    // The documented backstop: semi-sync never falls back by itself.
    await a.sql('SET GLOBAL rpl_semi_sync_master_timeout = 600000', 'SET GLOBAL rpl_semi_sync_master_wait_no_slave = 1');
    await b.sql('STOP SLAVE IO_THREAD');
    const writer = await mysql2Connector.connect(a.target({ user: ACCOUNTS.app.user, password: ACCOUNTS.app.password, queryTimeoutMs: 60_000 }), AbortSignal.timeout(5000));
    const insert = writer.execute("INSERT INTO appdb.t VALUES (42, 'waiting for the ack')").then(() => 'acknowledged', () => 'lost');
    await waitFor(async () => (await a.sql("SELECT 1 FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for semi-sync ACK%'")).length > 0,
      10_000, 'the commit waits for the semi-sync ack');

    const dir = join(farm.baseDir, 'witness-b');
    const stateDir = join(dir, 'state');
    const peerStateDir = join(farm.baseDir, 'witness-a', 'state');
    for (const d of [stateDir, peerStateDir]) mkdirSync(d, { recursive: true });
    const ssh = { user: sshd.user, port: sshd.port, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, connectTimeoutMs: 3000, commandTimeoutMs: 5000 };
    const config: Config = parseConfig({
      node: { name: 'b' },
      mysql: { host: b.host, port: b.port, user: ACCOUNTS.admin.user, password: ACCOUNTS.admin.password, connectTimeoutMs: 1000, queryTimeoutMs: 2000 },
      replication: { user: ACCOUNTS.repl.user, password: ACCOUNTS.repl.password, heartbeatPeriodS: 1, connectRetryS: 1 },
      peer: { name: 'a', host: a.host, mysqlPort: a.port, ssh, stateDir: peerStateDir },
      witness: { host: '127.0.0.1', ssh },
      check: { deadlineMs: 8000 },
      paths: { logDir: join(dir, 'log'), stateDir },
      heal: { startupRoleFile: join(dir, 'mariadb-startup-role.cnf') },
      notify: { deadlineMs: 30_000, catchUpTimeoutMs: 5000 },
    }, { configReadableByOthers: false, readPasswordFile: () => 'x' });
    const cut: SqlConnector = {
      connect: async (t, s) => {
        if (t.port === a.port && t.stream === undefined) throw Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' });
        return mysql2Connector.connect(t, s);
      },
    };
    const log = createMemoryLogger();
    const ports: FailoverPorts = {
      // The cut link answers no TCP either (on loopback the kernel would accept for it).
      sql: cut, tcpAnswer: async () => 'silent', peerFiles: ssh2PeerFilesConnector, witness: ssh2WitnessConnector, clock: systemClock, log,
      binlogApplier: createBinlogApplier({ dir: stateDir, target: mysqlTarget(config) }),
      writePosition: async () => undefined, recordStartupRole: async () => undefined, state: nodeStateFiles(stateDir),
      healErrant: async () => { throw new AppError('ERRANT_TRANSACTIONS', 'not in this test'); },
    };

    try {
      await handleTransition('MASTER', { config, ports, transitionId: 't-witness', steps: new StepRunner(ports) }, AbortSignal.timeout(60_000));
    } finally {
      setTimeout(() => writer.close(), 5000).unref();
    }

    const outcome = await insert;
    const lines = log.entries.map((e) => `${e.level} ${e.msg}`).join('\n');
    assert.ok(['acknowledged', 'lost'].includes(outcome));
    assert.equal((await b.sql('SELECT id FROM appdb.t WHERE id = 42')).length, 1, `the row its client may have been answered OK for is on the new master\n${lines}`);
    assert.match(lines, /killing \d+ client connection\(s\) on old master a \(through the witness\)/);
    assert.match(lines, /marked a stepped down/, 'the marker went over SFTP through the witness');
    assert.equal(await readOnly(b), 0);
    assert.equal(await readOnly(a), 1, 'the old master is fenced');
    assert.equal(await slaveStatus(b), undefined, 'replication detached (RESET SLAVE ALL)');
  });
});
