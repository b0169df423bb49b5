import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clock } from '../../../src/platform/clock.js';
import { nextPollDelay, pollUntil } from '../../../src/platform/poll.js';

// A clock whose sleeps pass at once but move time on, recording each sleep.
function fakeClock(): Clock & { sleeps: number[] } {
  let now = 0;
  const sleeps: number[] = [];
  return { sleeps, now: () => now, sleep: async (ms) => { sleeps.push(ms); now += ms; } };
}

describe('pollUntil: the one polling loop', () => {
  it('when the value in hand is already settled then nothing is read and nobody sleeps', async () => {
    const clock = fakeClock();
    let reads = 0;
    const r = await pollUntil({ clock, signal: AbortSignal.timeout(5000), deadlineMs: 1000, initial: 5,
      read: async () => ++reads, settled: (v) => v === 5 });
    assert.deepEqual([r, reads, clock.sleeps], [{ value: 5, settled: true }, 0, []]);
  });

  it('when the value settles on the third read then the sleeps grow from the first delay', async () => {
    const clock = fakeClock();
    let reads = 0;
    const r = await pollUntil({ clock, signal: AbortSignal.timeout(5000), deadlineMs: 10_000, read: async () => ++reads, settled: (v) => v === 3 });
    assert.deepEqual(r, { value: 3, settled: true });
    assert.deepEqual(clock.sleeps, [20, nextPollDelay(20)]);
  });

  it('when maxDelayMs is set then the sleeps never grow past it', async () => {
    const clock = fakeClock();
    let reads = 0;
    await pollUntil({ clock, signal: AbortSignal.timeout(5000), deadlineMs: 10_000, firstDelayMs: 20, maxDelayMs: 20,
      read: async () => ++reads, settled: (v) => v === 6 });
    assert.deepEqual(clock.sleeps, [20, 20, 20, 20, 20]);
  });

  it('when the deadline passes first then the last value comes back unsettled and the last sleep is cut to the deadline', async () => {
    const clock = fakeClock();
    const r = await pollUntil({ clock, signal: AbortSignal.timeout(5000), deadlineMs: 100, firstDelayMs: 40, read: async () => 'no', settled: () => false });
    assert.deepEqual(r, { value: 'no', settled: false });
    assert.deepEqual(clock.sleeps, [40, 60]);
  });

  it('when beforeSleep throws (a newer request waits) then the wait ends with that error', async () => {
    const clock = fakeClock();
    await assert.rejects(pollUntil({ clock, signal: AbortSignal.timeout(5000), deadlineMs: 10_000, initial: 0, read: async () => 0, settled: () => false,
      beforeSleep: () => { throw new Error('superseded'); } }), /superseded/);
    assert.deepEqual(clock.sleeps, []);
  });
});
