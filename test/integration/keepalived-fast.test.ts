import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { renderTemplate } from '../../src/keepalived/render.js';
import { KEEPALIVED, keepalivedSkipReason } from '../helpers/keepalived.js';
import { waitFor } from '../helpers/mariadb.js';
import { REPO_ROOT } from '../helpers/run-bin.js';

const run = promisify(execFile);
const skip = keepalivedSkipReason();
const VIP = '192.0.2.100';

function render(dir: string, binDir: string): string {
  return renderTemplate(readFileSync(join(REPO_ROOT, 'templates', 'keepalived-fast.conf.tmpl'), 'utf8'), {
    nodeName: 'fast-test', binDir, configPath: join(dir, 'config.json'), keepalivedPidFile: join(dir, 'keepalived.pid'), checkTimeoutS: 5,
    interface: 'km0', virtualRouterId: 71, priority: 100, vip: VIP, vipPrefix: 32, stateDir: join(dir, 'state'), notifyFifo: join(dir, 'notify.fifo'),
  });
}

// keepalived -t also checks that the interface exists and is no loopback: a veth pair in a namespace of its own.
async function configTest(conf: string): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run('unshare', ['--net', 'sh', '-c', `ip link add km0 type veth peer name km1 && exec ${KEEPALIVED} -t -f ${conf}`], { timeout: 10_000 });
    return { code: 0, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

describe('the fast profile template under a real keepalived', { skip }, () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'km-ka-fast-'));
    mkdirSync(join(dir, 'state'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('when rendered then keepalived -t accepts it; the same adverts under VRRPv2 are refused (rounded to whole seconds)', async () => {
    const conf = join(dir, 'keepalived-t.conf');
    writeFileSync(conf, render(dir, join(REPO_ROOT, 'bin')));
    const ok = await configTest(conf);
    assert.deepEqual(ok, { code: 0, stderr: '' });
    const v2 = join(dir, 'keepalived-v2.conf');
    writeFileSync(v2, readFileSync(conf, 'utf8').replace('vrrp_version 3', 'vrrp_version 2'));
    const refused = await configTest(v2);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /VRRPv2 advertisement interval 0\.200000s must be an integer/);
  });

  describe('alone in its own network namespace, with stand-ins for check-mysql (exit 0) and notify (reads the FIFO)', () => {
    let keepalived: ChildProcess;
    let exited: Promise<void>;

    before(() => {
      const bin = join(dir, 'bin');
      mkdirSync(bin, { mode: 0o755 });
      writeFileSync(join(bin, 'check-mysql'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      writeFileSync(join(bin, 'notify'), '#!/bin/sh\nfor a; do f=$a; done\nexec cat "$f" >/dev/null\n', { mode: 0o755 });
      const conf = join(dir, 'keepalived.conf');
      writeFileSync(conf, render(dir, bin));
      const files = `-p ${join(dir, 'keepalived.pid')} -r ${join(dir, 'vrrp.pid')} -c ${join(dir, 'checkers.pid')}`;
      const script = `ip link set lo up && ip link add km0 type veth peer name km1 && ip link set km0 up && ip link set km1 up && ip addr add 192.0.2.10/24 dev km0 && exec ${KEEPALIVED} -n -l -D -f ${conf} ${files}`;
      keepalived = spawn('unshare', ['--net', 'sh', '-c', script], { stdio: 'ignore' });
      exited = new Promise((resolve) => keepalived.once('exit', () => resolve()));
    });
    after(async () => {
      if (keepalived.exitCode === null && keepalived.signalCode === null) keepalived.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (keepalived.exitCode === null && keepalived.signalCode === null) keepalived.kill('SIGKILL');
    });

    const holdsVip = async (): Promise<boolean> => {
      const { stdout } = await run('nsenter', ['--target', String(keepalived.pid), '--net', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'km0']);
      return stdout.includes(` ${VIP}/`);
    };
    const vipIs = (want: boolean, what: string): Promise<void> => waitFor(async () => (await holdsVip()) === want, 20_000, what);

    it('when check.down is created as 0 then the node takes the VIP; 1 takes it away (FAULT); 0 again gives it back', async () => {
      await vipIs(true, 'the VIP on the only node');
      assert.equal(readFileSync(join(dir, 'state', 'check.down'), 'utf8').trim(), '0', 'init_file 0 created the track file');
      writeFileSync(join(dir, 'state', 'check.down'), '1\n');
      await vipIs(false, 'the VIP to leave on check.down 1');
      writeFileSync(join(dir, 'state', 'check.down'), '0\n');
      await vipIs(true, 'the VIP back on check.down 0');
    });
  });
});
