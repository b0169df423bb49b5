import { join } from 'node:path';
import type { OnDown } from '../config/schema.js';
import type { StopOutcome } from '../keepalived/pidfile.js';
import { appendRecordSync, type JournalFile } from '../platform/journal.js';
import type { Verdict } from './evaluate.js';

// check-mysql's decisions, one JSON line each, fsynced before the action they announce (docs/history.md).
const CHECK_DECISIONS_FILE = 'check-decisions.jsonl';
const MAX_BYTES = 1024 * 1024;

/** track-file: the resident watcher (fast profile) writes stateDir/check.down, which keepalived tracks. */
export type CheckAction = 'stop-keepalived' | 'exit' | 'none' | 'track-file';

/** Written before acting: what was seen and what is about to be done. */
export interface CheckDecision {
  readonly kind: 'decision';
  readonly at: string;
  readonly node: string;
  readonly pid: number;
  /** "none": the deadline passed before a verdict (keepalived is left alone). */
  readonly verdict: 'down' | 'healthy' | 'none';
  /** down: why; healthy: how (recovered, alive-but-refusing). */
  readonly reason?: string;
  readonly summary: string;
  readonly action: CheckAction;
  readonly exit: number;
}

/** Written after stopping keepalived, when the process is still alive to write it. */
export interface CheckActed {
  readonly kind: 'acted';
  readonly at: string;
  readonly node: string;
  readonly pid: number;
  readonly action: StopOutcome['action'];
  readonly detail: string;
}

export type CheckJournalEntry = CheckDecision | CheckActed;

export function checkDecisionJournal(stateDir: string): JournalFile {
  return { path: join(stateDir, CHECK_DECISIONS_FILE), maxBytes: MAX_BYTES };
}

export function decisionFor(verdict: Verdict | undefined, onDown: OnDown, exit: number, who: { node: string; pid: number; at: string }, noVerdict = ''): CheckDecision {
  const base = { kind: 'decision' as const, ...who, exit };
  if (verdict === undefined) return { ...base, verdict: 'none', summary: noVerdict, action: 'none' };
  if (verdict.status === 'down') return { ...base, verdict: 'down', reason: verdict.reason, summary: verdict.summary, action: onDown };
  return { ...base, verdict: 'healthy', reason: verdict.how, summary: verdict.summary, action: 'none' };
}

export function actedFor(stop: StopOutcome, who: { node: string; pid: number; at: string }): CheckActed {
  return { kind: 'acted', ...who, action: stop.action, detail: stop.detail };
}

/** Appends synchronously; a journal that cannot be written is reported to onError and never blocks the action. */
export function recordCheckEntry(stateDir: string, entry: CheckJournalEntry, onError: (line: string) => void): void {
  try {
    appendRecordSync(checkDecisionJournal(stateDir), entry);
  } catch (err) {
    onError(`check-mysql: cannot record the decision in ${stateDir}/${CHECK_DECISIONS_FILE}: ${(err as Error).message}; acting anyway`);
  }
}

export function isCheckJournalEntry(v: unknown): v is CheckJournalEntry {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (o['kind'] === 'decision' || o['kind'] === 'acted') && typeof o['at'] === 'string' && typeof o['action'] === 'string';
}
