import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAppError } from '../../../src/errors.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deadline, scope } from '../../../src/platform/deadline.js';

describe('deadline (a signal that fires after ms or with its parent)', () => {
  it('fires after ms even when a garbage collection runs first (AbortSignal.any lost its timeout there on Node 20)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const parent = new AbortController();
    const s = deadline(50, parent.signal);
    assert.equal(getEventListeners(parent.signal, 'abort').length, 0, 'a long-lived parent gathers no listeners');
    let fired = false;
    s.addEventListener('abort', () => {
      fired = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    gc();
    await sleep(250);
    assert.ok(s.aborted && fired);
    assert.equal((s.reason as Error).name, 'TimeoutError');
  });
  it('fires with the parent\'s reason first, and at once for a parent already fired', () => {
    const parent = new AbortController();
    const s = deadline(60_000, parent.signal);
    parent.abort('stopping');
    assert.equal(s.reason, 'stopping');
    assert.equal(deadline(60_000, parent.signal).reason, 'stopping');
  });
});

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
