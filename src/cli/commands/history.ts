import { loadConfig } from '../../config/load.js';
import { AppError } from '../../errors.js';
import { checkDecisionJournal, isCheckJournalEntry, type CheckJournalEntry } from '../../health/decision-journal.js';
import { readTransitions, type TransitionRecord } from '../../history/transitions.js';
import { readRecords } from '../../platform/journal.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

export interface HistoryOptions {
  readonly config: string;
  readonly limit: string;
  readonly json?: boolean;
  readonly checks?: boolean;
}

export interface HistoryIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

// `keepalived-mysql history`: this node's transitions (and with --checks its check-mysql decisions), oldest first.
export async function historyMain(opts: HistoryOptions, io: HistoryIo): Promise<ExitCode> {
  const limit = Number(opts.limit);
  if (!/^\d+$/.test(opts.limit) || limit < 1) throw new AppError('USAGE', `--limit: expected a positive integer, got ${JSON.stringify(opts.limit)}`);
  const config = loadConfig(opts.config);
  const transitions = readTransitions(config.paths.stateDir);
  const checks = opts.checks === true ? readRecords(checkDecisionJournal(config.paths.stateDir), isCheckJournalEntry) : { records: [], warnings: [] };
  const warnings = [...transitions.warnings, ...checks.warnings];
  if (warnings.length > 0) {
    io.stderr(`keepalived-mysql history: warning: ${warnings.length} unreadable line${warnings.length > 1 ? 's' : ''} skipped (${warnings[0]})\n`);
  }
  const shown = transitions.records.slice(-limit);
  const shownChecks = checks.records.slice(-limit);
  if (opts.json === true) {
    io.stdout(`${JSON.stringify({ v: 1, node: config.node.name, transitions: shown, ...(opts.checks === true ? { checks: shownChecks } : {}), warnings })}\n`);
  } else {
    io.stdout(formatHistory(shown, opts.checks === true ? shownChecks : undefined));
  }
  return EXIT.OK;
}

// One line per transition: when, id, target state, trigger, outcome, duration, then every step with its duration.
export function formatHistory(transitions: readonly TransitionRecord[], checks?: readonly CheckJournalEntry[]): string {
  const lines: { at: string; text: string }[] = transitions.map((t) => {
    const steps = t.steps.map((s) => `${s.step} ${s.durationMs}ms${s.ok ? '' : ' FAILED'}`).join(', ');
    const extra = [
      t.error !== undefined && t.outcome !== 'superseded' ? `error ${t.error.code}: ${t.error.message}` : '',
      t.gtidAfter !== undefined ? `gtid ${t.gtidAfter}` : '',
      t.recoveredTail !== undefined ? `recovered ${t.recoveredTail.gtids.join(',') || 'no GTIDs'} (${t.recoveredTail.bytes} bytes of ${t.recoveredTail.files.join(' ')})` : '',
    ].filter((s) => s !== '');
    return {
      at: t.startedAt,
      text: `${t.startedAt}  ${t.state.padEnd(6)} ${t.outcome.toUpperCase().padEnd(10)} exit ${t.exitCode}  ${t.durationMs} ms  ${t.trigger} (${t.origin})  ${t.id}\n`
        + `    steps: ${steps || 'none'}${extra.map((e) => `\n    ${e}`).join('')}`,
    };
  });
  for (const c of checks ?? []) {
    const text = c.kind === 'decision'
      ? `${c.at}  check  ${c.verdict.toUpperCase()}${c.reason !== undefined ? ` (${c.reason})` : ''} → ${c.action}, exit ${c.exit}: ${c.summary}`
      : `${c.at}  check  acted: ${c.action}: ${c.detail}`;
    lines.push({ at: c.at, text });
  }
  if (lines.length === 0) return checks === undefined ? 'no transitions recorded\n' : 'no transitions or check decisions recorded\n';
  return `${lines.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).map((l) => l.text).join('\n')}\n`;
}
