import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MariaDbFarm, mariadbSkipReason, ACCOUNTS, type MariaDbServer } from '../helpers/mariadb.js';
import { readOnly, runNotify, slaveStatus, writeNodeConfig, startPair } from '../helpers/notify-env.js';

const BAD_ARGUMENTS: readonly (readonly string[])[] = [
  [],
  ['promote'],
  ['master', 'now'],
  ['INSTANCE', 'VI_1', 'MASTER'],
  ['INSTANCE', 'VI_1', 'MASTER', 'high'],
  ['INSTANCE', 'VI_1', 'MASTER', '256'],
  ['SERVER', 'VI_1', 'MASTER', '100'],
  ['GROUP', 'G1', 'RUNNING', '100'],
  ['--nope', 'master'],
  ['--config'],
  ['--request-seq', 'x', 'master'],
  ['--fifo', '/tmp/f', 'master'],
];

describe('notify command line', () => {
  for (const args of BAD_ARGUMENTS) {
    it(`when notify gets ${JSON.stringify(args)} then it prints one line on stderr and exits 64`, async () => {
      const r = await runNotify(args);
      assert.equal(r.code, 64);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^notify: /);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      assert.equal(r.stdout, '');
    });
  }

  it('when notify gets -h then it prints its usage on stdout and exits 0', async () => {
    const r = await runNotify(['-h']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--fifo PATH/);
  });
});

const skip = mariadbSkipReason();

describe('notify --dry-run on a real MariaDB pair', { skip }, () => {
  let farm: MariaDbFarm;
  let a: MariaDbServer;
  let b: MariaDbServer;

  beforeEach(async () => {
    ({ farm, master: a, replica: b } = await startPair());
  });
  afterEach(() => farm.cleanup());

  it('when MASTER is dry-run on the replica then the plan is printed and neither server nor state dir changes', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a);
    const before = { b: await slaveStatus(b), aRo: await readOnly(a) };

    const r = await runNotify(['--config', dirs.configPath, '--dry-run', 'master']);

    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /nothing is changed/);
    assert.match(r.stdout, /\[fence-old-master\] old master 127\.0\.0\.1: SET GLOBAL read_only = 1/);
    assert.match(r.stdout, /\[detach-replication\] local: RESET SLAVE ALL/);
    assert.match(r.stdout, /\[open-writes\] local: SET GLOBAL read_only = 0/);
    assert.equal(await readOnly(b), 1);
    assert.equal(await readOnly(a), before.aRo);
    const after = await slaveStatus(b);
    assert.equal(after?.['Slave_IO_Running'], 'Yes');
    assert.equal(after?.['Slave_SQL_Running'], 'Yes');
    assert.equal(after?.['Master_Port'], before.b?.['Master_Port']);
    assert.equal(existsSync(dirs.stateDir), false, 'no request, lock or position file');
    assert.equal(existsSync(dirs.logDir), false, 'no log file');
  });

  it('when BACKUP is dry-run on the master then CHANGE MASTER is shown with the password masked and nothing changes', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'a', a, 'b', b);

    const r = await runNotify(['--config', dirs.configPath, '--dry-run', 'backup']);

    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\[change-source\] local: CHANGE MASTER TO MASTER_HOST = '127\.0\.0\.1', MASTER_PORT = \d+, MASTER_USER = 'repl', MASTER_PASSWORD = '\*\*\*'/);
    assert.ok(!r.stdout.includes(ACCOUNTS.repl.password) && !r.stderr.includes(ACCOUNTS.repl.password), 'no secret printed');
    assert.equal(await readOnly(a), 0);
    assert.equal(await slaveStatus(a), undefined);
  });
});
