import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  judgeDrill, judgeTopology, lostIds, staleAcks, writeOutageMs,
  type Ack, type Expectation, type Figures, type NodeFinal, type TopologyVerdict,
} from '../../../lab/judge.js';

// The drill's verdict without a lab: topology, the must-be-zero figures, and a setting's reported trade-off.

const master = (host: 'a' | 'b', vip = true): NodeFinal => ({ host, alive: true, mysqld: true, vip, readOnly: false, gtid: '0-11-9' });
const replicaOf = (host: 'a' | 'b', of: string): NodeFinal => ({ host, alive: true, mysqld: true, vip: false, readOnly: true, io: 'Yes', sqlThread: 'Yes', masterHost: of });
const fenced = (host: 'a' | 'b'): NodeFinal => ({ host, alive: true, mysqld: true, vip: false, readOnly: true, io: 'No', sqlThread: 'No', masterHost: '10.213.0.12' });
const down = (host: 'a' | 'b'): NodeFinal => ({ host, alive: false, mysqld: false, vip: false });
const noReason = (): undefined => undefined;
const failoverToB: Expectation = { master: 'b', other: ['replica', 'fenced'], failover: true };

describe('judgeTopology', () => {
  it('when db2 is the writable VIP holder and db1 replicates from it then it matches', () => {
    const v = judgeTopology([replicaOf('a', '10.213.0.12'), master('b')], failoverToB, noReason);
    assert.equal(v.ok, true, v.text);
    assert.equal(v.master, 'b');
  });

  it('when both hold the VIP then it fails naming two holders', () => {
    const v = judgeTopology([master('a'), master('b')], failoverToB, noReason);
    assert.equal(v.ok, false);
    assert.match(v.text, /^2 VIP holders/);
  });

  it('when the other node is writable without the VIP then it fails as two writable nodes', () => {
    const v = judgeTopology([master('a', false), master('b')], failoverToB, noReason);
    assert.equal(v.ok, false);
    assert.match(v.text, /^two writable nodes/);
  });

  it('when the VIP holder is read-only then it fails', () => {
    const v = judgeTopology([{ ...master('a'), readOnly: true }, replicaOf('b', '10.213.0.11')], failoverToB, noReason);
    assert.match(v.text, /^VIP holder not writable/);
  });

  it('when the older master ends serving though only db2 may then it fails naming both', () => {
    const v = judgeTopology([master('a'), replicaOf('b', '10.213.0.11')], failoverToB, noReason);
    assert.equal(v.ok, false);
    assert.match(v.text, /master is db1, expected db2/);
  });

  it('when either master is allowed then db1 serving with db2 replicating matches', () => {
    const v = judgeTopology([master('a'), replicaOf('b', '10.213.0.11')], { master: ['a', 'b'], other: 'replica', failover: 'either' }, noReason);
    assert.equal(v.ok, true, v.text);
  });

  it('when the other node is fenced then it needs the toolkit\'s logged reason', () => {
    const nodes = [fenced('a'), master('b')];
    assert.match(judgeTopology(nodes, failoverToB, noReason).text, /fenced without a logged reason/);
    const v = judgeTopology(nodes, failoverToB, (h) => (h === 'a' ? 'errant transactions 0-11-10' : undefined));
    assert.equal(v.ok, true);
    assert.match(v.text, /\[fenced: errant transactions 0-11-10\]$/);
  });

  it('when the other node replicates from a third address then it counts as fenced, not replica', () => {
    const v = judgeTopology([replicaOf('a', '10.213.0.99'), master('b')], { master: 'b', other: 'replica', failover: true }, noReason);
    assert.match(v.text, /other node is fenced, expected replica/);
  });

  it('when the host is down then the other node is down', () => {
    assert.equal(judgeTopology([down('a'), master('b')], { master: 'b', other: 'down', failover: true }, noReason).ok, true);
  });

  it('when nobody is writable and a refusal is allowed then it matches with no master', () => {
    const v = judgeTopology([down('a'), { ...replicaOf('b', '10.213.0.11'), io: 'No' }], { master: 'b', other: 'down', failover: true, refusalAllowed: true }, noReason);
    assert.deepEqual([v.ok, v.master], [true, null]);
    assert.match(v.text, /^no master \(refused\)/);
  });
});

describe('drill arithmetic', () => {
  it('when writes resume then the outage is the longest gap from the last ack before the fault', () => {
    // fault at 1000; last ack before it 900; next at 2500, then 2600..3000 every 100; end 3100.
    assert.equal(writeOutageMs([800, 900, 2500, 2600, 2700, 2800, 2900, 3000], 1000, 3100), 1600);
  });

  it('when writes never resume then the outage runs to the end', () => {
    assert.equal(writeOutageMs([800, 900], 1000, 9000), 8100);
  });

  it('when the last ack is within the closing writes then the tail is not an outage', () => {
    assert.equal(writeOutageMs([900, 1100, 1200, 5000], 1000, 6000), 3800);
  });

  it('when the old master acknowledges after the new master\'s first ack then those are stale', () => {
    const acks: Ack[] = [
      { id: 1, at: 100, server: 'a' }, { id: 2, at: 200, server: 'a' },
      { id: 3, at: 1500, server: 'b' }, { id: 4, at: 1600, server: 'a' }, { id: 5, at: 1700, server: 'a' }, { id: 6, at: 1800, server: 'b' },
    ];
    assert.deepEqual(staleAcks(acks, 1000), { count: 2, firstNewAt: 1500 });
  });

  it('when the old master\'s acks all precede the new master\'s first then none is stale', () => {
    const acks: Ack[] = [{ id: 1, at: 100, server: 'a' }, { id: 2, at: 1200, server: 'a' }, { id: 3, at: 1500, server: 'b' }];
    assert.deepEqual(staleAcks(acks, 1000), { count: 0, firstNewAt: 1500 });
  });

  it('when only the old master ever acknowledges then nothing is stale', () => {
    assert.deepEqual(staleAcks([{ id: 1, at: 100, server: 'a' }, { id: 2, at: 5000, server: 'a' }], 1000), { count: 0 });
  });

  it('when db2 was the master before the fault then db1 is the new one', () => {
    const acks: Ack[] = [{ id: 1, at: 100, server: 'b' }, { id: 2, at: 1500, server: 'a' }, { id: 3, at: 1600, server: 'b' }];
    assert.equal(staleAcks(acks, 1000).count, 1);
  });

  it('when the role moved a→b before the measured fault and moves back to a then only acks after the fault count', () => {
    const acks: Ack[] = [
      { id: 1, at: 100, server: 'a' }, { id: 2, at: 500, server: 'b' }, { id: 3, at: 900, server: 'b' },
      { id: 4, at: 1500, server: 'a' }, { id: 5, at: 1600, server: 'a' },
    ];
    assert.deepEqual(staleAcks(acks, 1000), { count: 0, firstNewAt: 1500 });
  });

  it('lostIds lists acknowledged ids the final master lacks', () => {
    assert.deepEqual(lostIds([{ id: 1, at: 0 }, { id: 2, at: 0 }, { id: 3, at: 0 }], new Set([1, 3, 4])), [2]);
  });
});

describe('judgeDrill', () => {
  const ok: TopologyVerdict = { ok: true, text: 'db2 master', master: 'b' };
  const clean: Figures = { lost: 0, splitBrainMs: 0, splitBrainUpperMs: 0, staleAcks: 0, vipMoveMs: 1500 };

  it('when every must-be-zero figure is 0 and the topology matches then it passes', () => {
    assert.deepEqual(judgeDrill({ figures: clean, topology: ok, expect: failoverToB, tradeOff: [] }), { failures: [], reported: [] });
  });

  it('when rows are lost, split brain is proven or the old master acked late then each is a failure', () => {
    const j = judgeDrill({ figures: { ...clean, lost: 3, splitBrainMs: 40, staleAcks: 7 }, topology: ok, expect: failoverToB, tradeOff: [] });
    assert.deepEqual(j.failures, [
      '3 acknowledged rows missing on the final master',
      '40 ms with both nodes writable and holding the VIP',
      '7 writes acknowledged by the old master after the new master acknowledged its first',
    ]);
  });

  it('when the sample-and-hold bound exceeds two sampling intervals then it fails, within them it does not', () => {
    assert.equal(judgeDrill({ figures: { ...clean, splitBrainUpperMs: 50 }, topology: ok, expect: failoverToB, tradeOff: [] }).failures.length, 0);
    assert.match(judgeDrill({ figures: { ...clean, splitBrainUpperMs: 51 }, topology: ok, expect: failoverToB, tradeOff: [] }).failures[0] ?? '', /up to 51 ms/);
  });

  it('when a failover was expected and the VIP never moved then it fails, unless a refusal is allowed', () => {
    const { vipMoveMs: _, ...noMove } = clean;
    assert.deepEqual(judgeDrill({ figures: noMove, topology: ok, expect: failoverToB, tradeOff: [] }).failures, ['the VIP never moved']);
    assert.deepEqual(judgeDrill({ figures: noMove, topology: ok, expect: { ...failoverToB, refusalAllowed: true }, tradeOff: [] }).failures, []);
  });

  it('when no failover was allowed and the VIP moved then it fails; when it is the toolkit\'s call either is fine', () => {
    const stay: Expectation = { master: 'a', other: 'replica', failover: false };
    assert.match(judgeDrill({ figures: clean, topology: ok, expect: stay, tradeOff: [] }).failures[0] ?? '', /moved \(at \+1\.50 s\)/);
    assert.deepEqual(judgeDrill({ figures: clean, topology: ok, expect: { ...stay, failover: 'either' }, tradeOff: [] }).failures, []);
  });

  it('when a scenario step failed then that is the first failure', () => {
    assert.deepEqual(judgeDrill({ stepFailure: 'drill step failed: x', figures: clean, topology: ok, expect: failoverToB, tradeOff: [] }).failures, ['drill step failed: x']);
  });

  it('when a setting\'s trade-off allows a figure then it is reported, and the others still fail', () => {
    const bad = { ...clean, lost: 5, splitBrainMs: 900, splitBrainUpperMs: 950, staleAcks: 2 };
    const topo: TopologyVerdict = { ok: false, text: '2 VIP holders', master: null };
    const fence = judgeDrill({ figures: bad, topology: topo, expect: failoverToB, tradeOff: ['splitBrain', 'topology', 'failover'] });
    assert.deepEqual(fence.failures, ['5 acknowledged rows missing on the final master', '2 writes acknowledged by the old master after the new master acknowledged its first']);
    assert.equal(fence.reported.length, 3);
    const async = judgeDrill({ figures: bad, topology: topo, expect: failoverToB, tradeOff: ['splitBrain', 'topology', 'failover', 'lost', 'staleAcks'] });
    assert.deepEqual(async.failures, []);
    assert.equal(async.reported.length, 5);
  });
});
