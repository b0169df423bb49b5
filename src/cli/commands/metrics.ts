import { statSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { AppError } from '../../errors.js';
import { checkDecisionJournal, isCheckJournalEntry } from '../../health/decision-journal.js';
import { readTransitions } from '../../history/transitions.js';
import { renderExposition } from '../../metrics/prom.js';
import { metricFamilies } from '../../metrics/snapshot.js';
import { writeFileAtomic } from '../../platform/atomic-write.js';
import { readRecords } from '../../platform/journal.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { HistoryIo } from './history.js';
import { readPairStatus } from './status.js';

export interface MetricsOptions {
  readonly config: string;
  readonly textfile?: string;
}

// node_exporter's textfile collector reads every *.prom file of its directory.
const TEXTFILE_NAME = 'keepalived_mysql.prom';

// `keepalived-mysql metrics`: status as gauges plus the ledgers' counters, in Prometheus text format.
export async function metricsMain(opts: MetricsOptions, io: HistoryIo): Promise<ExitCode> {
  if (opts.textfile !== undefined && !isDirectory(opts.textfile)) throw new AppError('USAGE', `--textfile ${opts.textfile}: not a directory`);
  const config = loadConfig(opts.config);
  const status = await readPairStatus(config);
  const transitions = readTransitions(config.paths.stateDir);
  const checks = readRecords(checkDecisionJournal(config.paths.stateDir), isCheckJournalEntry);
  const warnings = [...transitions.warnings, ...checks.warnings];
  if (warnings.length > 0) io.stderr(`keepalived-mysql metrics: warning: ${warnings.length} unreadable ledger line(s) skipped (${warnings[0]})\n`);
  const text = await renderExposition(metricFamilies(status, transitions.records, checks.records));
  if (opts.textfile === undefined) io.stdout(text);
  else await writeFileAtomic(join(opts.textfile, TEXTFILE_NAME), text, 0o644);
  return EXIT.OK;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
