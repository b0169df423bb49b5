import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { renderTemplate, templatePlaceholders } from '../../../src/keepalived/render.js';
import { isAppError } from '../../../src/errors.js';

// dist/test/unit/keepalived → repository root
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

test('renderTemplate fills every placeholder, numbers included, spaces inside braces allowed', () => {
  assert.equal(renderTemplate('a {{x}} b {{ y }} {{x}}', { x: 'X', y: 7 }), 'a X b 7 X');
});

test('renderTemplate: a placeholder without a value is an error naming it', () => {
  assert.throws(() => renderTemplate('{{x}} {{y}}', { x: '1' }), (e: unknown) => isAppError(e) && /\{\{y\}\}/.test(e.message));
});

test('renderTemplate: a value the template does not use (unknown placeholder) is an error naming it', () => {
  assert.throws(() => renderTemplate('{{x}}', { x: '1', prioirty: 2 }), (e: unknown) => isAppError(e) && /prioirty/.test(e.message));
});

test('renderTemplate: malformed braces are an error, not silently copied', () => {
  assert.throws(() => renderTemplate('{{ 1x }}', {}), (e: unknown) => isAppError(e) && /malformed/.test(e.message));
});

test('renderTemplate: values are inserted literally (no $& or nested placeholder expansion)', () => {
  assert.equal(renderTemplate('{{a}}', { a: '$& {{b}}' }), '$& {{b}}');
});

test('templatePlaceholders lists names once, in order', () => {
  assert.deepEqual(templatePlaceholders('{{b}} {{a}} {{b}}'), ['b', 'a']);
});

function sampleValues(stem: string): Record<string, string | number> {
  const raw = JSON.parse(readFileSync(join(ROOT, 'keepalived', `${stem}.values.json`), 'utf8')) as Record<string, string | number>;
  return Object.fromEntries(Object.entries(raw).filter(([k]) => !k.startsWith('//')));
}

for (const node of ['a', 'b']) {
  test(`golden: keepalived/node-${node}.conf is the render of templates/keepalived.conf.tmpl`, () => {
    const template = readFileSync(join(ROOT, 'templates', 'keepalived.conf.tmpl'), 'utf8');
    const sample = readFileSync(join(ROOT, 'keepalived', `node-${node}.conf`), 'utf8');
    assert.equal(renderTemplate(template, sampleValues(`node-${node}`)), sample);
  });
}

for (const node of ['a', 'b']) {
  test(`golden: keepalived/node-${node}-fast.conf is the render of templates/keepalived-fast.conf.tmpl`, () => {
    const template = readFileSync(join(ROOT, 'templates', 'keepalived-fast.conf.tmpl'), 'utf8');
    const sample = readFileSync(join(ROOT, 'keepalived', `node-${node}-fast.conf`), 'utf8');
    assert.equal(renderTemplate(template, sampleValues(`node-${node}-fast`)), sample);
  });
}

test('the fast template is the FIFO wiring with VRRPv3 0.2 s adverts, a real-time VRRP process, the watcher\'s track file and check-mysql still every second', () => {
  const t = readFileSync(join(ROOT, 'templates', 'keepalived-fast.conf.tmpl'), 'utf8');
  for (const needle of ['vrrp_version 3', 'advert_int 0.2\n', 'vrrp_rt_priority', 'file "{{stateDir}}/check.down"', 'km_check weight 0', 'km_switchover weight 0',
    'km_takeover weight 254', 'interval 1\n', 'fall 1', 'rise 2', 'state BACKUP', 'nopreempt', 'vrrp_notify_fifo_script']) {
    assert.ok(t.includes(needle), `lacks ${needle}`);
  }
});

test('the keepalived templates wire both bins, BACKUP + nopreempt, advert_int 1, fall 1 rise 2', () => {
  for (const name of ['keepalived.conf.tmpl', 'keepalived-fifo.conf.tmpl']) {
    const t = readFileSync(join(ROOT, 'templates', name), 'utf8');
    for (const needle of ['state BACKUP', 'nopreempt', 'advert_int 1', 'fall 1', 'rise 2', '/check-mysql --config', '/notify --config', 'km_switchover weight 0', 'switchover.weight']) {
      assert.ok(t.includes(needle), `${name} lacks ${needle}`);
    }
  }
});

for (const node of ['1', '2', '3']) {
  test(`golden: keepalived/mgr-${node}.conf is the render of templates/keepalived-group-replication.conf.tmpl`, () => {
    const template = readFileSync(join(ROOT, 'templates', 'keepalived-group-replication.conf.tmpl'), 'utf8');
    const sample = readFileSync(join(ROOT, 'keepalived', `mgr-${node}.conf`), 'utf8');
    assert.equal(renderTemplate(template, sampleValues(`mgr-${node}`)), sample);
  });
}

test('the Group Replication template tracks one role per instance, moves a VIP only after two verdicts, and leaves gratuitous ARP to keepalived', () => {
  const t = readFileSync(join(ROOT, 'templates', 'keepalived-group-replication.conf.tmpl'), 'utf8');
  for (const needle of ['--role write"', '--role read"', '--role member"', 'fall 2', 'rise 2', 'vrrp_instance VI_MGR_WRITE', 'vrrp_instance VI_MGR_READ',
    'chk_mgr_read weight', 'vrrp_garp_master_repeat', 'vrrp_garp_master_refresh', '/notify --config']) {
    assert.ok(t.includes(needle), `lacks ${needle}`);
  }
  assert.doesNotMatch(t, /fall 1\b/);
});
