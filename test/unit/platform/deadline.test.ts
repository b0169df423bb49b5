import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAppError } from '../../../src/errors.js';
import { scope } from '../../../src/platform/deadline.js';

describe('scope (a signal for one step of a loop)', () => {
  it('fires after ms with DEADLINE_EXCEEDED naming what passed', async () => {
    const s = scope(new AbortController().signal, 5, 'check.deadlineMs');
    await sleep(30);
    assert.ok(s.signal.aborted);
    assert.ok(isAppError(s.signal.reason) && s.signal.reason.code === 'DEADLINE_EXCEEDED');
    assert.equal((s.signal.reason as Error).message, 'check.deadlineMs (5 ms) passed');
    s.end();
  });
  it('fires with the parent\'s reason when the parent fires first, and at once for a parent already fired', () => {
    const parent = new AbortController();
    const s = scope(parent.signal, 60_000);
    parent.abort('stopping');
    assert.equal(s.signal.reason, 'stopping');
    s.end();
    assert.equal(scope(parent.signal).signal.reason, 'stopping');
  });
  it('at end() leaves its parent and its timer without firing: a spent step fires no deadline later', async () => {
    const parent = new AbortController();
    const s = scope(parent.signal, 5);
    assert.equal(getEventListeners(parent.signal, 'abort').length, 1);
    s.end();
    assert.equal(getEventListeners(parent.signal, 'abort').length, 0);
    await sleep(30);
    assert.equal(s.signal.aborted, false);
    parent.abort('later');
    assert.equal(s.signal.aborted, false, 'no longer follows the parent');
  });
  it('at cancel() fires for whatever of the step still listens, then leaves like end()', async () => {
    const parent = new AbortController();
    const s = scope(parent.signal, 5);
    s.cancel();
    assert.ok(s.signal.aborted);
    assert.ok(!isAppError(s.signal.reason), 'a cancel, not a deadline');
    assert.equal(getEventListeners(parent.signal, 'abort').length, 0);
  });
});
