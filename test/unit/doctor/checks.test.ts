import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bootReadOnlyCheck, clockSkewCheck, parseKeepalivedConf } from '../../../src/doctor/checks.js';

const template = readFileSync(fileURLToPath(new URL('../../../../templates/keepalived.conf.tmpl', import.meta.url)), 'utf8');

describe('doctor checks', () => {
  it('when the shipped keepalived.conf template is parsed then its script, instance and wiring are found', () => {
    const k = parseKeepalivedConf(template.replace(/\{\{checkTimeoutS\}\}/g, '10').replace(/\{\{virtualRouterId\}\}/g, '51'));
    assert.deepEqual(k.checkScripts, [{ name: 'chk_mysql', script: '{{binDir}}/check-mysql --config {{configPath}}', timeoutS: 10 }]);
    assert.equal(k.instances.length, 1);
    assert.deepEqual({ ...k.instances[0], notify: 'x' }, { name: 'VI_1', state: 'BACKUP', nopreempt: true, vrid: 51, notify: 'x', tracks: ['chk_mysql'] });
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
});
