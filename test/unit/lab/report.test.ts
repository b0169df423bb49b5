import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DrillResult } from '../../../lab/drills.js';
import { drillName, drillPlan } from '../../../lab/plan.js';
import { markdownMaxTable, spread, summarize, summaryTable } from '../../../lab/report.js';
import { SCENARIOS } from '../../../lab/scenarios.js';

// Over several runs: min / median / max per drill and figure, the README's max table, and the list of drills.

function result(drill: string, outage: number | null, pass = true, lost = 0): DrillResult {
  return {
    scenario: drill.split('@')[0]!, setting: 'witness', drill, title: '', startedAt: '', pass, failures: [], reported: [],
    writeOutageS: outage, vipMoveS: null, promotionS: 1, acked: 1, lost, lostIds: [], splitBrainMs: 0, splitBrainUpperMs: 0,
    staleAcks: 0, bothWritableMs: 10, redundantS: 3, topology: '', finalMaster: null, marks: [], durationS: 1, notes: [],
    timeline: { t0: 0, end: 0, faultAt: 0, ackBuckets: [], vip: [], writable: [], errors: [] },
  };
}

describe('spread', () => {
  it('when the count is odd then the median is the middle value', () => {
    assert.deepEqual(spread([3, 1, 2]), { min: 1, median: 2, max: 3 });
  });
  it('when the count is even then the median is the mean of the middle two', () => {
    assert.deepEqual(spread([4, 1, 2, 3.5]), { min: 1, median: 2.75, max: 4 });
  });
  it('when a run has no value (the VIP never moved) then it is left out; none at all gives undefined', () => {
    assert.deepEqual(spread([null, 2, null]), { min: 2, median: 2, max: 2 });
    assert.equal(spread([null, null]), undefined);
  });
});

describe('summaries over runs', () => {
  const runs = [result('crash', 1.5), result('cut@no-witness-async', 3, false, 7), result('crash', 2.1), result('crash', 1.4)];

  it('when a drill ran three times then its summary has the passes and each figure\'s spread, in first-run order', () => {
    const s = summarize(runs);
    assert.deepEqual(s.map((x) => [x.drill, x.runs, x.passed]), [['crash', 3, 3], ['cut@no-witness-async', 1, 0]]);
    assert.deepEqual(s[0]!.figures['outage s'], { min: 1.4, median: 1.5, max: 2.1 });
    assert.deepEqual(s[1]!.figures['lost'], { min: 7, median: 7, max: 7 });
    assert.equal(s[0]!.figures['VIP move s'], undefined);
  });

  it('the text table prints min / median / max per figure', () => {
    const t = summaryTable(runs);
    assert.match(t, /crash\s+\| 3\/3\s+\| 1\.40 \/ 1\.50 \/ 2\.10\s+\| -\s/);
  });

  it('the README table shows the maximum', () => {
    const lines = markdownMaxTable(runs).split('\n');
    assert.equal(lines[0], '| drill | passed | outage s (max) | VIP move s (max) | writable s (max) | lost (max) | split-brain ms (max) | stale acks (max) | both writable ms (max) | redundant again s (max) |');
    assert.equal(lines[2], '| crash | 3/3 | 2.10 | - | 1 | 0 | 0 | 0 | 10 | 3 |');
  });
});

describe('drillPlan', () => {
  it('by default every scenario runs with the witness and the trade-off ones also under each no-witness setting', () => {
    const names = drillPlan(SCENARIOS).map((d) => drillName(d.scenario.name, d.setting));
    assert.equal(names.length, SCENARIOS.length + 2 * SCENARIOS.filter((s) => s.tradeOff).length);
    for (const s of SCENARIOS) assert.ok(names.includes(s.name), s.name);
    for (const n of ['peer-link-cut', 'replica-down', 'replica-host-down']) {
      assert.ok(names.includes(`${n}@no-witness-fence`), n);
      assert.ok(names.includes(`${n}@no-witness-async`), n);
    }
    assert.ok(!names.includes('mysqld-crash@no-witness-fence'));
  });

  it('with settings given every chosen scenario runs under each of them', () => {
    const crash = SCENARIOS.filter((s) => s.name === 'mysqld-crash');
    assert.deepEqual(drillPlan(crash, ['no-witness-async', 'witness']).map((d) => drillName(d.scenario.name, d.setting)), ['mysqld-crash@no-witness-async', 'mysqld-crash']);
  });

  it('every scenario the issue names exists', () => {
    for (const n of ['peer-link-cut', 'short-partition', 'master-partition', 'master-nic-down', 'replica-host-down']) {
      assert.ok(SCENARIOS.some((s) => s.name === n), n);
    }
  });
});
