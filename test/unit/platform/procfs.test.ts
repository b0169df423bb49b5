import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeProcAddress, isLiving, readPidFile } from '../../../src/platform/procfs.js';

describe('procfs parsing', () => {
  it('when /proc/net/tcp prints an address then it is decoded from host-order hex', () => {
    assert.equal(decodeProcAddress('0100007F'), '127.0.0.1');
    assert.equal(decodeProcAddress('00000000'), '0.0.0.0');
    assert.equal(decodeProcAddress('00000000000000000000000000000000'), '[::]');
  });

  it('when a pid file holds a pid and a newline then the pid is read', () => {
    assert.deepEqual(readPidFile('/x.pid', () => '812\n'), { ok: true, pid: 812 });
  });

  it('when a pid file holds no usable pid then the reason names the file', () => {
    for (const text of ['', 'abc', '12 13', '0', '99999999999']) {
      const r = readPidFile('/x.pid', () => text);
      assert.equal(r.ok, false, text);
      assert.match(r.ok ? '' : r.why, /\/x\.pid/);
    }
  });

  it('when a task is a zombie then it is not a living process', () => {
    assert.equal(isLiving({ pid: 5, comm: 'mariadbd', state: 'Z' }), false);
    assert.equal(isLiving({ pid: 5, comm: 'mariadbd', state: 'T' }), true);
  });
});
