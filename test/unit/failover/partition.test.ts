import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { healRole, nextTerm, promotionStanding } from '../../../src/failover/partition.js';

const t = (term: number) => ({ term, node: 'x', since: '', transitionId: '' });

describe('promotion terms', () => {
  it('a promotion takes a term above both nodes\' records', () => {
    assert.equal(nextTerm(undefined, undefined), 1);
    assert.equal(nextTerm(t(3), t(5)), 6);
    assert.equal(nextTerm(t(7), undefined), 8);
  });

  const standing: { name: string; local: number; peer?: { writable: boolean; term?: number; holdsAllOfOurs?: boolean }; marked?: boolean; kind: string }[] = [
    { name: 'peer unreachable', local: 1, kind: 'may-lead' },
    { name: 'peer read-only', local: 0, peer: { writable: false, term: 4 }, kind: 'may-lead' },
    { name: 'peer writable at an older term (a stale master after a heal)', local: 3, peer: { writable: true, term: 2, holdsAllOfOurs: false }, kind: 'may-lead' },
    { name: 'peer writable at a newer term', local: 2, peer: { writable: true, term: 3, holdsAllOfOurs: true }, kind: 'stale' },
    { name: 'a live writable master holding everything this replica has (switchover)', local: 0, peer: { writable: true, term: 0, holdsAllOfOurs: true }, kind: 'may-lead' },
    { name: 'a live writable master, term unreadable, holding everything', local: 0, peer: { writable: true, holdsAllOfOurs: true }, kind: 'may-lead' },
    { name: 'peer writable at the same term, diverged', local: 2, peer: { writable: true, term: 2, holdsAllOfOurs: false }, kind: 'stale' },
    { name: 'peer writable, term and containment unknown (GTIDs off)', local: 2, peer: { writable: true }, kind: 'may-lead' },
    { name: 'peer writable, term unknown, diverged', local: 0, peer: { writable: true, holdsAllOfOurs: false }, kind: 'stale' },
    { name: 'this node carries a step-down marker', local: 9, peer: { writable: false, term: 1 }, marked: true, kind: 'stale' },
  ];
  for (const c of standing) {
    it(`MASTER when ${c.name} → ${c.kind}`, () => {
      const marker = c.marked ? { by: 'db2', term: 3, reason: 'fenced through the witness', at: 'now' } : undefined;
      assert.equal(promotionStanding(c.local, c.peer, marker).kind, c.kind);
    });
  }

  const heal: { name: string; writable: boolean; local: number; peer?: { writable: boolean; term?: number }; role: string }[] = [
    { name: 'a replica', writable: false, local: 1, peer: { writable: true, term: 1 }, role: 'demote' },
    { name: 'the newer of two writable masters', writable: true, local: 2, peer: { writable: true, term: 1 }, role: 'keep-writes' },
    { name: 'the older of two writable masters', writable: true, local: 1, peer: { writable: true, term: 2 }, role: 'demote' },
    { name: 'writable beside a read-only peer (start-up)', writable: true, local: 0, peer: { writable: false, term: 0 }, role: 'demote' },
    { name: 'the newer master beside a fenced stale one that VRRP still prefers', writable: true, local: 2, peer: { writable: false, term: 1 }, role: 'keep-writes' },
    { name: 'writable, peer term unknown', writable: true, local: 3, peer: { writable: true }, role: 'demote' },
  ];
  for (const c of heal) it(`BACKUP on ${c.name} → ${c.role}`, () => assert.equal(healRole(c.writable, c.local, c.peer), c.role));
});
