import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideReplicaLost, guardStep, type LocalReading, type PeerSight, type Proof } from '../../../src/health/semisync-guard.js';

const master = (o: Partial<LocalReading> = {}): LocalReading => ({
  readOnly: false, stuckCommits: 0, replicas: 1, gtidBinlogPos: '0-11-40',
  semiSync: { variable: 'rpl_semi_sync_master_enabled', enabled: true }, ...o,
});

describe('guardStep: when check-mysql on a master acts on semi-sync', () => {
  const cases: { name: string; reading: LocalReading | undefined; kind: string }[] = [
    { name: 'nothing read (old server, no privilege)', reading: undefined, kind: 'none' },
    { name: 'a read-only replica with stuck sessions', reading: master({ readOnly: true, stuckCommits: 3 }), kind: 'none' },
    { name: 'no semi-sync plugin', reading: master({ stuckCommits: 2, semiSync: undefined }), kind: 'none' },
    { name: 'a healthy master (replica connected, nothing stuck)', reading: master(), kind: 'none' },
    { name: 'commits stuck waiting for the ack', reading: master({ stuckCommits: 1, replicas: 0 }), kind: 'prove-replica-lost' },
    { name: 'commits stuck while the dump thread still looks connected (a cut link)', reading: master({ stuckCommits: 1, replicas: 1 }), kind: 'prove-replica-lost' },
    { name: 'async with a replica connected again', reading: master({ semiSync: { variable: 'rpl_semi_sync_source_enabled', enabled: false } }), kind: 'enable-semi-sync' },
    { name: 'async with no replica', reading: master({ replicas: 0, semiSync: { variable: 'rpl_semi_sync_master_enabled', enabled: false } }), kind: 'none' },
  ];
  for (const c of cases) it(`${c.name} → ${c.kind}`, () => assert.equal(guardStep(c.reading).kind, c.kind));

  it('names the server variable it will switch (MySQL 8.0.26+ spells it source)', () => {
    const s = guardStep(master({ semiSync: { variable: 'rpl_semi_sync_source_enabled', enabled: false } }));
    assert.equal(s.kind === 'enable-semi-sync' && s.variable, 'rpl_semi_sync_source_enabled');
  });
});

describe('decideReplicaLost: async only once the replica provably is not promoting', () => {
  const p = (direct: PeerSight, viaWitness?: Proof['viaWitness']): Proof => ({ direct, ...(viaWitness !== undefined ? { viaWitness } : {}) });
  const cases: { name: string; proof: Proof; policy: 'fence' | 'async'; kind: string }[] = [
    { name: 'replica answers directly, read-only', proof: p('read-only'), policy: 'fence', kind: 'async' },
    { name: 'replica host refuses the MySQL port (mysqld down)', proof: p('refused'), policy: 'fence', kind: 'async' },
    { name: 'peer answers directly and is writable (it was promoted)', proof: p('writable'), policy: 'async', kind: 'step-down' },
    { name: 'link cut: the witness sees the replica alive', proof: p('silent', 'read-only'), policy: 'async', kind: 'keep-waiting' },
    { name: 'link cut: the witness sees the peer writable', proof: p('silent', 'writable'), policy: 'async', kind: 'step-down' },
    { name: 'replica host down: the witness cannot reach it either', proof: p('silent', 'silent'), policy: 'fence', kind: 'async' },
    { name: 'replica mysqld down, seen through the witness', proof: p('silent', 'refused'), policy: 'fence', kind: 'async' },
    { name: 'this node is isolated: the witness does not answer', proof: p('silent', 'no-witness'), policy: 'async', kind: 'keep-waiting' },
    { name: 'no witness, policy fence', proof: p('silent'), policy: 'fence', kind: 'step-down' },
    { name: 'no witness, policy async (the seed)', proof: p('silent'), policy: 'async', kind: 'async' },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.kind}`, () => {
      const d = decideReplicaLost(c.proof, c.policy);
      assert.equal(d.kind, c.kind);
      assert.ok(d.why.length > 20, 'every decision carries its reason for the log');
    });
  }
});
