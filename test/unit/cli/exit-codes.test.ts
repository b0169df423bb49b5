import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXIT, exitCodeForError } from '../../../src/cli/exit-codes.js';
import type { ErrorCode } from '../../../src/errors.js';

const readme = readFileSync(fileURLToPath(new URL('../../../../README.md', import.meta.url)), 'utf8');

// Rows of the README's "Exit codes" table: | code | NAME | ...
function readmeExitTable(): Map<string, number> {
  const section = readme.split('## Exit codes')[1]?.split('\n## ')[0] ?? '';
  const rows = new Map<string, number>();
  for (const m of section.matchAll(/^\| (\d+) \| ([A-Z_]+) \|/gm)) rows.set(m[2] ?? '', Number(m[1]));
  return rows;
}

describe('exit-code table', () => {
  it('when the README documents exit codes then its table equals EXIT, name for name and code for code', () => {
    assert.deepEqual(readmeExitTable(), new Map(Object.entries(EXIT)));
  });

  it('when two names share a code then the table is ambiguous, so every code is distinct', () => {
    const codes = Object.values(EXIT);
    assert.equal(new Set(codes).size, codes.length);
  });

  it('when an error code is mapped then it lands on a documented exit code', () => {
    const documented = new Set<number>(Object.values(EXIT));
    const codes: ErrorCode[] = ['USAGE', 'CONFIG_INVALID', 'CONFIG_MISSING', 'MYSQL_UNREACHABLE', 'DEADLINE_EXCEEDED',
      'LOCK_BUSY', 'SSH_HOST_KEY_REJECTED', 'PEER_UNREACHABLE', 'ERRANT_TRANSACTIONS', 'PROMOTION_REFUSED', 'REJOIN_REFUSED', 'SWITCHOVER_REFUSED', 'SWITCHOVER_ROLLED_BACK', 'INTERNAL'];
    for (const c of codes) assert.ok(documented.has(exitCodeForError(c)), c);
    assert.equal(exitCodeForError('ERRANT_TRANSACTIONS'), EXIT.ERRANT);
    assert.equal(exitCodeForError('CONFIG_INVALID'), EXIT.CONFIG);
    assert.equal(exitCodeForError('REJOIN_REFUSED'), EXIT.REFUSED);
    assert.equal(exitCodeForError('SWITCHOVER_REFUSED'), EXIT.REFUSED);
    assert.equal(exitCodeForError('SWITCHOVER_ROLLED_BACK'), EXIT.REFUSED);
  });
});
