import { AppError } from '../errors.js';

// An AbortSignal that fires after ms, or when the parent fires, whichever is first.
export function deadline(ms: number, parent?: AbortSignal): AbortSignal {
  const own = AbortSignal.timeout(Math.max(0, ms));
  return parent ? AbortSignal.any([parent, own]) : own;
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
