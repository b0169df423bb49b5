import { setTimeout as sleepTimer } from 'node:timers/promises';

/** Time as the decision logic sees it; tests pass a fake. */
export interface Clock {
  now(): number;
  /** Resolves after ms, or rejects with the signal's reason when it fires first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    await sleepTimer(ms, undefined, signal ? { signal } : undefined);
  },
};
