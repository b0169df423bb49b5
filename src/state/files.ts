import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { writeFileAtomic } from '../platform/atomic-write.js';

// The small files a node keeps in paths.stateDir beside position.json, read by itself, its peer (over SFTP) and status.

/** The promotion term: raised by every promotion, so after a partition the newer master is known (term.json). */
export interface TermRecord {
  readonly term: number;
  /** The node that opened writes at this term. */
  readonly node: string;
  readonly since: string;
  readonly transitionId: string;
}

/** Written on a node that a newer master fenced, or that fenced itself (stepdown.json): it stays out of the VRRP race. */
export interface StepDownRecord {
  readonly by: string;
  readonly term: number;
  readonly reason: string;
  readonly at: string;
}

/** One switch of a master to asynchronous commits, appended before the switch (semisync-async.jsonl). */
export interface AsyncSwitchRecord {
  readonly at: string;
  readonly node: string;
  /** Absent: the switch to async. 'semi-sync': the end of an async span (written after the switch back). */
  readonly mode?: 'semi-sync';
  readonly reason: string;
  /** The master's GTID position when it switched: transactions after it may have been acknowledged without the replica. */
  readonly gtidBinlogPos: string;
}

export const TERM_FILE = 'term.json';
export const STEPDOWN_FILE = 'stepdown.json';
export const ASYNC_SWITCH_FILE = 'semisync-async.jsonl';
/** keepalived's track_file (templates/keepalived*.tmpl, weight 0): non-zero holds the node out of the race (FAULT), 0 lets it in. */
export const WEIGHT_FILE = 'switchover.weight';
/** keepalived's track_file (weight 254): 1 lifts the node to the top priority while a switchover hands over to it. */
export const TAKEOVER_FILE = 'switchover.takeover';
/** keepalived's track_file in the fast profile (weight 0): the resident watcher's verdict, 1 down, 0 healthy. */
export const CHECK_DOWN_FILE = 'check.down';
/** The watcher's heartbeat: its pid and interval, and an mtime it moves after every round. */
export const WATCH_BEAT_FILE = 'watch.beat';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseTerm(text: string, where: string): TermRecord {
  const v = parseJson(text, where);
  if (!isObject(v) || !Number.isSafeInteger(v['term']) || (v['term'] as number) < 0 || typeof v['node'] !== 'string') {
    throw new AppError('STATE_CORRUPT', `${where}: expected {"term": <integer>, "node": "<name>", …}`);
  }
  return { term: v['term'] as number, node: v['node'], since: String(v['since'] ?? ''), transitionId: String(v['transitionId'] ?? '') };
}

export function parseStepDown(text: string, where: string): StepDownRecord {
  const v = parseJson(text, where);
  if (!isObject(v) || typeof v['by'] !== 'string' || typeof v['reason'] !== 'string') {
    throw new AppError('STATE_CORRUPT', `${where}: expected {"by": "<node>", "term": <integer>, "reason": "…", "at": "…"}`);
  }
  return { by: v['by'], term: Number.isSafeInteger(v['term']) ? v['term'] as number : 0, reason: v['reason'], at: String(v['at'] ?? '') };
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('STATE_CORRUPT', `${where}: not valid JSON`);
  }
}

function readIfPresent(path: string): string | undefined {
  // Usually there is no file: existsSync says so without building an ENOENT error (check-mysql and the watcher ask every round).
  if (!existsSync(path)) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** This node's term; 0 when it never promoted nor learned a master's term. */
export function readLocalTerm(stateDir: string): TermRecord | undefined {
  const path = join(stateDir, TERM_FILE);
  const text = readIfPresent(path);
  return text === undefined ? undefined : parseTerm(text, path);
}

export const termText = (t: TermRecord): string => `${JSON.stringify(t)}\n`;

export async function writeLocalTerm(stateDir: string, t: TermRecord): Promise<void> {
  await writeFileAtomic(join(stateDir, TERM_FILE), termText(t), 0o644);
}

/** Synchronous: check-mysql reads it on every run and a stat is all a healthy node pays. */
export function readStepDown(stateDir: string): StepDownRecord | undefined {
  const path = join(stateDir, STEPDOWN_FILE);
  const text = readIfPresent(path);
  if (text === undefined) return undefined;
  try {
    return parseStepDown(text, path);
  } catch {
    // A torn or hand-edited marker still means "stay out": never let a corrupt file put a stale master back.
    return { by: '?', term: 0, reason: `unreadable ${path}`, at: '' };
  }
}

export const stepDownText = (r: StepDownRecord): string => `${JSON.stringify(r)}\n`;

export async function writeStepDown(stateDir: string, r: StepDownRecord): Promise<void> {
  await writeFileAtomic(join(stateDir, STEPDOWN_FILE), stepDownText(r), 0o644);
}

export function clearStepDown(stateDir: string): void {
  rmSync(join(stateDir, STEPDOWN_FILE), { force: true });
}

/** Appends and fsyncs before the caller switches the server: the evidence the heal decision rests on. */
export function appendAsyncSwitch(stateDir: string, r: AsyncSwitchRecord): void {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, ASYNC_SWITCH_FILE);
  appendFileSync(path, `${JSON.stringify(r)}\n`, { mode: 0o644 });
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** This node's own state files, as the failover core sees them (a port: tests give it a temp dir or a literal). */
export interface NodeStateFiles {
  term(): TermRecord | undefined;
  writeTerm(t: TermRecord): Promise<void>;
  stepDown(): StepDownRecord | undefined;
  clearStepDown(): void;
  recordAsyncSwitch(r: AsyncSwitchRecord): void;
}

export function nodeStateFiles(stateDir: string): NodeStateFiles {
  return {
    term: () => readLocalTerm(stateDir),
    writeTerm: (t) => writeLocalTerm(stateDir, t),
    stepDown: () => readStepDown(stateDir),
    clearStepDown: () => clearStepDown(stateDir),
    recordAsyncSwitch: (r) => appendAsyncSwitch(stateDir, r),
  };
}
