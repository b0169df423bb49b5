import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readSwitchLog } from '../../src/heal/switch-log.js';
import { startupRoleText, writeStartupRole } from '../../src/heal/startup-role.js';
import { appendAsyncSwitch, ASYNC_SWITCH_FILE } from '../../src/state/files.js';

describe('state-dir files of healing (real files)', () => {
  it("when check-mysql's guard appends a switch and semi-sync comes back then the heal reads one closed span; an absent log means never switched", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'km-heal-'));
    try {
      assert.deepEqual(await readSwitchLog(dir), { entries: [], problems: [] });
      appendAsyncSwitch(dir, { at: '2026-12-01T14:00:00.000Z', node: 'db1', reason: 'replica proven not promoting', gtidBinlogPos: '0-1-41' });
      appendFileSync(join(dir, ASYNC_SWITCH_FILE), `${JSON.stringify({ at: '2026-12-01T14:03:10.000Z', node: 'db1', mode: 'semi-sync', reason: 'acks again', gtidBinlogPos: '0-1-97' })}\n`);
      const log = await readSwitchLog(dir);
      assert.deepEqual(log.entries.map((e) => `${e.mode}@${e.gtidBinlogPos}`), ['async@0-1-41', 'semi-sync@0-1-97']);
      assert.deepEqual(log.problems, []);
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
