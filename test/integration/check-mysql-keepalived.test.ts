import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCheckLog, writeCheckConfig } from '../helpers/check-mysql-config.js';
import { KEEPALIVED, keepalivedSkipReason } from '../helpers/keepalived.js';
import { freePort, waitFor } from '../helpers/mariadb.js';
import { runBin } from '../helpers/run-bin.js';

const skip = keepalivedSkipReason();

// One VRRP instance on a veth pair inside the namespace: nothing leaves it (192.0.2.0/24 is TEST-NET-1).
const KEEPALIVED_CONF = `global_defs {
  router_id km_check_test
}
vrrp_instance VI_T {
  state BACKUP
  interface km0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.200/32 dev km0
  }
}
`;

interface Keepalived {
  /** The process we spawned: keepalived itself (net only), or unshare (net + pid). */
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly pidFile: string;
}

function startKeepalived(dir: string, name: string, pidNamespace: boolean): Keepalived {
  const conf = join(dir, `${name}.conf`);
  writeFileSync(conf, KEEPALIVED_CONF);
  const pidFile = join(dir, `${name}.pid`);
  const files = `-p ${pidFile} -r ${join(dir, `${name}-vrrp.pid`)} -c ${join(dir, `${name}-checkers.pid`)}`;
  const script = `ip link set lo up && ip link add km0 type veth peer name km1 && ip link set km0 up && ip link set km1 up && exec ${KEEPALIVED} -n -l -D -f ${conf} ${files}`;
  const ns = pidNamespace ? ['--net', '--pid', '--fork', '--mount-proc'] : ['--net'];
  const child = spawn('unshare', [...ns, 'sh', '-c', script], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, exited, pidFile };
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

async function running(k: Keepalived): Promise<boolean> {
  return Promise.race([k.exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 300))]);
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
