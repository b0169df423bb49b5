import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commonState, domainsNotEndingInErrant, errantRanges, formatRange, positionOfState } from '../../../src/heal/gtid-sets.js';
import { describePlan, planRejoin, type RejoinFacts } from '../../../src/heal/plan.js';

const errantVerdict = { kind: 'errant' as const, errant: ['0-1-12'], autoHeal: true, maybeAcknowledged: [], reason: 'never acknowledged' };
const facts = (o: { local?: Partial<RejoinFacts['local']>; peer?: RejoinFacts['peer'] } & Partial<Omit<RejoinFacts, 'local' | 'peer'>> = {}): RejoinFacts => ({
  method: 'auto',
  verdict: errantVerdict,
  located: { found: 1, missing: 0, statements: [] },
  ...o,
  local: { flavorGtid: 'mariadb', readOnly: true, binlogState: '0-1-12', binlogPos: '0-1-12', slavePos: '0-1-3', binlogFormat: 'ROW', ...o.local },
  peer: o.peer ?? { reachable: true, readOnly: false, replicating: false, binlogState: '0-1-11,0-2-20', binlogPos: '0-2-20' },
});

describe('GTID sets for healing', () => {
  it('when a node holds 0-1-12 beyond a master at 0-1-11,0-2-20 then 0-1-12 is errant and the shared state is 0-1-11', () => {
    assert.deepEqual(errantRanges('0-1-12', '0-1-11,0-2-20').map(formatRange), ['0-1-12']);
    assert.equal(commonState('0-1-12,0-3-4', '0-1-11,0-2-20'), '0-1-11');
    assert.equal(positionOfState('0-1-11,0-2-20,1-1-3'), '0-2-20,1-1-3');
  });

  it('when an errant seq is below a shared seq of its domain then it is not a tail and cannot be rewound', () => {
    assert.deepEqual(domainsNotEndingInErrant('0-1-12', '0-1-11'), []);
    assert.deepEqual(domainsNotEndingInErrant('0-1-16,0-3-10', '0-1-11,0-3-10,0-2-1'), []);
    // Strict mode: 0-1-12 was logged before the shared 0-3-15, so it is not at the end of domain 0.
    assert.deepEqual(domainsNotEndingInErrant('0-1-12,0-3-15', '0-1-11,0-3-15'), [0]);
    assert.deepEqual(domainsNotEndingInErrant('0-1-12,0-3-15', '0-1-9,0-3-15'), [0]);
  });
});

describe('planRejoin', () => {
  it('when the node holds an errant tail and flashback can undo it then it saves, flashes back and starts after the shared state', () => {
    const p = planRejoin(facts());
    assert.equal(p.kind, 'rejoin');
    assert.ok(p.kind === 'rejoin');
    assert.deepEqual(p.save.map(formatRange), ['0-1-12']);
    assert.deepEqual(p.discard, { kind: 'flashback', commonState: '0-1-11' });
    assert.equal(p.startFrom, '0-1-11');
  });

  it('when flashback is impossible (STATEMENT binlog) then auto picks a rebuild, and says why', () => {
    const p = planRejoin(facts({ local: { binlogFormat: 'STATEMENT' } }));
    assert.ok(p.kind === 'rejoin' && p.discard.kind === 'rebuild');
    assert.match(p.why, /flashback impossible: binlog_format is STATEMENT/);
  });

  it('when an errant transaction is DDL then flashback (which skips statements silently) is impossible and auto rebuilds', () => {
    const p = planRejoin(facts({ located: { found: 1, missing: 0, statements: ['0-1-12'] } }));
    assert.ok(p.kind === 'rejoin' && p.discard.kind === 'rebuild');
    assert.match(p.why, /0-1-12 is a statement \(DDL\), which flashback cannot undo/);
    assert.equal(planRejoin(facts({ method: 'flashback', located: { found: 1, missing: 0, statements: ['0-1-12'] } })).kind, 'refuse');
  });

  it('when neither flashback nor rebuild can run then it refuses, naming both reasons', () => {
    const p = planRejoin(facts({ local: { binlogFormat: 'MIXED' }, rebuildBlocked: 'no SSH' }));
    assert.ok(p.kind === 'refuse');
    assert.match(p.reason, /flashback impossible .* rebuild impossible \(no SSH\)/);
  });

  it('when an errant transaction is no longer in the binlogs then nothing can be saved, so it refuses', () => {
    const p = planRejoin(facts({ located: { found: 0, missing: 1, statements: [] } }));
    assert.ok(p.kind === 'refuse');
    assert.match(p.reason, /cannot be saved/);
  });

  for (const [what, f, why] of [
    ['this node is writable', facts({ local: { readOnly: false } }), /writable/],
    ['this node holds the VIP', facts({ local: { holdsVip: '192.0.2.100 is on eth0' } }), /holds the VIP \(192.0.2.100 is on eth0\)/],
    ['the peer does not answer', facts({ peer: { reachable: false, reason: 'ECONNREFUSED' } }), /does not answer \(ECONNREFUSED\)/],
    ['the peer is read-only', facts({ peer: { reachable: true, readOnly: true, replicating: false, binlogState: '0-2-1', binlogPos: '0-2-1' } }), /read-only/],
    ['the peer replicates', facts({ peer: { reachable: true, readOnly: false, replicating: true, binlogState: '0-2-1', binlogPos: '0-2-1' } }), /replicates/],
    ['the server is MySQL', facts({ local: { flavorGtid: 'mysql' } }), /MariaDB with GTIDs only/],
    ['the verdict is unknown', facts({ verdict: { kind: 'unknown', reason: 'stale record' } }), /stale record/],
  ] as const) {
    it(`when ${what} then it refuses`, () => {
      const p = planRejoin(f);
      assert.equal(p.kind, 'refuse');
      assert.match(p.kind === 'refuse' ? p.reason : '', why);
      assert.deepEqual(describePlan(p), [`refuse: ${p.kind === 'refuse' ? p.reason : ''}`]);
    });
  }

  it('when healing automatically and the tail may have been acknowledged then it refuses and prints the rejoin command', () => {
    const maybe = { kind: 'errant' as const, errant: ['0-1-12'], autoHeal: false, maybeAcknowledged: ['0-1-12'], reason: 'async span' };
    const p = planRejoin(facts({ onlyIfProvenSafe: true, verdict: maybe }));
    assert.ok(p.kind === 'refuse');
    assert.match(p.reason, /0-1-12 may have been acknowledged \(async span\).*keepalived-mysql rejoin/);
    assert.equal(planRejoin(facts({ onlyIfProvenSafe: true })).kind, 'rejoin');
    assert.equal(planRejoin(facts({ verdict: maybe })).kind, 'rejoin', 'by hand, the operator decides');
  });

  it('when a previous rejoin stopped mid-discard then only a rebuild is planned (a half-applied flashback cannot be seen in the data)', () => {
    const interrupted = { method: 'flashback' as const, savedDir: '/var/lib/keepalived-mysql/saved/x' };
    const p = planRejoin(facts({ interrupted }));
    assert.ok(p.kind === 'rejoin' && p.discard.kind === 'rebuild');
    assert.match(p.why, /stopped during its flashback \(saved in \/var\/lib\/keepalived-mysql\/saved\/x\)/);
    assert.equal(planRejoin(facts({ interrupted, rebuildBlocked: 'no mbstream' })).kind, 'refuse');
  });

  it('when nothing is errant then nothing is saved and a former master starts after its own binlog position', () => {
    const p = planRejoin(facts({ local: { binlogState: '0-1-11', binlogPos: '0-1-11', slavePos: '0-2-3' } }));
    assert.ok(p.kind === 'rejoin' && p.discard.kind === 'none');
    assert.equal(p.startFrom, '0-1-11');
    assert.deepEqual(p.save, []);
  });

  it('when a rebuild is asked for then the dry-run lines name what is saved, what is discarded and where replication starts', () => {
    const lines = describePlan(planRejoin(facts({ method: 'rebuild' })));
    assert.match(lines.join('\n'), /save: 0-1-12[\s\S]*discard: rebuild[\s\S]*the backup's position/);
  });
});
