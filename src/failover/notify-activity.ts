import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import type { PeerFiles } from '../ssh/types.js';
import { HANDLED_FILE, NOTIFY_LOCK, REQUESTS_DIR, requestSeqOf } from './request-store.js';

// Whether notify is busy on a node, read from its state dir alone (locally, or the peer's over SFTP) and never by
// taking its lock: the lock's age, the newest recorded request and the last one handled.

/** Read-only access to one node's state dir. */
export interface StateDirReader {
  /** When the entry (file or directory) was last modified, ms since the epoch; undefined when absent. */
  mtimeMs(name: string): Promise<number | undefined>;
  /** The names in a directory of the state dir; undefined when absent. */
  list(name: string): Promise<readonly string[] | undefined>;
  /** A small file's text; undefined when absent. */
  read(name: string): Promise<string | undefined>;
}

/** What a node's state dir says about notify at one moment. */
export interface NotifyActivity {
  /** How long ago notify's lock was last refreshed; undefined: no lock. */
  readonly lockAgeMs?: number;
  /** The newest recorded request. */
  readonly latest?: { readonly seq: number; readonly state: string; readonly requestedAt: string };
  /** The last request a notify finished, and how it ended. */
  readonly handled?: { readonly seq: number; readonly state: string; readonly outcome: string };
}

export async function readNotifyActivity(r: StateDirReader, nowMs: number): Promise<NotifyActivity> {
  const [lockMtime, names, handledText] = await Promise.all([r.mtimeMs(NOTIFY_LOCK.dir), r.list(REQUESTS_DIR), r.read(HANDLED_FILE)]);
  const seqs = (names ?? []).map(requestSeqOf).filter((s): s is number => s !== undefined);
  const last = seqs.length > 0 ? Math.max(...seqs) : undefined;
  const latestText = last === undefined ? undefined : await r.read(`${REQUESTS_DIR}/${names?.find((n) => requestSeqOf(n) === last) ?? ''}`);
  const latest = latestText === undefined ? undefined : record(latestText, REQUESTS_DIR);
  const handled = handledText === undefined ? undefined : record(handledText, HANDLED_FILE);
  return {
    ...(lockMtime !== undefined ? { lockAgeMs: nowMs - lockMtime } : {}),
    ...(latest !== undefined ? { latest: { seq: latest.seq, state: latest.state, requestedAt: latest.text('requestedAt') } } : {}),
    ...(handled !== undefined ? { handled: { seq: handled.seq, state: handled.state, outcome: handled.text('outcome') } } : {}),
  };
}

function record(text: string, where: string): { seq: number; state: string; text: (key: string) => string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  if (typeof o['seq'] !== 'number' || typeof o['state'] !== 'string') throw new AppError('STATE_CORRUPT', `${where}: not a notify request record`);
  return { seq: o['seq'], state: o['state'], text: (key) => (typeof o[key] === 'string' ? o[key] : '') };
}

// Pure: why a transition counts as running on that node (notify's lock fresh, or a request not handled yet); undefined: none.
export function transitionInProgress(a: NotifyActivity, node: string): string | undefined {
  if (a.lockAgeMs !== undefined && a.lockAgeMs < NOTIFY_LOCK.staleMs) {
    return `notify holds its lock on ${node} (refreshed ${Math.max(0, Math.round(a.lockAgeMs))} ms ago)`;
  }
  const l = a.latest;
  if (l !== undefined && l.seq > (a.handled?.seq ?? 0)) return `notify request #${l.seq} (${l.state}, recorded ${l.requestedAt}) is not handled yet on ${node}`;
  return undefined;
}

/** What notify last did on that node, for a report: running now, or the last transition and how it ended. */
export function describeNotify(a: NotifyActivity, node: string): string {
  const busy = transitionInProgress(a, node);
  if (busy !== undefined) return busy;
  if (a.handled === undefined) return `no notify transition recorded on ${node}`;
  return `${node}'s last notify transition #${a.handled.seq} ${a.handled.state}: ${a.handled.outcome}`;
}

export function localStateDirReader(stateDir: string): StateDirReader {
  const absent = (err: unknown): undefined => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  };
  return {
    mtimeMs: (name) => stat(join(stateDir, name)).then((s) => s.mtimeMs, absent),
    list: (name) => readdir(join(stateDir, name)).catch(absent),
    read: (name) => readFile(join(stateDir, name), 'utf8').catch(absent),
  };
}

export function peerStateDirReader(files: PeerFiles, stateDir: string, signal: AbortSignal): StateDirReader {
  return {
    mtimeMs: (name) => files.statStateEntry(stateDir, name, signal),
    list: (name) => files.listStateDir(stateDir, name, signal),
    read: (name) => files.readStateFile(stateDir, name, signal),
  };
}
