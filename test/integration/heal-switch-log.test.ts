import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { appendSwitchEntry, readSwitchLog, SWITCH_LOG_FILE } from '../../src/heal/switch-log.js';
import { startupRoleText, writeStartupRole } from '../../src/heal/startup-role.js';

describe('state-dir files of healing (real files)', () => {
  it('when entries are appended then the log reads them back in order, and an absent log means "never switched"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'km-heal-'));
    try {
      assert.deepEqual(await readSwitchLog(dir), { entries: [], problems: [] });
      await appendSwitchEntry(dir, { at: '2026-12-01T14:00:00.000Z', node: 'db1', mode: 'async', gtidBinlogPos: '0-1-41', reason: 'replica proven not promoting' });
      await appendSwitchEntry(dir, { at: '2026-12-01T14:03:10.000Z', node: 'db1', mode: 'semi-sync', gtidBinlogPos: '0-1-97', reason: 'acks again' });
      const log = await readSwitchLog(dir);
      assert.deepEqual(log.entries.map((e) => `${e.mode}@${e.gtidBinlogPos}`), ['async@0-1-41', 'semi-sync@0-1-97']);
      assert.equal(readFileSync(join(dir, SWITCH_LOG_FILE), 'utf8').split('\n').length, 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the startup role is written then the option file names init-rpl-role for mariadbd', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'km-heal-'));
    try {
      await writeStartupRole(join(dir, 'role.cnf'), 'replica', 'BACKUP', new Date('2026-12-01T00:00:00Z'));
      assert.match(readFileSync(join(dir, 'role.cnf'), 'utf8'), /^\[mariadbd\]\ninit-rpl-role=SLAVE$/m);
      assert.match(startupRoleText('master', 'MASTER', new Date()), /init-rpl-role=MASTER/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
