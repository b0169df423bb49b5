import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryLogger } from '../../../src/log/stderr-logger.js';
import type { Clock } from '../../../src/platform/clock.js';
import type { HeldLock, TryLock } from '../../../src/platform/lock.js';
import { runLatestWins, type HandledRequest, type RequestStore, type TransitionRequest } from '../../../src/failover/requests.js';
import type { TargetState } from '../../../src/failover/transition.js';

function memoryStore(): RequestStore & { requests: TransitionRequest[]; handledRec?: HandledRequest } {
  const s = {
    requests: [] as TransitionRequest[],
    handledRec: undefined as HandledRequest | undefined,
    async record(req: Omit<TransitionRequest, 'seq'>) {
      const full = { ...req, seq: s.requests.length + 1 };
      s.requests.push(full);
      return full;
    },
    async latest() { return s.requests.at(-1); },
    async get(seq: number) { return s.requests[seq - 1]; },
    async handled() { return s.handledRec; },
    async markHandled(h: HandledRequest) { s.handledRec = h; },
    async prune() {},
  };
  return s;
}

function memoryLock(): TryLock & { held: boolean } {
  const l = {
    held: false,
    async tryAcquire(): Promise<HeldLock | undefined> {
      if (l.held) return undefined;
      l.held = true;
      return { lost: new AbortController().signal, release: async () => { l.held = false; } };
    },
  };
  return l;
}

const fakeClock = (): Clock => {
  let t = 0;
  return { now: () => t, sleep: async (ms) => { t += ms; await new Promise((r) => setImmediate(r)); } };
};

const req = (state: TargetState) => ({ state, origin: 'test', pid: 1, requestedAt: '2026-01-01T00:00:00Z', transitionId: `t-${state}` });

describe('latest requested state wins', () => {
  it('when BACKUP is requested while MASTER runs then the holder applies BACKUP after MASTER and the BACKUP process does nothing', async () => {
    const store = memoryStore();
    const lock = memoryLock();
    const log = createMemoryLogger();
    const applied: TargetState[] = [];
    const deps = { store, lock, clock: fakeClock(), log };
    // The fake clock runs ahead of real time while the BACKUP process polls: never let its wait expire here.
    const opts = { lockWaitMs: Number.MAX_SAFE_INTEGER, maxTransitions: 4 };
    const master = await store.record(req('MASTER'));
    let backupRun: Promise<number> | undefined;
    const first = runLatestWins(master.seq, deps, opts, async (r) => {
      applied.push(r.state);
      if (r.state === 'MASTER') {
        const backup = await store.record(req('BACKUP'));
        backupRun = runLatestWins(backup.seq, deps, opts, async (r2) => { applied.push(r2.state); return { exitCode: 0, outcome: 'done' }; });
        await new Promise((r2) => setTimeout(r2, 5));
      }
      return { exitCode: 0, outcome: 'done' };
    });
    assert.equal(await first, 0);
    assert.equal(await backupRun, 0);
    assert.deepEqual(applied, ['MASTER', 'BACKUP']);
    assert.equal(store.handledRec?.state, 'BACKUP');
    assert.ok(log.entries.some((e) => /request #2 was handled by pid/.test(e.msg)));
  });

  it('when an older request gets the lock after a newer one was recorded then it applies the newer state, never its own', async () => {
    const store = memoryStore();
    const applied: TargetState[] = [];
    const a = await store.record(req('MASTER'));
    await store.record(req('BACKUP'));
    const code = await runLatestWins(a.seq, { store, lock: memoryLock(), clock: fakeClock(), log: createMemoryLogger() },
      { lockWaitMs: 1000, maxTransitions: 4 }, async (r) => { applied.push(r.state); return { exitCode: 0, outcome: 'done' }; });
    assert.equal(code, 0);
    assert.deepEqual(applied, ['BACKUP']);
  });

  it('when the lock stays held past lockWaitMs then LOCK_BUSY, with nothing applied', async () => {
    const store = memoryStore();
    const lock = memoryLock();
    lock.held = true;
    const r = await store.record(req('MASTER'));
    await assert.rejects(runLatestWins(r.seq, { store, lock, clock: fakeClock(), log: createMemoryLogger() },
      { lockWaitMs: 500, maxTransitions: 4 }, async () => assert.fail('must not apply')), /held the transition lock for more than 500 ms/);
  });

  it('when the transition fails then its exit code is recorded and returned', async () => {
    const store = memoryStore();
    const r = await store.record(req('MASTER'));
    const code = await runLatestWins(r.seq, { store, lock: memoryLock(), clock: fakeClock(), log: createMemoryLogger() },
      { lockWaitMs: 500, maxTransitions: 4 }, async () => ({ exitCode: 4, outcome: 'refused' }));
    assert.equal(code, 4);
    assert.deepEqual([store.handledRec?.seq, store.handledRec?.exitCode], [1, 4]);
  });
});
