import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decisionFor } from '../../../src/health/decision-journal.js';
import type { TransitionRecord } from '../../../src/history/transitions.js';
import { renderExposition } from '../../../src/metrics/prom.js';
import { metricFamilies } from '../../../src/metrics/snapshot.js';
import type { PairStatus } from '../../../src/status/model.js';

const status: PairStatus = {
  v: 1, at: '2026-01-01T00:00:00.000Z', verdict: 'DEGRADED', reasons: ['b: MySQL does not answer'],
  vip: { address: '192.0.2.10', holder: 'local', detail: '' },
  local: {
    name: 'a', host: 'h', port: 3306, source: 'mysql', errors: [], files: {}, keepalived: { running: true, detail: '' }, vipLocal: true,
    mysql: {
      flavor: 'mariadb', version: '10.11', serverId: 1, readOnly: false, writable: true, replication: null,
      semiSync: { sourceEnabled: true, sourceActive: false, clients: 0, noTx: 3 }, gtidPosition: '0-1-5',
      transactions: { open: 1, olderThan60s: 0, oldestS: 2 },
    },
  },
  peer: { name: 'b', host: 'h', port: 3307, source: 'none', errors: ['MySQL: refused'], files: {}, mysql: null },
  errant: { localOnly: null, peerOnly: null, unproven: [], method: 'not compared' },
};

const transition = (outcome: TransitionRecord['outcome'], durationMs: number): TransitionRecord => ({
  v: 1, id: 'a-1', node: 'a', state: 'MASTER', trigger: 'keepalived', origin: 'keepalived', seq: 1, requestedAt: '', startedAt: '',
  endedAt: '2026-01-01T00:00:01.000Z', durationMs, steps: [], outcome, exitCode: outcome === 'done' ? 0 : 1,
});

describe('metrics', () => {
  it('when a degraded pair and its ledgers are rendered then gauges, counters and the histogram carry the facts', async () => {
    const checks = [decisionFor({ status: 'down', reason: 'port-closed', summary: '' }, 'stop-keepalived', 1, { node: 'a', pid: 1, at: '' })];
    const text = await renderExposition(metricFamilies(status, [transition('done', 200), transition('failed', 3000)], checks));
    for (const line of [
      'keepalived_mysql_mysql_up{observer="a",node="a"} 1',
      'keepalived_mysql_mysql_up{observer="a",node="b"} 0',
      'keepalived_mysql_semisync_source_active{observer="a",node="a"} 0',
      'keepalived_mysql_vip_held{observer="a",node="a"} 1',
      'keepalived_mysql_errant_gtid_ranges{observer="a",node="b"} -1',
      'keepalived_mysql_pair_status{observer="a"} 1',
      'keepalived_mysql_transitions_total{node="a",state="MASTER",outcome="failed"} 1',
      'keepalived_mysql_transition_duration_seconds_bucket{le="5",node="a",outcome="failed"} 1',
      'keepalived_mysql_check_decisions_total{node="a",verdict="down",action="stop-keepalived"} 1',
      'keepalived_mysql_last_transition_timestamp_seconds{node="a"} 1767225601',
    ]) assert.ok(text.split('\n').includes(line), `${line} missing from\n${text}`);
    assert.doesNotMatch(text, /writable\{observer="a",node="b"\}/, 'an unknown fact is absent, not 0');
  });
});
