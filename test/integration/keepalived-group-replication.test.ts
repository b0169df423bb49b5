import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { renderTemplate } from '../../src/keepalived/render.js';
import { KEEPALIVED, keepalivedSkipReason } from '../helpers/keepalived.js';
import { waitFor, writePrivate } from '../helpers/mariadb.js';
import { REPO_ROOT } from '../helpers/run-bin.js';

const run = promisify(execFile);
const skip = keepalivedSkipReason();
const WRITE_VIP = '192.0.2.100';
const READ_VIP = '192.0.2.101';

// The rendered Group Replication template under a real keepalived, alone in its own network namespace (a veth pair,
// TEST-NET-1 VIPs, nothing leaves it). Its vrrp_scripts run the built check-mysql against a replay server in the same
// namespace that answers with transcribed MySQL 8.0.36 group answers; the test switches the scenario and watches the VIPs.
describe('keepalived with the Group Replication template moves the VIPs with the group (transcribed answers)', { skip }, () => {
  let dir: string;
  let keepalived: ChildProcess;
  let exited: Promise<void>;
  const scenarioFile = (): string => join(dir, 'scenario');
  const serverPidFile = (): string => join(dir, 'server.pid');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'km-ka-gr-'));
    writeFileSync(scenarioFile(), 'primary\n');
    const configPath = join(dir, 'config.json');
    writePrivate(configPath, JSON.stringify({
      mode: 'group-replication',
      node: { name: 'mgr-test' },
      mysql: { host: '127.0.0.1', port: 3306, user: 'keepalived', password: 'kpass', connectTimeoutMs: 500, queryTimeoutMs: 500 },
      paths: { logDir: join(dir, 'log'), stateDir: join(dir, 'state') },
      check: { deadlineMs: 3000 },
      notify: { deadlineMs: 10_000 },
      groupReplication: { instances: { VI_MGR_WRITE: { role: 'write', vip: WRITE_VIP }, VI_MGR_READ: { role: 'read', vip: READ_VIP } } },
    }));
    const conf = join(dir, 'keepalived.conf');
    writeFileSync(conf, renderTemplate(readFileSync(join(REPO_ROOT, 'templates', 'keepalived-group-replication.conf.tmpl'), 'utf8'), {
      nodeName: 'mgr-test', binDir: join(REPO_ROOT, 'bin'), configPath, checkTimeoutS: 5, garpDelayS: 1, garpRepeat: 1, garpRefreshS: 60,
      interface: 'km0', writeRouterId: 61, writePriority: 100, writeVip: WRITE_VIP, readRouterId: 62, readPriority: 100, readVip: READ_VIP,
      vipPrefix: 32, readPreemptDelayS: 1, secondaryBonus: 50,
    }));
    const server = `${process.execPath} ${join(REPO_ROOT, 'dist/test/helpers/recorded-server-main.js')} ${join(REPO_ROOT, 'test/fixtures/mysql-recorded/group-replication-mysql-8.0.36.json')} ${scenarioFile()} 3306 ${serverPidFile()}`;
    const files = `-p ${join(dir, 'keepalived.pid')} -r ${join(dir, 'vrrp.pid')} -c ${join(dir, 'checkers.pid')}`;
    const script = `ip link set lo up && ip link add km0 type veth peer name km1 && ip link set km0 up && ip link set km1 up && ip addr add 192.0.2.10/24 dev km0 && (${server} >/dev/null 2>&1 &) && exec ${KEEPALIVED} -n -l -D -f ${conf} ${files}`;
    keepalived = spawn('unshare', ['--net', 'sh', '-c', script], { stdio: 'ignore' });
    exited = new Promise((resolve) => keepalived.once('exit', () => resolve()));
    await waitFor(async () => existsSync(serverPidFile()), 10_000, 'the replay server in the namespace');
  });
  after(async () => {
    if (keepalived.exitCode === null && keepalived.signalCode === null) keepalived.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (keepalived.exitCode === null && keepalived.signalCode === null) keepalived.kill('SIGKILL');
    if (existsSync(serverPidFile())) {
      const pid = Number(readFileSync(serverPidFile(), 'utf8'));
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('recorded-server-main')) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function vips(): Promise<string[]> {
    const { stdout } = await run('nsenter', ['--target', String(keepalived.pid), '--net', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'km0']);
    return [WRITE_VIP, READ_VIP].filter((v) => stdout.includes(` ${v}/`));
  }
  const vipsBecome = (want: string[], what: string): Promise<void> =>
    waitFor(async () => JSON.stringify(await vips()) === JSON.stringify(want), 25_000, what);
  const notifyLog = (): string => {
    const logDir = join(dir, 'log');
    return existsSync(logDir) ? readdirSync(logDir).filter((f) => f.startsWith('notify-')).map((f) => readFileSync(join(logDir, f), 'utf8')).join('') : '';
  };

  it('when this member is the PRIMARY and alone then it holds the write VIP and, no secondary passing, the read VIP too (TO_PRIMARY)', async () => {
    await vipsBecome([WRITE_VIP, READ_VIP], 'both VIPs on the primary');
    await waitFor(async () => /VI_MGR_WRITE: MASTER: 192\.0\.2\.100 \(write\) is on this node/.test(notifyLog()), 10_000, 'notify MASTER in the log');
  });

  it('when the group makes it a SECONDARY then the write VIP leaves (its check fails twice) and the read VIP stays', async () => {
    writeFileSync(scenarioFile(), 'primary-change-old-primary\n');
    await vipsBecome([READ_VIP], 'the write VIP to leave');
    await waitFor(async () => /VI_MGR_WRITE: FAULT: 0 client session\(s\) came in through 192\.0\.2\.100/.test(notifyLog()), 10_000, 'notify FAULT for the write instance');
  });

  it('when it ends up in a minority partition then it holds no VIP at all', async () => {
    writeFileSync(scenarioFile(), 'minority-partition\n');
    await vipsBecome([], 'every VIP to leave');
    // keepalived runs notify after it drops the VIP: the log line follows, shortly.
    await waitFor(async () => /VI_MGR_READ: FAULT/.test(notifyLog()), 10_000, 'notify FAULT for the read instance');
  });
});
