import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { minimumDeadlineMs } from '../../../src/config/check-budget.js';
import { evaluate, retryFits, shouldRetry, type Attempt, type Probes } from '../../../src/health/evaluate.js';

const ok: Attempt = { ok: true, at: 0, ms: 3 };
const refused: Attempt = { ok: false, kind: 'unreachable', detail: 'ECONNREFUSED', at: 0, ms: 1 };
const hung: Attempt = { ok: false, kind: 'timeout', detail: 'ETIMEDOUT', at: 0, ms: 300 };
const denied: Attempt = { ok: false, kind: 'alive-but-refusing', detail: 'ER_ACCESS_DENIED_ERROR #1045', at: 0, ms: 2 };
const there = { process: { found: true, pid: 7, detail: 'pid 7' }, port: { listening: true, detail: 'listening' } };
const probes = (p: Partial<Probes> & { first: Attempt }): Probes => ({ retries: [], retriesCutShort: false, ...p });

describe('evaluate: the seed-004 verdict from probe results', () => {
  const cases: { name: string; probes: Probes; status: string; reasonOrHow: string }[] = [
    { name: 'when the first attempt answers then healthy and quiet', probes: probes({ first: ok }), status: 'healthy', reasonOrHow: 'answered' },
    { name: 'when the server refuses the account then alive, healthy but loud', probes: probes({ first: denied }), status: 'healthy', reasonOrHow: 'alive-but-refusing' },
    { name: 'when the process is missing then down at once', probes: probes({ first: refused, process: { found: false, detail: 'gone' }, port: { listening: true, detail: '' } }), status: 'down', reasonOrHow: 'process-missing' },
    { name: 'when the port is closed then down at once', probes: probes({ first: refused, process: there.process, port: { listening: false, detail: 'closed' } }), status: 'down', reasonOrHow: 'port-closed' },
    { name: 'when a retry answers then healthy, recovered', probes: probes({ first: hung, ...there, retries: [hung, ok] }), status: 'healthy', reasonOrHow: 'recovered' },
    { name: 'when a retry gets a server error that proves life then healthy, alive-but-refusing', probes: probes({ first: hung, ...there, retries: [denied] }), status: 'healthy', reasonOrHow: 'alive-but-refusing' },
    { name: 'when every retry fails then down', probes: probes({ first: hung, ...there, retries: [hung, hung, hung] }), status: 'down', reasonOrHow: 'no-answer-after-retries' },
    { name: 'when MySQL answers but the gateway is silent then down (isolated)', probes: probes({ first: ok, isolation: { answered: false, detail: 'no answer', ms: 500 } }), status: 'down', reasonOrHow: 'isolated' },
    { name: 'when MySQL answers and the gateway answers then healthy', probes: probes({ first: ok, isolation: { answered: true, detail: 'refused', ms: 1 } }), status: 'healthy', reasonOrHow: 'answered' },
    { name: 'when MySQL answers but a newer master stepped this node down then down (stepped-down)', probes: probes({ first: ok, steppedDown: 'stepped down by db2' }), status: 'down', reasonOrHow: 'stepped-down' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const v = evaluate(c.probes);
      assert.equal(v.status, c.status);
      assert.equal(v.status === 'down' ? v.reason : v.how, c.reasonOrHow);
    });
  }

  it('when retries were cut short by the deadline then the down summary says so', () => {
    const v = evaluate(probes({ first: hung, ...there, retries: [hung], retriesCutShort: true }));
    assert.match(v.summary, /did not answer 2 attempts \(retries cut short by the deadline\)/);
  });

  it('when process or port is missing then no retry is made', () => {
    assert.equal(shouldRetry({ found: false, detail: '' }, { listening: true, detail: '' }), false);
    assert.equal(shouldRetry({ found: true, detail: '' }, { listening: false, detail: '' }), false);
    assert.equal(shouldRetry({ found: true, detail: '' }, { listening: true, detail: '' }), true);
  });

  it('when a retry and the reserve would pass the deadline then it does not fit', () => {
    const policy = { retries: 5, retryIntervalMs: 1000, attemptBudgetMs: 2000, reserveMs: 500 };
    assert.equal(retryFits(3500, policy), true);
    assert.equal(retryFits(3499, policy), false);
  });

  it('when the defaults are used (5 × 1000 ms, 1000 + 1000 ms timeouts) then the minimum deadline fits the default 8000 ms', () => {
    assert.equal(minimumDeadlineMs({ retries: 5, retryIntervalMs: 1000, attemptBudgetMs: 2000 }), 7500);
  });
});
