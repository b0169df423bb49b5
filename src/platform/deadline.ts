import { AppError } from '../errors.js';

// An AbortSignal that fires after ms (a TimeoutError, as AbortSignal.timeout), or when the parent fires, whichever is
// first. The timer holds its controller strongly: AbortSignal.timeout's signal is only weakly held inside
// AbortSignal.any on Node 20, and a garbage collection took it before it fired (nodejs/node#57736: an SFTP read's
// 300 ms deadline waited 20 s). AbortSignal.any still links the parent, so a long-lived parent gathers no listeners.
export function deadline(ms: number, parent?: AbortSignal): AbortSignal {
  const own = new AbortController();
  setTimeout(() => own.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), Math.max(0, ms)).unref();
  return parent ? AbortSignal.any([parent, own.signal]) : own.signal;
}

/** A signal for one step of a loop. */
export interface Scope {
  readonly signal: AbortSignal;
  /** The step is over and nothing of it still runs: clears the timer and leaves the parent, without firing. */
  readonly end: () => void;
  /** The step is over and what still runs of it must stop: fires the signal (a plain string reason), then end(). */
  readonly cancel: () => void;
}

const SCOPE_CANCELLED = 'the step was cancelled';

// deadline()'s AbortSignal.timeout keeps its timer after the step: in the watcher's 200 ms rounds every spent signal
// still fired a second later and built a TimeoutError, and AbortSignal.any tied each one to its parent.
/** Fires when parent (if any) fires, after ms (DEADLINE_EXCEEDED "<what> (<ms> ms) passed") when ms is given, or at cancel(). */
export function scope(parent: AbortSignal | undefined, ms?: number, what = 'the deadline'): Scope {
  const c = new AbortController();
  const onParent = (): void => c.abort(parent?.reason);
  const timer = ms === undefined ? undefined : setTimeout(() => c.abort(new AppError('DEADLINE_EXCEEDED', `${what} (${ms} ms) passed`)), Math.max(0, ms));
  if (parent?.aborted === true) c.abort(parent.reason);
  else parent?.addEventListener('abort', onParent, { once: true });
  const end = (): void => {
    clearTimeout(timer);
    parent?.removeEventListener('abort', onParent);
  };
  return {
    signal: c.signal,
    end,
    cancel: () => {
      end();
      c.abort(SCOPE_CANCELLED);
    },
  };
}

// Throws DEADLINE_EXCEEDED if the signal has fired; call between steps.
export function throwIfAborted(signal: AbortSignal, what: string): void {
  if (signal.aborted) {
    throw new AppError('DEADLINE_EXCEEDED', `deadline passed before ${what}`, { cause: signal.reason });
  }
}

// Races a promise against the signal; the loser is left to settle on its own (callers destroy resources on abort).
export function withSignal<T>(promise: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(new AppError('DEADLINE_EXCEEDED', `deadline passed during ${what}`));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AppError('DEADLINE_EXCEEDED', `deadline passed during ${what}`));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
