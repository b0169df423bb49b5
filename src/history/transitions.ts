import { join } from 'node:path';
import { EXIT } from '../cli/exit-codes.js';
import { appendRecordSync, readRecords, type JournalFile, type JournalRead } from '../platform/journal.js';

// The ledger of every transition this node ran: one JSON line each, appended by notify as the transition ends.
export const TRANSITIONS_FILE = 'transitions.jsonl';
const MAX_BYTES = 4 * 1024 * 1024;

export type TransitionOutcome = 'done' | 'superseded' | 'refused' | 'errant' | 'failed';

export interface StepRecord {
  readonly step: string;
  readonly durationMs: number;
  readonly ok: boolean;
}

/** Schema version 1 (docs/history.md): fields are only ever added. */
export interface TransitionRecord {
  readonly v: 1;
  readonly id: string;
  readonly node: string;
  readonly state: string;
  /** keepalived: its notify hook or FIFO; operator: `notify master|backup|…` by hand. */
  readonly trigger: 'keepalived' | 'operator';
  /** The request as recorded: "keepalived", "manual", "fifo VI_1". */
  readonly origin: string;
  readonly seq: number;
  readonly requestedAt: string;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationMs: number;
  readonly steps: readonly StepRecord[];
  readonly outcome: TransitionOutcome;
  readonly exitCode: number;
  readonly error?: { readonly code: string; readonly message: string };
  /** This node's GTID position as its position.json recorded it during this transition (MariaDB gtid_binlog_pos / MySQL gtid_executed). */
  readonly gtidAfter?: string;
  /** The old master's binlog tail applied here before writes opened: bytes, source files and the GTIDs of its transactions. */
  readonly recoveredTail?: { readonly bytes: number; readonly files: readonly string[]; readonly gtids: readonly string[] };
}

/** What `alerts.command` receives on stdin, one event per run (docs/alerts.md). */
export type AlertEvent =
  | { readonly v: 1; readonly kind: 'transition'; readonly node: string; readonly at: string; readonly transition: TransitionRecord }
  | { readonly v: 1; readonly kind: 'step-failed'; readonly node: string; readonly at: string; readonly transitionId: string; readonly state: string;
      readonly step: string; readonly durationMs: number; readonly outcome: TransitionOutcome; readonly error?: { readonly code: string; readonly message: string } };

// Every failed step first, then the transition's outcome.
export function alertEvents(t: TransitionRecord): AlertEvent[] {
  // A step cut short by a newer request did not fail.
  const failed: AlertEvent[] = t.outcome === 'superseded' ? [] : t.steps.filter((s) => !s.ok).map((s) => ({
    v: 1, kind: 'step-failed', node: t.node, at: t.endedAt, transitionId: t.id, state: t.state, step: s.step, durationMs: s.durationMs, outcome: t.outcome,
    ...(t.error !== undefined ? { error: t.error } : {}),
  }));
  return [...failed, { v: 1, kind: 'transition', node: t.node, at: t.endedAt, transition: t }];
}

function transitionLedger(stateDir: string): JournalFile {
  return { path: join(stateDir, TRANSITIONS_FILE), maxBytes: MAX_BYTES };
}

export function triggerOf(origin: string): TransitionRecord['trigger'] {
  return origin === 'manual' ? 'operator' : 'keepalived';
}

export function outcomeOf(exitCode: number, superseded: boolean): TransitionOutcome {
  if (superseded) return 'superseded';
  if (exitCode === EXIT.OK) return 'done';
  if (exitCode === EXIT.REFUSED) return 'refused';
  if (exitCode === EXIT.ERRANT) return 'errant';
  return 'failed';
}

export function appendTransition(stateDir: string, record: TransitionRecord): void {
  appendRecordSync(transitionLedger(stateDir), record);
}

export function readTransitions(stateDir: string): JournalRead<TransitionRecord> {
  return readRecords(transitionLedger(stateDir), isTransitionRecord);
}

export function isTransitionRecord(v: unknown): v is TransitionRecord {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return o['v'] === 1 && typeof o['id'] === 'string' && typeof o['state'] === 'string' && typeof o['startedAt'] === 'string'
    && typeof o['durationMs'] === 'number' && typeof o['outcome'] === 'string' && Array.isArray(o['steps']);
}
