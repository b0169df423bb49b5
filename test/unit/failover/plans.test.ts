import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientConnectionsToKill, compareTail, decideAfterCatchUp, relayLogApplied } from '../../../src/failover/plans.js';
import { nextPollDelay } from '../../../src/platform/poll.js';
import type { ReplicaStatus } from '../../../src/mysql/queries.js';

const status = (o: Partial<ReplicaStatus>): ReplicaStatus => ({
  sourceHost: 'a', sourcePort: 3306, ioRunning: 'Yes', sqlRunning: 'Yes', sourceLogFile: 'bin.000002', readSourceLogPos: 900,
  relaySourceLogFile: 'bin.000002', execSourceLogPos: 900, lastIoError: '', lastSqlError: '', usingGtid: 'Slave_Pos',
  receivedGtids: '0-1-9', secondsBehind: 0, ...o,
});

describe('fencing: which connections to kill', () => {
  it('when the process list has clients, replication, system threads and our own accounts then only clients are killed', () => {
    const ids = clientConnectionsToKill([
      { id: 1, user: 'app', command: 'Query' },
      { id: 2, user: 'app', command: 'Sleep' },
      { id: 3, user: 'repl', command: 'Binlog Dump GTID' },
      { id: 4, user: 'system user', command: 'Slave_SQL' },
      { id: 5, user: 'event_scheduler', command: 'Daemon' },
      { id: 6, user: 'keepalived', command: 'Sleep' },
      { id: 7, user: 'root', command: 'Query' },
      { id: 8, user: 'other', command: 'Binlog Dump' },
    ], { ownThreadId: 7, users: ['keepalived', 'repl'] });
    assert.deepEqual(ids, [1, 2]);
  });
});

describe('catch-up decisions', () => {
  it('when read and executed coordinates match then the relay log is applied', () => {
    assert.equal(relayLogApplied(status({})), true);
    assert.equal(relayLogApplied(status({ execSourceLogPos: 800 })), false);
    assert.equal(relayLogApplied(status({ relaySourceLogFile: 'bin.000001' })), false);
  });

  it('when the catch-up timed out then the policy decides between refusing and promoting with a gap', () => {
    assert.equal(decideAfterCatchUp(true, 'refuse'), 'continue');
    assert.equal(decideAfterCatchUp(false, 'refuse'), 'refuse');
    assert.equal(decideAfterCatchUp(false, 'promote'), 'promote-with-gap');
  });

  it('when polling then the interval grows from 20 ms to at most 1 s', () => {
    let d = 20;
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) seen.push((d = nextPollDelay(d)));
    assert.ok(seen.every((v, i) => i === 0 || v >= (seen[i - 1] ?? 0)));
    assert.equal(seen.at(-1), 1000);
  });
});

describe("old master's binlog tail against what the replica applied", () => {
  const applied = { relaySourceLogFile: 'mysql-bin.000003', execSourceLogPos: 1200, appliedGtids: '0-1-40', flavor: 'mariadb' as const };

  it('when the last GTID in the tail was applied then there is no gap', () => {
    const c = compareTail({ file: '/var/lib/mysql/mysql-bin.000003', endPos: 1500, tornBytes: 0, lastGtid: '0-1-40' }, applied);
    assert.equal(c.gap, false);
    assert.match(c.summary, /^old master ended at mysql-bin\.000003:1500 \(last GTID 0-1-40\), replica applied mysql-bin\.000003:1200/);
  });

  it('when the tail has a GTID the replica lacks then a possible loss is flagged', () => {
    const c = compareTail({ file: '/x/mysql-bin.000003', endPos: 1500, tornBytes: 0, lastGtid: '0-1-41' }, applied);
    assert.equal(c.gap, true);
    assert.match(c.summary, /0-1-41 not applied, possible loss/);
  });

  it('when no GTID is known then file and position decide', () => {
    const noGtid = { ...applied, appliedGtids: '' };
    assert.equal(compareTail({ file: '/x/mysql-bin.000003', endPos: 1200, tornBytes: 0 }, noGtid).gap, false);
    assert.match(compareTail({ file: '/x/mysql-bin.000003', endPos: 1300, tornBytes: 17 }, noGtid).summary, /100 bytes not applied.*|plus 17 torn bytes/);
    assert.equal(compareTail({ file: '/x/mysql-bin.000004', endPos: 400, tornBytes: 0 }, noGtid).gap, true);
  });
});
