import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AppError, describeError } from '../errors.js';
import { parseMariaGtidList } from '../failover/gtid.js';

/**
 * The semi-sync switch log: `paths.stateDir/semisync-switch.jsonl`, one JSON object per line, appended (and
 * fsynced) by whoever changes this node's semi-sync master mode, BEFORE a switch to async takes effect and
 * AFTER a switch back to semi-sync took effect:
 *   {"at":"2026-12-01T14:00:00.000Z","node":"db1","mode":"async","gtidBinlogPos":"0-1-41","reason":"replica db2 proven not promoting (term 7)"}
 *   {"at":"2026-12-01T14:03:10.000Z","node":"db1","mode":"semi-sync","gtidBinlogPos":"0-1-97","reason":"replica db2 acks again"}
 * gtidBinlogPos is @@gtid_binlog_pos read at that moment (for "async": read before the switch, so every later
 * commit is above it; for "semi-sync": read after, so every async commit is at or below it). The healing verdict
 * treats every transaction committed inside an async span as possibly acknowledged to a client.
 */
export const SWITCH_LOG_FILE = 'semisync-switch.jsonl';

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
      const { at, node, mode, gtidBinlogPos, reason } = o;
      if (typeof at !== 'string' || typeof node !== 'string' || (mode !== 'async' && mode !== 'semi-sync') ||
        typeof gtidBinlogPos !== 'string') {
        throw new Error('expected at, node, mode ("async"|"semi-sync") and gtidBinlogPos');
      }
      parseMariaGtidList(gtidBinlogPos);
      entries.push({ at, node, mode, gtidBinlogPos, reason: typeof reason === 'string' ? reason : '' });
    } catch (err) {
      problems.push(`line ${i + 1}: ${describeError(err)}`);
    }
  });
  return { entries, problems };
}

export function formatSwitchEntry(e: SwitchEntry): string {
  return `${JSON.stringify({ at: e.at, node: e.node, mode: e.mode, gtidBinlogPos: e.gtidBinlogPos, reason: e.reason })}\n`;
}

/** Reads the log from the state dir; absent means "never switched" (the writer appends before any async commit). */
export async function readSwitchLog(stateDir: string): Promise<SwitchLog> {
  try {
    return parseSwitchLog(await readFile(join(stateDir, SWITCH_LOG_FILE), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], problems: [] };
    return { entries: [], problems: [`cannot read ${SWITCH_LOG_FILE}: ${describeError(err)}`] };
  }
}

/** Appends one entry durably (fsync) before the caller acts on it. */
export async function appendSwitchEntry(stateDir: string, e: SwitchEntry): Promise<void> {
  const path = join(stateDir, SWITCH_LOG_FILE);
  try {
    await mkdir(dirname(path), { recursive: true });
    await appendFile(path, formatSwitchEntry(e), { mode: 0o644 });
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new AppError('INTERNAL', `cannot append to ${path}: ${describeError(err)}`, { cause: err });
  }
}
