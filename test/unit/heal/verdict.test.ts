import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PositionRecord } from '../../../src/failover/position-record.js';
import { decideHeal, NO_FALLBACK_MIN_TIMEOUT_MS, type HealEvidence, type SemiSyncEvidence } from '../../../src/heal/verdict.js';
import { parseSwitchLog } from '../../../src/heal/switch-log.js';

// The design's settings: AFTER_SYNC, wait even with no replica, a timeout that never passes in practice.
const never: SemiSyncEvidence = { enabled: true, waitPoint: 'AFTER_SYNC', waitNoSlave: true, timeoutMs: NO_FALLBACK_MIN_TIMEOUT_MS };
const ev = (o: Partial<HealEvidence>): HealEvidence => ({
  nowMs: 1_000_000_000, localBinlogState: '0-1-12', peer: { kind: 'live', binlogState: '0-1-11,0-2-20' }, semiSync: never,
  switchLog: { entries: [], problems: [] }, ...o,
});
const record = (o: Partial<PositionRecord>): PositionRecord => ({
  node: 'db2', role: 'master', recordedAt: '2026-01-01T00:00:00Z', transitionId: 't', gtidBinlogState: '0-2-5', ...o,
});
const line = (mode: string, pos: string): string => JSON.stringify({ at: '2026-12-01T14:00:00Z', node: 'db1', mode, gtidBinlogPos: pos, reason: 'test' });

describe('decideHeal: may the errant tail be discarded without an operator?', () => {
  it('when every local transaction is on the live new master then the node is in sync', () => {
    assert.equal(decideHeal(ev({ localBinlogState: '0-1-11' })).kind, 'in-sync');
  });

  it('when semi-sync could never fall back and no async span was recorded then the un-acked tail heals automatically', () => {
    const v = decideHeal(ev({}));
    assert.equal(v.kind, 'errant');
    assert.ok(v.kind === 'errant' && v.autoHeal);
    assert.deepEqual(v.kind === 'errant' && v.errant, ['0-1-12']);
  });

  it('when a recorded switch to async precedes the errant commit then it may have been acknowledged: no auto-heal, and the GTID is named', () => {
    const switchLog = parseSwitchLog(`${line('async', '0-1-11')}\n`);
    const v = decideHeal(ev({ switchLog }));
    assert.ok(v.kind === 'errant' && !v.autoHeal);
    assert.deepEqual(v.kind === 'errant' && v.maybeAcknowledged, ['0-1-12']);
  });

  it('when the async span was closed before the errant commit then the commit waited for an ack and heals automatically', () => {
    const switchLog = parseSwitchLog(`${line('async', '0-1-5')}\n${line('semi-sync', '0-1-9')}\n`);
    const v = decideHeal(ev({ switchLog }));
    assert.ok(v.kind === 'errant' && v.autoHeal, JSON.stringify(v));
  });

  it('when a span covers only part of an errant range then only that part is named as possibly acknowledged', () => {
    const switchLog = parseSwitchLog(`${line('async', '0-1-10')}\n${line('semi-sync', '0-1-13')}\n`);
    const v = decideHeal(ev({ localBinlogState: '0-1-16', peer: { kind: 'live', binlogState: '0-1-11' }, switchLog }));
    assert.deepEqual(v.kind === 'errant' && v.maybeAcknowledged, ['0-1-12..0-1-13']);
  });

  it("when semi-sync is off because the guard switched it (an open async span) then the span decides: older errant GTIDs still heal", () => {
    const switchLog = parseSwitchLog(`${line('async', '0-1-20')}\n`);
    const v = decideHeal(ev({ semiSync: { ...never, enabled: false }, switchLog }));
    assert.ok(v.kind === 'errant' && v.autoHeal, JSON.stringify(v));
    const inSpan = decideHeal(ev({ semiSync: { ...never, enabled: false }, switchLog: parseSwitchLog(`${line('async', '0-1-11')}\n`) }));
    assert.ok(inSpan.kind === 'errant' && !inSpan.autoHeal);
  });

  it('when the switch log has an unreadable line then nothing is proven: no auto-heal', () => {
    const v = decideHeal(ev({ switchLog: parseSwitchLog('{"torn\n') }));
    assert.ok(v.kind === 'errant' && !v.autoHeal);
    assert.match(v.reason, /switch log cannot be read/);
  });

  for (const [what, s] of [
    ['a short timeout', { ...never, timeoutMs: 10_000 }],
    ['wait_no_slave=OFF', { ...never, waitNoSlave: false }],
    ['AFTER_COMMIT', { ...never, waitPoint: 'AFTER_COMMIT' }],
    ['semi-sync off', { ...never, enabled: false }],
    ['un-acked commits counted with no switch recorded', { ...never, noAckCommits: 3 }],
  ] as const) {
    it(`when the master ran with ${what} then it may have acknowledged alone: no auto-heal`, () => {
      const v = decideHeal(ev({ semiSync: s }));
      assert.ok(v.kind === 'errant' && !v.autoHeal, JSON.stringify(v));
    });
  }

  it('when the timeout is only a 1 h backstop then the tail heals automatically while it is younger than the timeout, and not after', () => {
    const semiSync = { ...never, timeoutMs: 3_600_000 };
    const young = decideHeal(ev({ semiSync, nowMs: 10_000_000, errantSinceMs: 10_000_000 - 30_000 }));
    assert.ok(young.kind === 'errant' && young.autoHeal, JSON.stringify(young));
    const old = decideHeal(ev({ semiSync, nowMs: 10_000_000, errantSinceMs: 10_000_000 - 3_600_000 }));
    assert.ok(old.kind === 'errant' && !old.autoHeal);
    assert.match(old.reason, /3600 s old: one may have fallen back/);
    const unknownAge = decideHeal(ev({ semiSync }));
    assert.ok(unknownAge.kind === 'errant' && !unknownAge.autoHeal);
  });

  it('when mysqld restarted after the errant commits then its counters prove nothing (semi-sync may have been switched off by hand): no auto-heal', () => {
    const semiSync = { ...never, timeoutMs: 3_600_000 };
    const sameLife = decideHeal(ev({ semiSync, nowMs: 10_000_000, errantSinceMs: 9_990_000, startedAtMs: 5_000_000 }));
    assert.ok(sameLife.kind === 'errant' && sameLife.autoHeal, JSON.stringify(sameLife));
    const restarted = decideHeal(ev({ semiSync, nowMs: 10_000_000, errantSinceMs: 9_990_000, startedAtMs: 9_995_000 }));
    assert.ok(restarted.kind === 'errant' && !restarted.autoHeal);
    assert.match(restarted.reason, /mysqld restarted since the errant transactions/);
  });

  it('when a commit still waits for its ack on this node then a fallback would acknowledge it: no auto-heal', () => {
    const v = decideHeal(ev({ semiSync: { ...never, waitingForAck: 1 } }));
    assert.ok(v.kind === 'errant' && !v.autoHeal);
    assert.match(v.reason, /still wait for an ack/);
  });

  it("when only a stale position record of the peer is known (role master, from before a power loss) then the verdict is unknown, not errant", () => {
    const v = decideHeal(ev({ localBinlogState: '0-1-918', peer: { kind: 'record', record: record({ gtidBinlogState: '0-1-3' }), peerMysqlDown: true } }));
    assert.equal(v.kind, 'unknown');
    assert.match(v.reason, /not proven current/);
  });

  it("when the peer's record was written fenced and its MySQL is down now then the record is current and decides", () => {
    const v = decideHeal(ev({ peer: { kind: 'record', record: record({ role: 'fenced', gtidBinlogState: '0-1-12' }), peerMysqlDown: true } }));
    assert.equal(v.kind, 'in-sync');
    const notDown = decideHeal(ev({ peer: { kind: 'record', record: record({ role: 'fenced', gtidBinlogState: '0-1-12' }), peerMysqlDown: false } }));
    assert.equal(notDown.kind, 'unknown');
  });

  it('when nothing is known about the peer then the verdict is unknown and says to wait', () => {
    const v = decideHeal(ev({ peer: { kind: 'none', reason: 'connect ECONNREFUSED' } }));
    assert.equal(v.kind, 'unknown');
    assert.match(v.reason, /waiting/);
  });
});

describe('the semi-sync switch log format', () => {
  it('when lines are well formed then each is an entry (no mode: the guard\'s async switch); a bad line is a problem, never a crash', () => {
    const guardLine = JSON.stringify({ at: '2026-12-01T14:00:00Z', node: 'db1', reason: 'proven', gtidBinlogPos: '0-1-4' });
    assert.equal(parseSwitchLog(guardLine).entries[0]?.mode, 'async');
    const log = parseSwitchLog(`${line('async', '0-1-5')}\n\n{"mode":"async"}\nnot json\n`);
    assert.equal(log.entries.length, 1);
    assert.equal(log.entries[0]?.gtidBinlogPos, '0-1-5');
    assert.equal(log.problems.length, 2);
    assert.match(log.problems[0] ?? '', /^line 3: /);
  });
});
