import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePositionRecord } from '../../../src/ssh/parse-position-record.js';
import { isAppError } from '../../../src/errors.js';

const FULL = {
  node: 'db-a',
  role: 'master',
  recordedAt: '2026-01-05T10:00:00.000Z',
  transitionId: 't-42',
  binlogFile: 'mysql-bin.000003',
  binlogPos: 1843,
  gtidBinlogPos: '0-1-7',
  binlogIndexFile: '/var/lib/mysql/mysql-bin.index',
  replica: { sourceHost: '10.0.0.2', relayMasterLogFile: 'mysql-bin.000002', execMasterLogPos: 400, gtidSlavePos: '0-2-9' },
};

test('when the record has every field then it is returned as written', () => {
  assert.deepEqual(parsePositionRecord(JSON.stringify(FULL), 'b:/s/position.json'), FULL);
});

test('when only the required fields are present then the record is accepted', () => {
  const min = { node: 'db-b', role: 'stopped', recordedAt: '2026-01-05T10:00:00Z', transitionId: '' };
  assert.deepEqual(parsePositionRecord(JSON.stringify(min), 'w'), min);
});

test('when the text is not JSON or not an object then the error names the file', () => {
  for (const text of ['{"node":', '[]', 'null', '"x"']) {
    assert.throws(() => parsePositionRecord(text, 'db-b:/s/position.json'),
      (e: unknown) => isAppError(e) && e.code === 'SSH_FAILED' && e.message.includes('db-b:/s/position.json'), text);
  }
});

test('when fields have wrong types then every problem is listed in one error', () => {
  const bad = { ...FULL, role: 'primary', binlogPos: -1, recordedAt: 'yesterday', replica: { execMasterLogPos: '400' } };
  assert.throws(() => parsePositionRecord(JSON.stringify(bad), 'w'), (e: unknown) => isAppError(e)
    && /role: expected master\|replica\|fenced\|stopped, got "primary"/.test(e.message)
    && /binlogPos: expected a non-negative integer, got -1/.test(e.message)
    && /recordedAt: expected an ISO timestamp/.test(e.message)
    && /replica\.execMasterLogPos: expected a non-negative integer, got "400"/.test(e.message));
  const noNode: Record<string, unknown> = { ...FULL };
  delete noNode['node'];
  assert.throws(() => parsePositionRecord(JSON.stringify(noNode), 'w'), (e: unknown) => isAppError(e) && /node: expected a node name, got nothing/.test(e.message));
});
