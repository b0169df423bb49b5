import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { appendRecordSync, readRecords } from '../../../src/platform/journal.js';

const dir = mkdtempSync(join(tmpdir(), 'km-journal-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const isN = (v: unknown): v is { n: number } => typeof v === 'object' && v !== null && typeof (v as { n?: unknown }).n === 'number';

describe('journal', () => {
  it('when records are appended then each is one line, read back oldest first', () => {
    const j = { path: join(dir, 'a', 'j.jsonl'), maxBytes: 1000 };
    appendRecordSync(j, { n: 1 });
    appendRecordSync(j, { n: 2 });
    assert.equal(readFileSync(j.path, 'utf8'), '{"n":1}\n{"n":2}\n');
    assert.deepEqual(readRecords(j, isN), { records: [{ n: 1 }, { n: 2 }], warnings: [] });
  });

  it('when the file would pass maxBytes then it moves to .1 and only that one older generation is kept', () => {
    const j = { path: join(dir, 'r.jsonl'), maxBytes: 20 };
    for (let n = 1; n <= 5; n++) appendRecordSync(j, { n });
    assert.ok(existsSync(`${j.path}.1`));
    assert.ok(!existsSync(`${j.path}.2`));
    assert.deepEqual(readRecords(j, isN).records, [{ n: 3 }, { n: 4 }, { n: 5 }]);
  });

  it('when a line is torn or foreign then it is skipped with a warning naming file and line, and the rest is read', () => {
    const j = { path: join(dir, 'c.jsonl'), maxBytes: 1000 };
    appendRecordSync(j, { n: 1 });
    appendFileSync(j.path, '{"n":2, torn\n{"other":true}\n');
    appendRecordSync(j, { n: 3 });
    const read = readRecords(j, isN);
    assert.deepEqual(read.records, [{ n: 1 }, { n: 3 }]);
    assert.deepEqual(read.warnings, [`${j.path}:2: not JSON, skipped (12 chars)`, `${j.path}:3: not a record of this journal, skipped`]);
  });

  it('when no journal exists yet then nothing is read and nothing is warned', () => {
    assert.deepEqual(readRecords({ path: join(dir, 'none.jsonl'), maxBytes: 10 }, isN), { records: [], warnings: [] });
  });
});
