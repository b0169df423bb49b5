import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCheckLog, writeCheckConfig } from '../helpers/check-mysql-config.js';
import { freePort, waitFor } from '../helpers/mariadb.js';
import { KEEPALIVED_CONF, keepalivedSkipReason, running, startKeepalived, type Keepalived } from '../helpers/keepalived.js';
import { REPO_ROOT, runBin } from '../helpers/run-bin.js';

const skip = keepalivedSkipReason();

// keepalived itself runs check-mysql as its vrrp_script; "down" stops keepalived, which kills the running script.
function confRunningCheck(checkConfig: string): string {
  return KEEPALIVED_CONF.replace('global_defs {\n', 'global_defs {\n  script_user root\n').replace('vrrp_instance VI_T {', `vrrp_script chk_mysql {
  script "${process.execPath} ${REPO_ROOT}bin/check-mysql --config ${checkConfig}"
  interval 1
  timeout 5
  fall 1
  rise 1
}
vrrp_instance VI_T {
  track_script {
    chk_mysql
  }`);
}

// The keepalived process as seen from here: for a PID namespace it is unshare's child.
function outerKeepalivedPid(k: Keepalived, pidNamespace: boolean): number {
  const pid = k.child.pid ?? 0;
  if (!pidNamespace) return pid;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  const first = children[0];
  if (first === undefined || Number.isNaN(first)) throw new Error('unshare has no child');
  return first;
}

function comm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}


describe('check-mysql stop-keepalived against a real keepalived', { skip }, () => {
  let dir: string;
  const started: ChildProcess[] = [];
  let mysqlPort: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'km-check-ka-'));
    // Nothing listens here: check-mysql finds no process and no port, so its verdict is "down" at once.
    mysqlPort = await freePort();
  });
  after(async () => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('when keepalived runs in its own network namespace then "down" sends SIGTERM to exactly the pid in its pid file and it stops', async () => {
    const k = startKeepalived(dir, 'net', false);
    started.push(k.child);
    await waitFor(async () => existsSync(k.pidFile) && comm(Number(readFileSync(k.pidFile, 'utf8'))) === 'keepalived', 10_000, 'keepalived pid file');
    const pid = Number(readFileSync(k.pidFile, 'utf8'));
    assert.equal(pid, k.child.pid);

    const runDir = mkdtempSync(join(dir, 'run-'));
    const r = await runBin('check-mysql', ['--config', writeCheckConfig(runDir, { port: mysqlPort, keepalivedPidFile: k.pidFile, onDown: 'stop-keepalived' })]);
    assert.equal(r.code, 1, r.stderr);
    await waitFor(async () => !(await running(k)), 10_000, 'keepalived to exit after SIGTERM');
    assert.equal(k.child.signalCode ?? k.child.exitCode, 0, 'keepalived shut down cleanly on SIGTERM');
    assert.match(readCheckLog(runDir), new RegExp(`stop-keepalived: sent SIGTERM to keepalived pid ${pid} \\(from `));
  });

  it('when keepalived runs check-mysql itself then the "down → stop-keepalived" decision is on disk although keepalived kills the script', async () => {
    const runDir = mkdtempSync(join(dir, 'run-'));
    const pidFile = join(dir, 'script.pid');
    const config = writeCheckConfig(runDir, { port: mysqlPort, keepalivedPidFile: pidFile, onDown: 'stop-keepalived' });
    const k = startKeepalived(dir, 'script', false, confRunningCheck(config));
    started.push(k.child);
    await waitFor(async () => !(await running(k)), 20_000, 'keepalived to be stopped by its own vrrp_script');
    assert.equal(k.child.signalCode ?? k.child.exitCode, 0, 'keepalived shut down cleanly on SIGTERM');

    const lines = readFileSync(join(runDir, 'check-decisions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const decision = lines.findIndex((l) => l['kind'] === 'decision');
    assert.ok(decision >= 0, JSON.stringify(lines));
    assert.deepEqual({ ...lines[decision], at: 'x', pid: 0, summary: 'x' },
      { kind: 'decision', at: 'x', node: 'it', pid: 0, verdict: 'down', reason: 'process-missing', summary: 'x', action: 'stop-keepalived', exit: 1 });
    const acted = lines.findIndex((l) => l['kind'] === 'acted');
    // The file log is empty here (keepalived killed the script before winston flushed); the journal is not.
    // The script may die before it writes what its signal did; when it did, that line follows its decision.
    if (acted >= 0) assert.ok(acted > decision && lines[acted]?.['action'] === 'signalled', JSON.stringify(lines));
  });

  it('when the pid file names a process that is not keepalived (a sleep we own) then it is not signalled', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    started.push(sleeper);
    const pidFile = join(dir, 'sleep.pid');
    writeFileSync(pidFile, `${sleeper.pid}\n`);
    const runDir = mkdtempSync(join(dir, 'run-'));
    const r = await runBin('check-mysql', ['--config', writeCheckConfig(runDir, { port: mysqlPort, keepalivedPidFile: pidFile, onDown: 'stop-keepalived' })]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(sleeper.exitCode, null);
    assert.equal(sleeper.signalCode, null);
    assert.equal(comm(sleeper.pid ?? 0), 'sleep');
    assert.match(readCheckLog(runDir), new RegExp(`holds ${sleeper.pid}, which is sleep, not keepalived; not signalled`));
    sleeper.kill('SIGKILL');
  });

  it('when keepalived runs in its own PID namespace then its pid file is only honoured from inside that namespace', async () => {
    const k = startKeepalived(dir, 'pidns', true);
    started.push(k.child);
    await waitFor(async () => existsSync(k.pidFile) && readFileSync(k.pidFile, 'utf8').trim() === '1', 10_000, 'keepalived pid file');
    const outer = outerKeepalivedPid(k, true);
    assert.equal(comm(outer), 'keepalived');
    const runDir = mkdtempSync(join(dir, 'run-'));
    const config = writeCheckConfig(runDir, { port: mysqlPort, keepalivedPidFile: k.pidFile, onDown: 'stop-keepalived' });

    // From outside, "1" is this host's init, not keepalived: nothing is signalled.
    const hostInit = comm(1);
    assert.notEqual(hostInit, 'keepalived');
    const outside = await runBin('check-mysql', ['--config', config]);
    assert.equal(outside.code, 1, outside.stderr);
    assert.equal(await running(k), true);
    assert.ok(readCheckLog(runDir).includes(`holds 1, which is ${hostInit}, not keepalived; not signalled`), readCheckLog(runDir));

    // Inside the namespaces (as keepalived's own vrrp_script would run), pid 1 is keepalived and gets SIGTERM.
    const inside = await runBin('check-mysql', ['--config', config], { command: ['nsenter', '--target', String(outer), '--pid', '--mount', '--net'] });
    assert.equal(inside.code, 1, inside.stderr);
    await waitFor(async () => !(await running(k)), 10_000, 'namespaced keepalived to exit after SIGTERM');
    assert.match(readCheckLog(runDir), /stop-keepalived: sent SIGTERM to keepalived pid 1 \(from /);
  });
});
