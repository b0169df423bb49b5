import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { operatorHint, planTailRecovery, type ReplicaApplied } from '../../../src/failover/tail-recovery.js';
import type { BinlogTail } from '../../../src/ssh/types.js';

const applied: ReplicaApplied = {
  relaySourceLogFile: 'mysql-bin.000003', execSourceLogPos: 1000, gtidBinlogPos: '0-1-40', gtidSlavePos: '0-1-40', flavor: 'mariadb',
};

const tail = (file: string, t: Partial<BinlogTail>): BinlogTail =>
  ({ file: `/var/lib/mysql/${file}`, endPos: 1000, tornBytes: 0, walkedFrom: 1000, formatDescriptionEnd: 256, groups: [], ...t });

describe('which bytes of the old master\'s binlogs hold transactions the replica lacks', () => {
  it('when the old master ends where the replica applied then nothing is missing', () => {
    const plan = planTailRecovery([tail('mysql-bin.000003', {})], applied);
    assert.equal(plan.kind, 'complete');
    assert.match(plan.summary, /^old master ended at mysql-bin\.000003:1000, replica applied mysql-bin\.000003:1000/);
  });

  it('when complete groups follow the replica position then one range covers exactly them, without the torn tail', () => {
    const plan = planTailRecovery([tail('mysql-bin.000003', {
      endPos: 1600, tornBytes: 33,
      groups: [{ start: 1000, end: 1200, gtid: '0-1-41' }, { start: 1200, end: 1600, gtid: '0-1-42' }],
    })], applied);
    assert.equal(plan.kind, 'missing');
    if (plan.kind !== 'missing') return;
    assert.deepEqual(plan.ranges, [{ file: '/var/lib/mysql/mysql-bin.000003', from: 1000, to: 1600, formatDescriptionEnd: 256, groups: 2 }]);
    assert.equal(plan.missing, '2 transaction(s) (GTIDs 0-1-41..0-1-42) at mysql-bin.000003:1000-1600');
  });

  it('when the old master rotated then each later binlog gets its own range after its format description', () => {
    const plan = planTailRecovery([
      tail('mysql-bin.000003', { endPos: 1100, groups: [{ start: 1000, end: 1100, gtid: '0-1-41' }] }),
      tail('mysql-bin.000004', { walkedFrom: 4, endPos: 900, formatDescriptionEnd: 250, groups: [{ start: 330, end: 900, gtid: '0-1-42' }] }),
    ], applied);
    assert.equal(plan.kind, 'missing');
    if (plan.kind !== 'missing') return;
    assert.deepEqual(plan.ranges.map((r) => [r.file.slice(-6), r.from, r.to, r.formatDescriptionEnd]), [['000003', 1000, 1100, 256], ['000004', 330, 900, 250]]);
    assert.equal(plan.count, 2);
  });

  it('when some groups are already in the local binlog (an interrupted earlier recovery) then only the rest is fetched', () => {
    const plan = planTailRecovery([tail('mysql-bin.000003', {
      endPos: 1600, groups: [{ start: 1000, end: 1200, gtid: '0-1-41' }, { start: 1200, end: 1600, gtid: '0-1-42' }],
    })], { ...applied, gtidBinlogPos: '0-1-41' });
    assert.equal(plan.kind, 'missing');
    if (plan.kind === 'missing') assert.deepEqual([plan.ranges[0]?.from, plan.firstGtid, plan.count], [1200, '0-1-42', 1]);
    const done = planTailRecovery([tail('mysql-bin.000003', { endPos: 1600, groups: [{ start: 1000, end: 1600, gtid: '0-1-41' }] })],
      { ...applied, gtidBinlogPos: '0-1-41' });
    assert.equal(done.kind, 'complete');
  });

  it('when the walk did not start at the replica position, or names another file, or listed too many groups then the tail is unknown', () => {
    assert.equal(planTailRecovery([tail('mysql-bin.000003', { walkedFrom: 4 })], applied).kind, 'unknown');
    assert.equal(planTailRecovery([tail('mysql-bin.000004', {})], applied).kind, 'unknown');
    const { groups: _dropped, ...noGroups } = tail('mysql-bin.000003', { endPos: 5000 });
    assert.match(planTailRecovery([noGroups], applied).summary, /too many transactions/);
    assert.equal(planTailRecovery([], applied).kind, 'unknown');
  });

  it('when an applied group follows a missing one (interleaved domains) then the tail is unknown rather than applied twice', () => {
    const plan = planTailRecovery([tail('mysql-bin.000003', {
      endPos: 1600, groups: [{ start: 1000, end: 1200, gtid: '1-1-5' }, { start: 1200, end: 1600, gtid: '0-1-40' }],
    })], applied);
    assert.equal(plan.kind, 'unknown');
  });

  it('when groups have no GTID (file/position only) then every group after the replica position is missing', () => {
    const plan = planTailRecovery([tail('mysql-bin.000003', { endPos: 1300, groups: [{ start: 1000, end: 1300 }] })],
      { ...applied, gtidBinlogPos: '', gtidSlavePos: '', flavor: 'mysql' });
    assert.equal(plan.kind === 'missing' ? plan.missing : plan.kind, '1 transaction(s) at mysql-bin.000003:1000-1300');
  });

  it('when an operator must apply the gap by hand then the hint names the tool and exact positions', () => {
    assert.equal(operatorHint([{ file: '/d/mysql-bin.000003', from: 1000, to: 1600, formatDescriptionEnd: 256, groups: 2 }], 'mariadb'),
      'mariadb-binlog --start-position=1000 --stop-position=1600 /d/mysql-bin.000003 | mariadb -h <new master>');
  });
});
