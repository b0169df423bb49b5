import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { createFileAtomicExclusive, writeFileAtomic } from '../platform/atomic-write.js';
import type { HandledRequest, RequestStore, TransitionRequest } from './requests.js';

export const REQUESTS_DIR = 'notify-requests';
export const HANDLED_FILE = 'notify-handled.json';
const NAME = /^(\d{12})\.json$/;

/**
 * notify's transition lock: a directory `<stateDir>/notify.lock` whose mtime its holder refreshes on a timer; older than
 * staleMs it is taken over (its holder died). Far above any event-loop stall.
 */
export const NOTIFY_LOCK = { name: 'notify', dir: 'notify.lock', staleMs: 10_000 } as const;

/** The sequence number a request file is named by; undefined for any other name. */
export const requestSeqOf = (name: string): number | undefined => {
  const m = NAME.exec(name)?.[1];
  return m === undefined ? undefined : Number(m);
};

const requestFileName = (seq: number): string => `${String(seq).padStart(12, '0')}.json`;

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('INTERNAL', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

// Requests as one file each, `notify-requests/<seq>.json`, created by link() so two racing writers never share a number.
export function fileRequestStore(stateDir: string): RequestStore {
  const dir = join(stateDir, REQUESTS_DIR);
  const seqs = async (): Promise<number[]> => {
    try {
      return (await readdir(dir)).map(requestSeqOf).filter((s): s is number => s !== undefined).sort((a, b) => a - b);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  };
  const get = (seq: number): Promise<TransitionRequest | undefined> => readJson<TransitionRequest>(join(dir, requestFileName(seq)));
  return {
    async record(req) {
      const handled = await readJson<HandledRequest>(join(stateDir, HANDLED_FILE));
      for (let attempt = 0; attempt < 100; attempt++) {
        const all = await seqs();
        // Never reuse a number already handled, even if its file was pruned.
        const seq = Math.max(all.at(-1) ?? 0, handled?.seq ?? 0) + 1;
        const full: TransitionRequest = { ...req, seq };
        try {
          await createFileAtomicExclusive(join(dir, requestFileName(seq)), `${JSON.stringify(full)}\n`);
          return full;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
      throw new AppError('LOCK_BUSY', 'could not record the request: 100 concurrent writers took every number');
    },
    async latest() {
      const all = await seqs();
      const last = all.at(-1);
      return last === undefined ? undefined : get(last);
    },
    get,
    handled: () => readJson<HandledRequest>(join(stateDir, HANDLED_FILE)),
    markHandled: (h) => writeFileAtomic(join(stateDir, HANDLED_FILE), `${JSON.stringify(h)}\n`),
    async prune(keep) {
      const all = await seqs();
      for (const seq of all.slice(0, Math.max(0, all.length - keep))) await unlink(join(dir, requestFileName(seq))).catch(() => undefined);
    },
  };
}
