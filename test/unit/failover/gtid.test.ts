import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mariaErrantCheck, mariaPositionReached, mergeMariaPositions, parseMariaGtidList } from '../../../src/failover/gtid.js';

describe('MariaDB errant-transaction check', () => {
  it("when a crashed master's un-acked 0-1-11 sits beside a new master at 0-2-12 then it is errant (a per-domain compare would miss it)", () => {
    const r = mariaErrantCheck('0-1-11', { kind: 'state', binlogState: '0-1-10,0-2-12' });
    assert.deepEqual(r.errant, ['0-1-11..0-1-11']);
  });

  it('when every local server entry is covered by the peer state then nothing is errant', () => {
    assert.deepEqual(mariaErrantCheck('0-1-10,0-2-5', { kind: 'state', binlogState: '0-2-12,0-1-10' }), { errant: [], unproven: [] });
    assert.deepEqual(mariaErrantCheck('', { kind: 'state', binlogState: '0-2-1' }), { errant: [], unproven: [] });
  });

  it('when the local node has a domain or server the peer never saw then the whole range is errant', () => {
    assert.deepEqual(mariaErrantCheck('1-1-3', { kind: 'state', binlogState: '0-1-9' }).errant, ['1-1-1..1-1-3']);
  });

  it('when only the peer position is known then entries are proven, errant or unproven', () => {
    assert.deepEqual(mariaErrantCheck('0-1-10', { kind: 'pos', binlogPos: '0-1-12' }), { errant: [], unproven: [] });
    assert.equal(mariaErrantCheck('0-1-15', { kind: 'pos', binlogPos: '0-2-12' }).errant.length, 1);
    assert.deepEqual(mariaErrantCheck('0-1-11', { kind: 'pos', binlogPos: '0-2-12' }).unproven, ['0-1-11']);
  });

  it('when seq numbers exceed 2^53 then they are compared exactly', () => {
    assert.deepEqual(mariaErrantCheck('0-1-9007199254740993', { kind: 'state', binlogState: '0-1-9007199254740992' }).errant,
      ['0-1-9007199254740993..0-1-9007199254740993']);
  });
});

describe('MariaDB GTID positions', () => {
  it('when a former master resumes as a replica then the start position takes the higher seq per domain', () => {
    assert.equal(mergeMariaPositions('0-1-20,1-1-3', '0-2-15'), '0-1-20,1-1-3');
    assert.equal(mergeMariaPositions('', '0-2-15'), '0-2-15');
  });

  it('when positions are compared then each target domain must be reached', () => {
    assert.equal(mariaPositionReached('0-2-12', '0-1-12'), true);
    assert.equal(mariaPositionReached('0-2-11', '0-1-12'), false);
    assert.equal(mariaPositionReached('0-2-12', '0-1-12,1-1-1'), false);
  });

  it('when a GTID list is malformed then it is refused', () => {
    assert.throws(() => parseMariaGtidList('0-1'), /not a MariaDB GTID/);
  });
});
