import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import { describeNotify, localStateDirReader, readNotifyActivity, transitionInProgress } from '../../../src/failover/notify-activity.js';
import { fileRequestStore, NOTIFY_LOCK } from '../../../src/failover/request-store.js';
import { fileLock } from '../../../src/platform/lock.js';

// The state dir as notify leaves it: its real request store and its real lock, in a temp dir.
describe('notify activity read from a state dir', () => {
  const dirs: string[] = [];
  const stateDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'km-activity-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const request = { state: 'MASTER' as const, requestedAt: '2026-12-01T16:26:32.603Z', pid: 1, origin: 'fifo VI_1', transitionId: 't' };

  it('when notify never ran then nothing is in progress and the report says so', async () => {
    const a = await readNotifyActivity(localStateDirReader(stateDir()), Date.now());
    assert.deepEqual(a, {});
    assert.equal(transitionInProgress(a, 'db2'), undefined);
    assert.equal(describeNotify(a, 'db2'), 'no notify transition recorded on db2');
  });

  it('when a request is recorded and not yet handled then a transition is in progress, naming it', async () => {
    const dir = stateDir();
    const store = fileRequestStore(dir);
    await store.record({ ...request, state: 'BACKUP' });
    await store.markHandled({ seq: 1, state: 'BACKUP', transitionId: 't', exitCode: 0, outcome: 'done', finishedAt: '', pid: 1 });
    await store.record(request);
    const a = await readNotifyActivity(localStateDirReader(dir), Date.now());
    assert.deepEqual(a, { latest: { seq: 2, state: 'MASTER', requestedAt: request.requestedAt }, handled: { seq: 1, state: 'BACKUP', outcome: 'done' } });
    assert.equal(transitionInProgress(a, 'db2'), `notify request #2 (MASTER, recorded ${request.requestedAt}) is not handled yet on db2`);
  });

  it('when notify holds its lock then a transition is in progress; once released and handled, the last outcome is reported', async () => {
    const dir = stateDir();
    const store = fileRequestStore(dir);
    await store.record(request);
    const held = await fileLock(join(dir, NOTIFY_LOCK.name), { staleMs: NOTIFY_LOCK.staleMs }).tryAcquire();
    assert.ok(held);
    try {
      const a = await readNotifyActivity(localStateDirReader(dir), Date.now());
      assert.match(transitionInProgress(a, 'db1') ?? '', /^notify holds its lock on db1 \(refreshed \d+ ms ago\)$/);
      await store.markHandled({ seq: 1, state: 'MASTER', transitionId: 't', exitCode: 4, outcome: 'replica did not apply 0-1-9 within 5000 ms', finishedAt: '', pid: 1 });
    } finally {
      await held.release();
    }
    const a = await readNotifyActivity(localStateDirReader(dir), Date.now());
    assert.equal(transitionInProgress(a, 'db1'), undefined);
    assert.equal(describeNotify(a, 'db1'), "db1's last notify transition #1 MASTER: replica did not apply 0-1-9 within 5000 ms");
  });

  it('when the lock is older than its staleness (its holder died) then it is not counted', () => {
    assert.equal(transitionInProgress({ lockAgeMs: NOTIFY_LOCK.staleMs + 1 }, 'db1'), undefined);
  });

  it('when the handled record is not a notify record then reading fails with STATE_CORRUPT', async () => {
    const dir = stateDir();
    writeFileSync(join(dir, 'notify-handled.json'), '{"nope": 1}\n');
    await assert.rejects(readNotifyActivity(localStateDirReader(dir), Date.now()), (e: unknown) => e instanceof AppError && e.code === 'STATE_CORRUPT');
  });
});
