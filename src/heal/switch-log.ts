import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../errors.js';
import { parseMariaGtidList } from '../failover/gtid.js';
import { ASYNC_SWITCH_FILE } from '../state/files.js';

/**
 * Reads the semi-sync switch log, `paths.stateDir/semisync-async.jsonl` (src/state/files.ts): one JSON object per
 * line. check-mysql's guard appends {"at","node","reason","gtidBinlogPos"} BEFORE it switches this master to
 * async (@@gtid_binlog_pos read before the switch: every async commit is above it). A line with
 * "mode":"semi-sync", appended AFTER semi-sync is back on with the position read after it, closes that span
 * (every async commit is at or below it). Without a closing line, everything after the switch stays suspect.
 */
export interface SwitchEntry {
  readonly at: string;
  readonly node: string;
  readonly mode: 'async' | 'semi-sync';
  readonly gtidBinlogPos: string;
  readonly reason: string;
}

export interface SwitchLog {
  readonly entries: readonly SwitchEntry[];
  /** Lines that could not be read as entries: the log then proves nothing. */
  readonly problems: readonly string[];
}

// Parses the log; a bad line is a problem (reported), not a crash. An empty or absent log has no entries.
export function parseSwitchLog(text: string): SwitchLog {
  const entries: SwitchEntry[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      const { at, node, gtidBinlogPos, reason } = o;
      const mode = o['mode'] ?? 'async';
      if (typeof at !== 'string' || typeof node !== 'string' || (mode !== 'async' && mode !== 'semi-sync') ||
        typeof gtidBinlogPos !== 'string') {
        throw new Error('expected at, node, gtidBinlogPos and an optional mode ("async"|"semi-sync")');
      }
      parseMariaGtidList(gtidBinlogPos);
      entries.push({ at, node, mode, gtidBinlogPos, reason: typeof reason === 'string' ? reason : '' });
    } catch (err) {
      problems.push(`line ${i + 1}: ${describeError(err)}`);
    }
  });
  return { entries, problems };
}

/** Reads the log from the state dir; absent means "never switched" (the guard appends before any async commit). */
export async function readSwitchLog(stateDir: string): Promise<SwitchLog> {
  try {
    return parseSwitchLog(await readFile(join(stateDir, ASYNC_SWITCH_FILE), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], problems: [] };
    return { entries: [], problems: [`cannot read ${ASYNC_SWITCH_FILE}: ${describeError(err)}`] };
  }
}
