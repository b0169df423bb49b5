import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { MariaDbFarm, mariadbSkipReason, waitFor, type MariaDbServer } from '../helpers/mariadb.js';
import {
  readJsonFile, readNotifyLog, readOnly, runNotify, slaveStatus, startNotify, waitReceived, writeNodeConfig, startPair } from '../helpers/notify-env.js';

const skip = mariadbSkipReason();

function exitOf(child: ReturnType<typeof startNotify>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stderr })));
}

// The standby workers a FIFO consumer started: processes whose parent it is and whose command line says --standby.
function standbysOf(parent: number): number[] {
  const found: number[] = [];
  for (const d of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
      if (ppid === parent && readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes('--standby')) found.push(Number(d));
    } catch {
      // Gone while listed.
    }
  }
  return found;
}

async function oneStandby(parent: number, not?: number): Promise<number> {
  let pid: number | undefined;
  await waitFor(async () => (pid = standbysOf(parent).find((p) => p !== not)) !== undefined, 10_000, 'a standby worker');
  return pid!;
}

describe('notify ordering, crashes and wiring on a real MariaDB pair', { skip }, () => {
  let farm: MariaDbFarm;
  let a: MariaDbServer;
  let b: MariaDbServer;

  beforeEach(async () => {
    ({ farm, master: a, replica: b } = await startPair());
  });
  afterEach(() => farm.cleanup());

  // A FIFO consumer as keepalived runs it (workers detached), with the FIFO's writing end held open.
  async function detachedConsumer(): Promise<{ dirs: ReturnType<typeof writeNodeConfig>; consumer: ReturnType<typeof startNotify>;
    consumerExit: ReturnType<typeof exitOf>; fd: number }> {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a);
    const fifo = join(farm.baseDir, 'notify.fifo');
    await promisify(execFile)('mkfifo', [fifo]);
    const consumer = startNotify(['--config', dirs.configPath, '--fifo', fifo]);
    const consumerExit = exitOf(consumer);
    return { dirs, consumer, consumerExit, fd: openSync(fifo, 'w') };
  }

  // MASTER through the FIFO when the standby will not take it: a worker started for it promotes; the notify log after.
  async function masterPromotedWithoutStandby({ dirs, consumerExit, fd }: Awaited<ReturnType<typeof detachedConsumer>>): Promise<string> {
    writeSync(fd, 'INSTANCE "VI_1" MASTER 100\n');
    await waitFor(async () => readJsonFile(join(dirs.stateDir, 'notify-handled.json'))?.['seq'] === 1, 20_000, 'a worker for request #1');
    closeSync(fd);
    const r = await consumerExit;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readOnly(b), 0);
    return readNotifyLog(dirs);
  }

  it('when MASTER and BACKUP are fired together then they run one at a time and the later BACKUP is the final state', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a, { catchUpTimeoutMs: 1000 });
    const first = startNotify(['--config', dirs.configPath, '--foreground', 'INSTANCE', 'VI_1', 'MASTER', '100']);
    const firstExit = exitOf(first);
    await new Promise((r) => setTimeout(r, 40));
    const second = startNotify(['--config', dirs.configPath, '--foreground', 'INSTANCE', 'VI_1', 'BACKUP', '90']);
    const [r1, r2] = await Promise.all([firstExit, exitOf(second)]);

    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r2.code, 0, r2.stderr);
    const handled = readJsonFile(join(dirs.stateDir, 'notify-handled.json'));
    assert.deepEqual([handled?.['seq'], handled?.['state']], [2, 'BACKUP']);
    assert.equal(await readOnly(b), 1);
    const st = await slaveStatus(b);
    assert.equal(st?.['Slave_IO_Running'], 'Yes');
    assert.equal(Number(st?.['Master_Port']), a.port);
    const log = readNotifyLog(dirs);
    const masterAt = log.indexOf('transition to MASTER started');
    const backupAt = log.indexOf('transition to BACKUP started');
    assert.ok(backupAt >= 0, 'BACKUP was applied');
    assert.ok(masterAt === -1 ? /superseded by #2/.test(log) : masterAt < backupAt, 'MASTER ran first or was superseded');
    assert.equal(log.match(/transition to \w+ started/g)?.length ?? 0, masterAt === -1 ? 1 : 2, 'never two at once, never twice');
  });

  it('when notify is SIGKILLed mid-promotion then running it again converges: writable, recorded, lock not stuck', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a, { catchUpTimeoutMs: 20_000, deadlineMs: 40_000 });
    await b.sql('STOP SLAVE', 'CHANGE MASTER TO MASTER_DELAY = 3', 'START SLAVE');
    await a.sql("INSERT INTO appdb.t VALUES (7, 'in the relay log')");
    await waitReceived(a, b);
    await a.kill();
    const victim = startNotify(['--config', dirs.configPath, '--foreground', 'master']);
    const victimExit = exitOf(victim);
    await waitFor(async () => readNotifyLog(dirs).includes('step read-local done'), 10_000, 'first notify mid-promotion');
    victim.kill('SIGKILL');
    assert.equal((await victimExit).signal, 'SIGKILL');
    assert.ok(existsSync(join(dirs.stateDir, 'notify.lock')), 'the killed process left its lock behind');

    const r = await runNotify(['--config', dirs.configPath, '--foreground', 'master']);

    assert.equal(r.code, 0, r.stderr + readNotifyLog(dirs));
    assert.equal(await readOnly(b), 0);
    assert.equal((await b.sql('SELECT id FROM appdb.t WHERE id = 7')).length, 1);
    assert.equal(readJsonFile(join(dirs.stateDir, 'position.json'))?.['role'], 'master');
    assert.equal(existsSync(join(dirs.stateDir, 'notify.lock')), false);
  });

  it('when a foreground notify gets SIGTERM mid catch-up then it stops within 3 s with exit 75, read-only, lock released', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a, { catchUpTimeoutMs: 20_000, deadlineMs: 40_000 });
    await b.sql('STOP SLAVE', 'CHANGE MASTER TO MASTER_DELAY = 3600', 'START SLAVE');
    await a.sql("INSERT INTO appdb.t VALUES (8, 'delayed')");
    await waitReceived(a, b);
    const child = startNotify(['--config', dirs.configPath, '--foreground', 'master']);
    const exited = exitOf(child);
    await waitFor(async () => readNotifyLog(dirs).includes('step fence-old-master done'), 10_000, 'notify waiting in catch-up');
    const sentAt = Date.now();
    child.kill('SIGTERM');

    const r = await exited;

    assert.ok(Date.now() - sentAt < 3000, `stopped after ${Date.now() - sentAt} ms`);
    assert.equal(r.code, 75, r.stderr);
    assert.equal(await readOnly(b), 1);
    assert.equal(existsSync(join(dirs.stateDir, 'notify.lock')), false);
    assert.match(readNotifyLog(dirs), /SIGTERM received: aborting the transition/);
  });

  it('when keepalived writes state lines to the notify FIFO then the consumer applies them in order, ignores the rest and exits on EOF', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a);
    const fifo = join(farm.baseDir, 'notify.fifo');
    await promisify(execFile)('mkfifo', [fifo]);
    const consumer = startNotify(['--config', dirs.configPath, '--foreground', '--fifo', fifo]);
    const consumerExit = exitOf(consumer);
    const fd = openSync(fifo, 'w');
    writeSync(fd, 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100\nVS 10.0.0.1 UP\nINSTANCE "VI_1" MASTER 100\n');
    closeSync(fd);

    const r = await consumerExit;

    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readOnly(b), 0);
    const log = readNotifyLog(dirs);
    assert.match(log, /FIFO line ignored \(MASTER_RX_LOWER_PRI is not a state change\)/);
    assert.match(log, /FIFO line ignored \(not a VRRP instance or group line\): VS 10\.0\.0\.1 UP/);
    assert.match(log, /FIFO: MASTER recorded as request #1/);
    assert.match(log, /FIFO closed: exiting/);
  });

  it('when the FIFO consumer gets MASTER then the standby worker it started ahead promotes, and a new one waits for the next', async () => {
    const { dirs, consumer, consumerExit, fd } = await detachedConsumer();
    const first = await oneStandby(consumer.pid!);
    writeSync(fd, 'INSTANCE "VI_1" MASTER 100\n');

    await waitFor(async () => readJsonFile(join(dirs.stateDir, 'notify-handled.json'))?.['seq'] === 1, 20_000, 'the standby worker');
    const next = await oneStandby(consumer.pid!, first);
    closeSync(fd);
    const r = await consumerExit;

    assert.equal(r.code, 0, r.stderr);
    assert.equal(readJsonFile(join(dirs.stateDir, 'notify-handled.json'))?.['exitCode'], 0);
    assert.equal(await readOnly(b), 0);
    assert.match(readNotifyLog(dirs), new RegExp(`transition to MASTER started[^\n]*"pid":${first}\\b`));
    await waitFor(async () => !existsSync(`/proc/${next}`), 10_000, 'the unused standby exits when the FIFO closes');
  });

  it('when the standby worker died before a request then the consumer starts a worker for it', async () => {
    const consumer = await detachedConsumer();
    const standby = await oneStandby(consumer.consumer.pid!);
    process.kill(standby, 'SIGKILL');
    await waitFor(async () => !standbysOf(consumer.consumer.pid!).includes(standby), 10_000, 'the standby gone');

    const log = await masterPromotedWithoutStandby(consumer);

    assert.match(log, /the standby worker ended without taking request #1: starting a worker for it/);
  });

  it('when the code was installed anew after the standby started then it declines the request and a worker on the new code takes it', async () => {
    const consumer = await detachedConsumer();
    const standby = await oneStandby(consumer.consumer.pid!);
    // Its stamp is taken as it starts, within a few hundred ms; a build then rewrites notify-main.js.
    await sleep(3000);
    const code = fileURLToPath(new URL('../../src/cli/notify-main.js', import.meta.url));
    const later = new Date(statSync(code).mtimeMs + 1000);
    utimesSync(code, later, later);

    const log = await masterPromotedWithoutStandby(consumer);

    assert.match(log, /was installed anew since it started; request #1 is left to a worker on the new code/);
    assert.match(log, /the standby worker ended without taking request #1: starting a worker for it/);
    assert.doesNotMatch(log, new RegExp(`transition to MASTER started[^\n]*"pid":${standby}\\b`), 'the old standby ran nothing');
  });

  it('when keepalived runs the hook form then notify returns at once and a detached worker promotes', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a);

    const r = await runNotify(['--config', dirs.configPath, 'INSTANCE', 'VI_1', 'MASTER', '100']);

    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.ms < 3000, `returned after ${r.ms} ms`);
    await waitFor(async () => readJsonFile(join(dirs.stateDir, 'notify-handled.json'))?.['seq'] === 1, 20_000, 'the detached worker');
    assert.equal(readJsonFile(join(dirs.stateDir, 'notify-handled.json'))?.['exitCode'], 0);
    assert.equal(await readOnly(b), 0);
  });
});
