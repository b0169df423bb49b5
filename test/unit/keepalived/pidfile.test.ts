import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stopKeepalived, type ProcessControl } from '../../../src/keepalived/pidfile.js';
import { readPidFile, type ProcessInfo } from '../../../src/platform/procfs.js';

function control(pidFileText: string | undefined, processes: Record<number, ProcessInfo>, killError?: string) {
  const signalled: number[] = [];
  const ctl: ProcessControl = {
    readPidFile: (p) => readPidFile(p, () => {
      if (pidFileText === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return pidFileText;
    }),
    readProcess: (pid) => processes[pid],
    sendSigterm: (pid) => {
      if (killError) throw Object.assign(new Error(killError), { code: killError });
      signalled.push(pid);
    },
  };
  return { ctl, signalled };
}

describe('stopKeepalived: SIGTERM to exactly the pid in the pid file, and only to keepalived', () => {
  it('when the pid file names a running keepalived then exactly that pid gets SIGTERM', () => {
    const { ctl, signalled } = control('4242\n', { 4242: { pid: 4242, comm: 'keepalived', state: 'S' } });
    const out = stopKeepalived('/run/keepalived.pid', ctl);
    assert.equal(out.action, 'signalled');
    assert.deepEqual(signalled, [4242]);
  });

  it('when the pid was recycled by another program then nothing is signalled', () => {
    const { ctl, signalled } = control('4242', { 4242: { pid: 4242, comm: 'sleep', state: 'S' } });
    const out = stopKeepalived('/run/keepalived.pid', ctl);
    assert.equal(out.action, 'refused');
    assert.match(out.detail, /which is sleep, not keepalived; not signalled/);
    assert.deepEqual(signalled, []);
  });

  it('when the pid file is missing, stale or garbage then nothing is signalled', () => {
    for (const text of [undefined, '4242', 'keepalived', '0', '-5', '']) {
      const { ctl, signalled } = control(text, {});
      assert.equal(stopKeepalived('/run/keepalived.pid', ctl).action, 'not-running', String(text));
      assert.deepEqual(signalled, []);
    }
  });

  it('when it is a dry run (--explain) then it says what it would do and signals nothing', () => {
    const { ctl, signalled } = control('77', { 77: { pid: 77, comm: 'keepalived', state: 'S' } });
    const out = stopKeepalived('/run/keepalived.pid', ctl, { dryRun: true });
    assert.equal(out.action, 'dry-run');
    assert.deepEqual(signalled, []);
  });

  it('when keepalived exits between the check and the signal then it reports not-running', () => {
    const { ctl } = control('77', { 77: { pid: 77, comm: 'keepalived', state: 'S' } }, 'ESRCH');
    assert.equal(stopKeepalived('/run/keepalived.pid', ctl).action, 'not-running');
  });

  it('when the signal is refused (EPERM) then it reports failed with the pid', () => {
    const { ctl } = control('77', { 77: { pid: 77, comm: 'keepalived', state: 'S' } }, 'EPERM');
    const out = stopKeepalived('/run/keepalived.pid', ctl);
    assert.equal(out.action, 'failed');
    assert.match(out.detail, /EPERM/);
  });
});
