import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { createFileAtomicExclusive, writeFileAtomic } from '../platform/atomic-write.js';
import type { HandledRequest, RequestStore, TransitionRequest } from './requests.js';

const REQUESTS_DIR = 'notify-requests';
const HANDLED_FILE = 'notify-handled.json';
const NAME = /^(\d{12})\.json$/;

const fileName = (seq: number): string => `${String(seq).padStart(12, '0')}.json`;

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
      return (await readdir(dir)).map((n) => NAME.exec(n)?.[1]).filter((s): s is string => s !== undefined).map(Number).sort((a, b) => a - b);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  };
  const get = (seq: number): Promise<TransitionRequest | undefined> => readJson<TransitionRequest>(join(dir, fileName(seq)));
  return {
    async record(req) {
      const handled = await readJson<HandledRequest>(join(stateDir, HANDLED_FILE));
      for (let attempt = 0; attempt < 100; attempt++) {
        const all = await seqs();
        // Never reuse a number already handled, even if its file was pruned.
        const seq = Math.max(all.at(-1) ?? 0, handled?.seq ?? 0) + 1;
        const full: TransitionRequest = { ...req, seq };
        try {
          await createFileAtomicExclusive(join(dir, fileName(seq)), `${JSON.stringify(full)}\n`);
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
      for (const seq of all.slice(0, Math.max(0, all.length - keep))) await unlink(join(dir, fileName(seq))).catch(() => undefined);
    },
  };
}
