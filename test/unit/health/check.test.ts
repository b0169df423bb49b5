import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAppError } from '../../../src/errors.js';
import { checkHealth, type HealthDeps, type LivenessQuestion, type MysqldInspector } from '../../../src/health/check.js';
import type { IsolationFinding, RetryPolicy } from '../../../src/health/evaluate.js';
import type { MysqlTarget, SqlClient, SqlConnector } from '../../../src/mysql/types.js';
import type { Clock } from '../../../src/platform/clock.js';

const target: MysqlTarget = { host: '127.0.0.1', port: 3306, user: 'u', password: 'p', connectTimeoutMs: 300, queryTimeoutMs: 300 };
const policy: RetryPolicy = { retries: 3, retryIntervalMs: 100, attemptBudgetMs: 600, reserveMs: 500 };

type Script = 'ok' | 'refused' | 'denied' | 'hang';

// A clock whose sleeps pass at once but move time on, and a connector that plays a script of outcomes.
function fakes(script: Script[], inspector: Partial<MysqldInspector> = {}, ask: LivenessQuestion = 'SELECT 1') {
  let now = 1_000_000;
  const sleeps: number[] = [];
  const clock: Clock = { now: () => now, sleep: async (ms) => { sleeps.push(ms); now += ms; } };
  let calls = 0;
  const asked: string[] = [];
  const client: SqlClient = {
    threadId: 1,
    query: async <T>(sql: string) => { asked.push(sql); return [{ 1: '1' }] as T[]; },
    execute: async (sql: string) => { asked.push(sql); return { affectedRows: 0 }; },
    ping: async () => { asked.push('COM_PING'); },
    close: () => {},
  };
  const connector: SqlConnector = {
    connect: async () => {
      const step = script[calls++] ?? 'refused';
      if (step === 'ok') return client;
      if (step === 'hang') {
        now += 300;
        throw Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' });
      }
      if (step === 'denied') throw Object.assign(new Error("Access denied for user 'u'"), { code: 'ER_ACCESS_DENIED_ERROR', errno: 1045 });
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    },
  };
  let inspected = 0;
  const fullInspector: MysqldInspector = {
    findMysqld: () => { inspected++; return { found: true, pid: 9, detail: 'pid 9 (mariadbd)' }; },
    listening: () => ({ listening: true, detail: 'listening' }),
    ...inspector,
  };
  const deps: HealthDeps = { connector, ask, clock, inspector: fullInspector };
  const run = (deadlineMs = 3000, signal = new AbortController().signal) =>
    checkHealth(target, policy, deps, { signal, startedAt: now, deadlineAt: now + deadlineMs });
  return { deps, run, sleeps, asked, calls: () => calls, inspected: () => inspected };
}

describe('checkHealth: attempts, inspection and retries over fake ports', () => {
  it('when the first attempt answers then nothing is inspected and nothing retried', async () => {
    const f = fakes(['ok']);
    const r = await f.run();
    assert.equal(r.verdict.status, 'healthy');
    assert.equal(f.inspected(), 0);
    assert.equal(f.calls(), 1);
  });

  it('when the deps ask COM_PING (the watcher\'s kept session) then an attempt pings and runs no statement; check-mysql\'s asks SELECT 1', async () => {
    const ping = fakes(['ok'], {}, 'COM_PING');
    assert.equal((await ping.run()).verdict.status, 'healthy');
    assert.deepEqual(ping.asked, ['COM_PING']);
    const select = fakes(['ok']);
    await select.run();
    assert.deepEqual(select.asked, ['SELECT 1']);
  });

  it('when the process is missing then it is down without a single retry', async () => {
    const f = fakes(['refused'], { findMysqld: () => ({ found: false, detail: 'no such process' }) });
    const r = await f.run();
    assert.equal(r.verdict.status === 'down' && r.verdict.reason, 'process-missing');
    assert.deepEqual(f.sleeps, []);
    assert.equal(f.calls(), 1);
  });

  it('when process and port are there and nothing answers then it retries check.retries times, an interval apart, then is down', async () => {
    const f = fakes(['hang', 'hang', 'hang', 'hang']);
    const r = await f.run();
    assert.equal(r.verdict.status === 'down' && r.verdict.reason, 'no-answer-after-retries');
    assert.deepEqual(f.sleeps, [100, 100, 100]);
    assert.equal(r.probes.retries.length, 3);
    assert.equal(r.probes.retriesCutShort, false);
  });

  it('when the second retry answers then it stops retrying and is healthy', async () => {
    const f = fakes(['refused', 'refused', 'ok', 'ok']);
    const r = await f.run();
    assert.equal(r.verdict.status === 'healthy' && r.verdict.how, 'recovered');
    assert.equal(f.calls(), 3);
  });

  it('when the next retry would not end before the deadline minus the reserve then retries stop and the verdict is down in time', async () => {
    const f = fakes(['hang', 'hang', 'hang', 'hang']);
    // 1500 ms: first attempt 300, one retry (100 + 300), then 800 left < 100 + 600 + 500.
    const r = await f.run(1500);
    assert.equal(r.verdict.status, 'down');
    assert.equal(r.probes.retries.length, 1);
    assert.equal(r.probes.retriesCutShort, true);
  });

  it('when the whole-run signal fires during a hung connect that ignores it then DEADLINE_EXCEEDED is thrown', async () => {
    const f = fakes([]);
    const never: SqlConnector = { connect: () => new Promise<SqlClient>(() => {}) };
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(
      checkHealth(target, policy, { ...f.deps, connector: never }, { signal: ac.signal, startedAt: 0, deadlineAt: Date.now() + 20 }),
      (err: unknown) => isAppError(err) && err.code === 'DEADLINE_EXCEEDED',
    );
  });

  it('when MySQL answers and nothing else answers then the verdict is down: isolated', async () => {
    const f = fakes(['ok']);
    const silent = async (): Promise<IsolationFinding> => ({ answered: false, detail: 'did not answer within 300 ms', ms: 300 });
    const r = await checkHealth(target, policy, { ...f.deps, isolation: silent }, { signal: new AbortController().signal, startedAt: 0, deadlineAt: Number.MAX_SAFE_INTEGER });
    assert.equal(r.verdict.status === 'down' && r.verdict.reason, 'isolated');
  });

  it('when the first attempt is refused with access denied then mysqld is alive and nothing is inspected', async () => {
    const f = fakes(['denied']);
    const r = await f.run();
    assert.equal(r.verdict.status === 'healthy' && r.verdict.how, 'alive-but-refusing');
    assert.equal(f.inspected(), 0);
  });
});
