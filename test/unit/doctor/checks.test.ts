import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../../src/config/schema.js';
import { bootReadOnlyCheck, clockSkewCheck, parseKeepalivedConf, switchoverTrackChecks, watchChecks } from '../../../src/doctor/checks.js';

const template = readFileSync(fileURLToPath(new URL('../../../../templates/keepalived.conf.tmpl', import.meta.url)), 'utf8');

const config = parseConfig({
  node: { name: 'db1' }, mysql: { user: 'k', password: 'k' }, replication: { user: 'r', password: 'r' },
  peer: { name: 'db2', host: '10.0.0.2', ssh: { hostKeySha256: `SHA256:${'A'.repeat(43)}` } },
  paths: { stateDir: '/var/lib/keepalived-mysql' }, check: { gateway: { host: '10.0.0.254' } },
}, { configReadableByOthers: false, readPasswordFile: () => 'x' });

describe('doctor checks', () => {
  it('when the shipped keepalived.conf template is parsed then its script, instance and wiring are found', () => {
    const k = parseKeepalivedConf(template.replace(/\{\{checkTimeoutS\}\}/g, '10').replace(/\{\{virtualRouterId\}\}/g, '51'));
    assert.deepEqual(k.checkScripts, [{ name: 'chk_mysql', script: '{{binDir}}/check-mysql --config {{configPath}}', timeoutS: 10 }]);
    assert.equal(k.instances.length, 1);
    assert.deepEqual({ ...k.instances[0], notify: 'x' }, {
      name: 'VI_1', state: 'BACKUP', nopreempt: true, vrid: 51, notify: 'x', tracks: ['chk_mysql'],
      trackFiles: [{ name: 'km_switchover', weight: 0 }, { name: 'km_takeover', weight: 254 }],
    });
    assert.deepEqual(k.trackFiles, [
      { name: 'km_switchover', weight: 0, file: '{{stateDir}}/switchover.weight' }, { name: 'km_takeover', weight: 254, file: '{{stateDir}}/switchover.takeover' },
    ]);
    assert.ok(k.globalDefs.includes('enable_script_security'));
  });

  it('when my_print_defaults prints read-only several times then the last one counts, and a bare flag means ON', () => {
    assert.equal(bootReadOnlyCheck('--port=3306\n--read-only=ON\n--read_only=0\n', 'f').level, 'FAIL');
    assert.equal(bootReadOnlyCheck('--read_only=0\n--read-only\n', 'f').level, 'PASS');
    assert.equal(bootReadOnlyCheck('--read-only-compressed=1\n', 'f').level, 'FAIL');
  });

  it('when the clocks differ then up to 250 ms passes, up to 1 s warns and beyond fails', () => {
    assert.deepEqual([clockSkewCheck(-250, 'b').level, clockSkewCheck(600, 'b').level, clockSkewCheck(-1500, 'b').level], ['PASS', 'WARN', 'FAIL']);
  });

  describe('the fast profile (track_file on <stateDir>/check.down, written by keepalived-mysql watch)', () => {
    const fast = parseKeepalivedConf(readFileSync(fileURLToPath(new URL('../../../../keepalived/node-a-fast.conf', import.meta.url)), 'utf8'));
    const plain = parseKeepalivedConf(template.replace(/\{\{stateDir\}\}/g, '/var/lib/keepalived-mysql'));
    const now = 1_000_000;
    const levels = (k: typeof fast, beatMs: number | undefined): string[] => watchChecks(k, config, beatMs, now, '0').map((f) => `${f.id} ${f.level}`);

    it('when keepalived tracks check.down then a fresh beat passes and a stale or missing one fails', () => {
      assert.deepEqual(levels(fast, now - 300), ['watch.beat PASS']);
      assert.deepEqual(levels(fast, now - 60_000), ['watch.beat FAIL']);
      assert.match(watchChecks(fast, config, undefined, now, '0')[0]?.message ?? '', /no watcher beats .*never.* the file keeps 0; only check-mysql detects a failure/);
    });

    it('when keepalived does not track check.down then nothing is said, unless a watcher beats for nobody', () => {
      assert.deepEqual(levels(plain, undefined), []);
      assert.deepEqual(levels(plain, now - 300), ['watch.wired WARN']);
    });
  });

  describe('the switchover wiring (track_file on <stateDir>/switchover.weight, weight 0)', () => {
    const rendered = template.replace(/\{\{stateDir\}\}/g, '/var/lib/keepalived-mysql/');
    const idle = { '/var/lib/keepalived-mysql/switchover.weight': '0\n', '/var/lib/keepalived-mysql/switchover.takeover': '0\n' };
    const levels = (text: string, files: Record<string, string> = idle): string[] =>
      switchoverTrackChecks(parseKeepalivedConf(text), 'k.conf', config, (f) => files[f]).map((f) => `${f.id} ${f.level}`);

    it('when the shipped template is rendered for this state dir and both files read 0 then every line passes', () => {
      assert.deepEqual(levels(rendered), ['keepalived.VI_1.switchover PASS', 'files.switchover_weight PASS', 'keepalived.VI_1.takeover PASS', 'files.switchover_takeover PASS']);
    });

    it('when the hold-out track_file reads another path, the instance does not track it, or its weight is not 0 then the instance line fails', () => {
      assert.deepEqual(levels(rendered.replace('/var/lib/keepalived-mysql//switchover.weight', '/tmp/switchover.weight')).slice(0, 2), ['keepalived.VI_1.switchover FAIL', 'keepalived.VI_1.takeover PASS']);
      assert.equal(levels(rendered.replace(/ {4}km_switchover weight 0\n/, ''))[0], 'keepalived.VI_1.switchover FAIL');
      assert.equal(levels(rendered.replace('km_switchover weight 0', 'km_switchover'))[0], 'keepalived.VI_1.switchover PASS', 'the block\'s weight 0 applies');
      assert.equal(levels(rendered.replace('km_switchover weight 0', 'km_switchover weight 2'))[0], 'keepalived.VI_1.switchover FAIL');
    });

    it('when the takeover track_file is missing then the hand-over is only slower (WARN); with weight 0 it would be FAULT (FAIL)', () => {
      const without = rendered.replace(/track_file km_takeover \{[^}]*\}\n/, '').replace(/ {4}km_takeover weight 254\n/, '');
      assert.deepEqual(levels(without).slice(2), ['keepalived.VI_1.takeover WARN']);
      assert.equal(levels(rendered.replace('km_takeover weight 254', 'km_takeover weight 0'))[2], 'keepalived.VI_1.takeover FAIL');
    });

    it('when a file is missing or holds 1 then its files line fails', () => {
      assert.equal(levels(rendered, { ...idle, '/var/lib/keepalived-mysql/switchover.weight': '1\n' })[1], 'files.switchover_weight FAIL');
      assert.equal(levels(rendered, { '/var/lib/keepalived-mysql/switchover.weight': '0' })[3], 'files.switchover_takeover FAIL');
    });
  });
});
