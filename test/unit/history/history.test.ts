import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatHistory, historyMain } from '../../../src/cli/commands/history.js';
import { EXIT } from '../../../src/cli/exit-codes.js';
import { isAppError } from '../../../src/errors.js';
import { decisionFor } from '../../../src/health/decision-journal.js';
import { alertEvents, appendTransition, outcomeOf, triggerOf, TRANSITIONS_FILE, type TransitionRecord } from '../../../src/history/transitions.js';
import { writeCheckConfig } from '../../helpers/check-mysql-config.js';

const dir = mkdtempSync(join(tmpdir(), 'km-history-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const record = (o: Partial<TransitionRecord> = {}): TransitionRecord => ({
  v: 1, id: 'b-1', node: 'b', state: 'MASTER', trigger: 'keepalived', origin: 'fifo VI_1', seq: 1,
  requestedAt: '2026-01-01T00:00:00.000Z', startedAt: '2026-01-01T00:00:00.010Z', endedAt: '2026-01-01T00:00:00.510Z',
  durationMs: 500, steps: [{ step: 'catch-up', durationMs: 300, ok: true }, { step: 'open-writes', durationMs: 20, ok: false }],
  outcome: 'failed', exitCode: 1, error: { code: 'FAILOVER_STEP_FAILED', message: 'boom' }, ...o,
});

function capture(): { out: string[]; err: string[]; io: { stdout: (t: string) => void; stderr: (t: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) } };
}

describe('transition ledger and history', () => {
  it('when exit codes and origins are classified then refused, errant, superseded and operator are named', () => {
    assert.deepEqual([outcomeOf(0, false), outcomeOf(0, true), outcomeOf(4, false), outcomeOf(3, false), outcomeOf(69, false)],
      ['done', 'superseded', 'refused', 'errant', 'failed']);
    assert.deepEqual([triggerOf('manual'), triggerOf('keepalived'), triggerOf('fifo VI_1')], ['operator', 'keepalived', 'keepalived']);
  });

  it('when a transition and a check decision are formatted then both appear in time order with steps and the error', () => {
    const check = decisionFor({ status: 'down', reason: 'port-closed', summary: 'port 3306 closed' }, 'stop-keepalived', 1,
      { node: 'b', pid: 7, at: '2026-01-01T00:00:00.000Z' });
    assert.equal(formatHistory([record()], [check]),
      '2026-01-01T00:00:00.000Z  check  DOWN (port-closed) → stop-keepalived, exit 1: port 3306 closed\n'
      + '2026-01-01T00:00:00.010Z  MASTER FAILED     exit 1  500 ms  keepalived (fifo VI_1)  b-1\n'
      + '    steps: catch-up 300ms, open-writes 20ms FAILED\n'
      + '    error FAILOVER_STEP_FAILED: boom\n');
    assert.equal(formatHistory([]), 'no transitions recorded\n');
  });

  it('when the ledger has a corrupt line then history warns in one line, shows the rest and exits 0', async () => {
    const runDir = mkdtempSync(join(dir, 'run-'));
    const config = writeCheckConfig(runDir, { port: 1 });
    appendTransition(runDir, record({ id: 'b-1' }));
    appendFileSync(join(runDir, TRANSITIONS_FILE), 'garbage\n');
    appendTransition(runDir, record({ id: 'b-2', outcome: 'done', exitCode: 0 }));
    const c = capture();
    assert.equal(await historyMain({ config, limit: '1', json: true }, c.io), EXIT.OK);
    assert.equal(c.err.length, 1);
    assert.match(c.err[0] ?? '', /^keepalived-mysql history: warning: 1 unreadable line skipped \(.*transitions\.jsonl:2: not JSON, skipped \(7 chars\)\)\n$/);
    const parsed = JSON.parse(c.out.join('')) as { transitions: TransitionRecord[]; warnings: string[] };
    assert.deepEqual(parsed.transitions.map((t) => t.id), ['b-2']);
    assert.equal(parsed.warnings.length, 1);
  });

  it('when a transition ends then its alert events are each failed step, then the transition; a superseded one has no step events', () => {
    const events = alertEvents(record());
    assert.deepEqual(events.map((e) => (e.kind === 'step-failed' ? `step ${e.step} ${e.outcome}` : `transition ${e.transition.outcome}`)), ['step open-writes failed', 'transition failed']);
    assert.deepEqual(alertEvents(record({ outcome: 'superseded', exitCode: 0 })).map((e) => e.kind), ['transition']);
  });

  it('when --limit is not a positive integer then it is a USAGE error', async () => {
    await assert.rejects(historyMain({ config: '/nonexistent', limit: '0' }, capture().io), (e: unknown) => isAppError(e) && e.code === 'USAGE');
  });
});
