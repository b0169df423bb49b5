import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STATUS_EXIT } from '../../../src/cli/exit-codes.js';
import { firstVirtualIp } from '../../../src/cli/commands/status.js';
import { judgePair, type ErrantView, type MysqlView, type NodeView, type VipView } from '../../../src/status/model.js';

const master: MysqlView = {
  flavor: 'mariadb', version: '10.11', serverId: 1, readOnly: false, writable: true, replication: null,
  semiSync: { sourceEnabled: true, sourceActive: true, clients: 1, waitPoint: 'AFTER_SYNC', timeoutMs: 2000, noTx: 0, replicaEnabled: false },
  gtidPosition: '0-1-5', transactions: { open: 0, olderThan60s: 0, oldestS: 0 },
};
const replica: MysqlView = {
  ...master, serverId: 2, readOnly: true, writable: false,
  replication: { sourceHost: 'db1', sourcePort: 3306, ioRunning: 'Yes', sqlRunning: 'Yes', secondsBehind: 0, lastIoError: '', lastSqlError: '' },
  semiSync: { sourceEnabled: false, replicaEnabled: true, replicaActive: true },
};
const node = (name: string, mysql: MysqlView | null, o: Partial<NodeView> = {}): NodeView =>
  ({ name, host: name, port: 3306, source: mysql ? 'mysql' : 'none', mysql, errors: mysql ? [] : ['MySQL: refused'], files: {}, ...o });
const vipHere: VipView = { address: '192.0.2.10', holder: 'local', detail: '' };
const clean: ErrantView = { localOnly: [], peerOnly: [], unproven: [], method: 'm' };
const local = node('db1', master, { keepalived: { running: true, detail: 'pid 1' }, vipLocal: true });
const peer = node('db2', replica);

describe('judgePair', () => {
  it('when master and replica are as they should be then the verdict is OK with no reasons', () => {
    assert.deepEqual(judgePair({ vip: vipHere, local, peer, errant: clean }), { verdict: 'OK', reasons: [] });
  });

  it('when both nodes are writable then it is DANGER', () => {
    const r = judgePair({ vip: vipHere, local, peer: node('db2', { ...master, serverId: 2 }), errant: clean });
    assert.equal(r.verdict, 'DANGER');
    assert.equal(r.reasons[0], 'both db1 and db2 are writable');
  });

  it('when the VIP answers nowhere then it is DANGER', () => {
    const r = judgePair({ vip: { address: '192.0.2.10', holder: 'none', detail: '' }, local: { ...local, vipLocal: false }, peer, errant: clean });
    assert.deepEqual(r, { verdict: 'DANGER', reasons: ['VIP 192.0.2.10 is on neither node'] });
  });

  it('when the VIP is on the read-only node then it is DANGER', () => {
    const r = judgePair({ vip: { address: '192.0.2.10', holder: 'peer', detail: '' }, local: { ...local, vipLocal: false }, peer, errant: clean });
    assert.deepEqual(r.reasons, ['VIP 192.0.2.10 is on db2, which is read-only']);
  });

  it('when the old master is fenced and the last transition was refused then it is DANGER (no writer) with both reasons', () => {
    const fenced = node('db1', { ...master, readOnly: true, writable: false }, { keepalived: { running: true, detail: '' },
      files: { lastTransitions: [{ state: 'MASTER', outcome: 'refused', exitCode: 4 }] } });
    const r = judgePair({ vip: { address: null, holder: null, detail: '' }, local: fenced, peer, errant: clean });
    assert.equal(r.verdict, 'DANGER');
    assert.deepEqual(r.reasons, ['no node is writable', 'db1: read-only and not replicating (fenced)', 'db1: last transition MASTER refused (exit 4)']);
  });

  it('when keepalived is not running, transactions are old and nobody acks semi-sync then it is DEGRADED', () => {
    const m = { ...master, semiSync: { ...master.semiSync, clients: 0 }, transactions: { open: 2, olderThan60s: 1, oldestS: 75 } };
    const r = judgePair({ vip: vipHere, local: node('db1', m, { keepalived: { running: false, detail: 'no pid file' }, vipLocal: true }), peer, errant: clean });
    assert.deepEqual(r, { verdict: 'DEGRADED', reasons: [
      'db1: keepalived not running (no pid file)',
      'db1: semi-sync active but no replica is acknowledging (the next commit waits 2000 ms, then falls back to async)',
      'db1: 1 transaction(s) open over 60 s (oldest 75 s)',
    ] });
  });

  it('when no MySQL answers and the peer host is silent too then the verdict is UNKNOWN', () => {
    const r = judgePair({ vip: vipHere, local: node('db1', null), peer: node('db2', null), errant: clean });
    assert.equal(r.verdict, 'UNKNOWN');
  });

  it('when the verdicts map to exit codes then they are Nagios 0, 1, 2, 3', () => {
    assert.deepEqual(STATUS_EXIT, { OK: 0, DEGRADED: 1, DANGER: 2, UNKNOWN: 3 });
  });

  it('when keepalived.conf is read then the first virtual_ipaddress (not a commented one) is the VIP', () => {
    assert.equal(firstVirtualIp('vrrp_instance VI_1 {\n  # virtual_ipaddress { 10.0.0.1 }\n  virtual_ipaddress {\n    192.0.2.10/24 dev eth0\n  }\n}'), '192.0.2.10');
    assert.equal(firstVirtualIp('global_defs {}'), undefined);
  });
});
