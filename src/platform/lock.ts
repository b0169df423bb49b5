import lockfile from 'proper-lockfile';
import { AppError } from '../errors.js';

/** A held lock; `lost` fires if another process took it over (our mtime updates failed or were overtaken). */
export interface HeldLock {
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

/** Non-blocking lock attempts; the caller owns the waiting policy (bounded, with re-checks between tries). */
export interface TryLock {
  tryAcquire(): Promise<HeldLock | undefined>;
}

export interface FileLockOptions {
  /**
   * A lock whose directory mtime is older than this is stale and may be taken over (its holder died:
   * SIGKILL, power loss). The holder refreshes the mtime every staleMs/2 from a timer, independent of how
   * long a step takes, so this only needs to be well above an event-loop stall.
   */
  readonly staleMs: number;
}

// The only module that loads proper-lockfile: a mkdir lock at `${path}.lock` with stale takeover.
export function fileLock(path: string, opts: FileLockOptions): TryLock {
  return {
    async tryAcquire(): Promise<HeldLock | undefined> {
      const lost = new AbortController();
      let release: () => Promise<void>;
      try {
        release = await lockfile.lock(path, {
          stale: opts.staleMs,
          update: Math.max(1000, Math.floor(opts.staleMs / 4)),
          retries: 0,
          realpath: false,
          lockfilePath: `${path}.lock`,
          // The default throws from a timer (crashing the process); abort the work instead and let it stop cleanly.
          onCompromised: (err) => lost.abort(new AppError('LOCK_BUSY', `transition lock lost: ${err.message}`, { cause: err })),
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
        throw new AppError('LOCK_BUSY', `cannot take lock ${path}.lock: ${(err as Error).message}`, { cause: err });
      }
      return {
        lost: lost.signal,
        release: async () => {
          // Releasing a lock that was already compromised throws ERELEASED/ENOTACQUIRED: nothing left to release.
          await release().catch(() => undefined);
        },
      };
    },
  };
}
