import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POSITION_RECORD_FILE } from '../failover/position-record.js';
import { isTransitionRecord, TRANSITIONS_FILE } from '../history/transitions.js';
import type { PeerFiles } from '../ssh/types.js';
import { ASYNC_SWITCH_FILE, STEPDOWN_FILE, TERM_FILE } from '../state/files.js';
import type { StateFilesView } from './model.js';

const LAST_TRANSITIONS = 5;
// Enough of the ledger's end for the last few records; a record is well under 2 KiB.
const LEDGER_TAIL_BYTES = 16 * 1024;

interface StateTexts {
  readonly position?: string;
  readonly term?: string;
  readonly stepdown?: string;
  /** The end of transitions.jsonl; its first line may be cut. */
  readonly ledgerTail?: string;
  readonly ledgerCut: boolean;
  /** The end of semisync-async.jsonl (check-mysql's guard switching this master to async). */
  readonly asyncTail?: string;
}

const ASYNC_TAIL_BYTES = 4096;

// Parses what was read; a corrupt file or line becomes a one-line warning, never an error.
export function parseStateTexts(t: StateTexts, where: string): StateFilesView {
  const warnings: string[] = [];
  const object = (name: string, text: string | undefined): Record<string, unknown> | undefined => {
    if (text === undefined) return undefined;
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // reported below
    }
    warnings.push(`${where}/${name}: not a JSON object, ignored`);
    return undefined;
  };
  const lines = (t.ledgerTail ?? '').split('\n');
  if (t.ledgerCut) lines.shift();
  const transitions: Record<string, unknown>[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    try {
      const v: unknown = JSON.parse(line);
      if (isTransitionRecord(v)) transitions.push(v as unknown as Record<string, unknown>);
      else warnings.push(`${where}/${TRANSITIONS_FILE}: a line that is not a transition record, skipped`);
    } catch {
      warnings.push(`${where}/${TRANSITIONS_FILE}: a corrupt line, skipped`);
    }
  }
  const position = object(POSITION_RECORD_FILE, t.position);
  const term = object(TERM_FILE, t.term);
  const stepdown = object(STEPDOWN_FILE, t.stepdown);
  const lastAsync = object(ASYNC_SWITCH_FILE, t.asyncTail?.trim().split('\n').at(-1));
  return {
    ...(lastAsync !== undefined ? { lastAsyncSwitch: lastAsync } : {}),
    ...(position !== undefined ? { position } : {}),
    ...(term !== undefined ? { term } : {}),
    ...(stepdown !== undefined ? { stepdown } : {}),
    ...(t.ledgerTail !== undefined ? { lastTransitions: transitions.slice(-LAST_TRANSITIONS) } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

export function readLocalStateTexts(stateDir: string): StateTexts {
  const read = (name: string): string | undefined => {
    try {
      return readFileSync(join(stateDir, name), 'utf8');
    } catch {
      return undefined;
    }
  };
  const ledger = read(TRANSITIONS_FILE);
  const cut = ledger !== undefined && ledger.length > LEDGER_TAIL_BYTES;
  const position = read(POSITION_RECORD_FILE);
  const term = read(TERM_FILE);
  const stepdown = read(STEPDOWN_FILE);
  const asyncSwitches = read(ASYNC_SWITCH_FILE);
  return {
    ...(asyncSwitches !== undefined && asyncSwitches.trim() !== '' ? { asyncTail: asyncSwitches.slice(-ASYNC_TAIL_BYTES) } : {}),
    ...(position !== undefined ? { position } : {}),
    ...(term !== undefined ? { term } : {}),
    ...(stepdown !== undefined ? { stepdown } : {}),
    ...(ledger !== undefined ? { ledgerTail: cut ? ledger.slice(-LEDGER_TAIL_BYTES) : ledger } : {}),
    ledgerCut: cut,
  };
}

export async function readPeerStateTexts(files: PeerFiles, stateDir: string, signal: AbortSignal): Promise<StateTexts> {
  const [position, term, stepdown, ledger, asyncTail] = await Promise.all([
    files.readStateFile(stateDir, POSITION_RECORD_FILE, signal),
    files.readStateFile(stateDir, TERM_FILE, signal),
    files.readStateFile(stateDir, STEPDOWN_FILE, signal),
    files.readStateFile(stateDir, TRANSITIONS_FILE, signal, LEDGER_TAIL_BYTES + 1),
    files.readStateFile(stateDir, ASYNC_SWITCH_FILE, signal, ASYNC_TAIL_BYTES),
  ]);
  const cut = ledger !== undefined && ledger.length > LEDGER_TAIL_BYTES;
  return {
    ...(position !== undefined ? { position } : {}),
    ...(term !== undefined ? { term } : {}),
    ...(stepdown !== undefined ? { stepdown } : {}),
    ...(ledger !== undefined ? { ledgerTail: ledger } : {}),
    ...(asyncTail !== undefined && asyncTail.trim() !== '' ? { asyncTail } : {}),
    ledgerCut: cut,
  };
}
