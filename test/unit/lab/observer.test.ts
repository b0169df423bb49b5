import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Observer } from '../../../lab/observer.js';
import { table, timelineSvg } from '../../../lab/report.js';
import type { DrillResult } from '../../../lab/drills.js';

// The drill's observer arithmetic without a lab: split-brain integration, VIP arrival, the table and the picture.

function observer(): Observer {
  const o = new Observer();
  // db1 writable with the VIP from 0; db2 gets the VIP at 1000 and is writable from 1200; db1 read-only at 1500.
  o.vipEvents.push({ at: 0, host: 'a', present: true }, { at: 0, host: 'b', present: false }, { at: 1000, host: 'b', present: true });
  for (let t = 0; t <= 3000; t += 100) {
    o.samples.push({ at: t, host: 'a', writable: t < 1500, state: 'ok' });
    o.samples.push({ at: t, host: 'b', writable: t >= 1200, state: 'ok' });
  }
  o.samples.sort((x, y) => x.at - y.at);
  return o;
}

test('splitBrainMs counts only time when both nodes are writable and hold the VIP', () => {
  // proven: db1 writable 0..1400 (last two writable samples), db2 from 1200: 200 ms; sample-and-hold adds db1's 1400..1500.
  assert.equal(observer().splitBrainMs(0, 3000), 200);
  assert.equal(observer().splitBrainMs(0, 3000, undefined, 'upper'), 300);
});

test('splitBrainMs: a hand-over between two samples is not proven split brain, only within the upper bound', () => {
  const o = new Observer();
  o.vipEvents.push({ at: 0, host: 'a', present: true }, { at: 0, host: 'b', present: true });
  // db1 sampled at 925, 950 (writable), 975 (read-only); db2 at 947 (read-only), 972, 997 (writable): the flip is between samples.
  for (const [at, w] of [[925, true], [950, true], [975, false], [1000, false]] as const) o.samples.push({ at, host: 'a', writable: w, state: 'ok' });
  for (const [at, w] of [[922, false], [947, false], [972, true], [997, true]] as const) o.samples.push({ at, host: 'b', writable: w, state: 'ok' });
  o.samples.sort((x, y) => x.at - y.at);
  assert.equal(o.splitBrainMs(900, 1000), 0);
  assert.equal(o.splitBrainMs(900, 1000, undefined, 'upper'), 3);
});

test('splitBrainMs honours a VIP filter (a dead host serves nothing)', () => {
  assert.equal(observer().splitBrainMs(0, 3000, (h, t) => h === 'b' && t >= 1000), 0);
});

test('vipArrival and firstWritable find the first change after the fault', () => {
  const o = observer();
  assert.equal(o.vipArrival('b', 500), 1000);
  assert.equal(o.vipArrival('a', 500), undefined);
  assert.equal(o.firstWritable('b', 500), 1200);
});

test('the table and the SVG render a result', () => {
  const r: DrillResult = {
    scenario: 'x', setting: 'witness', drill: 'x', title: 't <&>', startedAt: '', pass: true, failures: [], reported: [], writeOutageS: 1.5, vipMoveS: 1, promotionS: 1.2,
    acked: 10, lost: 0, lostIds: [], splitBrainMs: 0, splitBrainUpperMs: 0, staleAcks: 0, bothWritableMs: 0, redundantS: 2.5, topology: 'ok', finalMaster: 'db2', marks: [{ t: 100, label: 'fault' }],
    durationS: 1, notes: [],
    timeline: { t0: 0, end: 1000, faultAt: 100, ackBuckets: [1, 2, 0, 3], vip: [{ host: 'db1', from: 0, to: 100 }], writable: [], errors: [] },
  };
  assert.match(table([r]), /x\s+\| PASS\s+\| 1\.50/);
  const svg = timelineSvg(r);
  assert.match(svg, /^<svg /);
  assert.match(svg, /t &lt;&amp;&gt;/);
  assert.match(svg, /<\/svg>\n$/);
});

test('redundantSince: the start of the final unbroken run of replicating samples; none when it does not replicate at the end', () => {
  const o = new Observer();
  for (const [at, r] of [[0, true], [100, false], [200, true], [300, false], [400, true], [500, true]] as const) {
    o.samples.push({ at, host: 'a', writable: false, replicating: r, state: 'ok' });
    o.samples.push({ at, host: 'b', writable: true, replicating: at < 300, state: 'ok' });
  }
  assert.equal(o.redundantSince('a'), 400);
  assert.equal(o.redundantSince('b'), undefined);
});

test('both writable at all: the same proven integration with every VIP ignored', () => {
  const o = observer();
  // Nobody holds the VIP, yet both were writable 1200..1400 (proven).
  assert.equal(o.splitBrainMs(0, 3000, () => false), 0);
  assert.equal(o.splitBrainMs(0, 3000, () => true), 200);
});
