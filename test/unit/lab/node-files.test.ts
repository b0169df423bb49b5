import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keepalivedFiles, keepalivedSampleFile, knownHostsLine, nodeConfig, witnessAuthorizedKeys } from '../../../lab/node-files.js';
import { parseProfile } from '../../../lab/settings.js';
import { REPO } from '../../../lab/topology.js';
import { renderTemplate } from '../../../src/keepalived/render.js';

// The lab configures each host from the documented files, changing only site values.

type Json = Record<string, unknown>;
const read = (p: string): string => readFileSync(join(REPO, p), 'utf8');
const example = JSON.parse(read('templates/config.example.json')) as Json;
const hasWitness = typeof example['witness'] === 'object';

/** Every leaf as path=value, for comparing two configs key by key. */
function leaves(o: unknown, path = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (typeof o === 'object' && o !== null && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) for (const [p, x] of leaves(v, `${path}${k}.`)) out.set(p, x);
  } else out.set(path.slice(0, -1), o);
  return out;
}

function changed(a: Json, b: Json): string[] {
  const la = leaves(a);
  const lb = leaves(b);
  return [...new Set([...la.keys(), ...lb.keys()])].filter((k) => JSON.stringify(la.get(k)) !== JSON.stringify(lb.get(k))).sort();
}

/** Site values every setting replaces: names, addresses, how the host runs mysqld, where its files are; no alerting. */
const SITE = ['node.name', 'peer.name', 'peer.host', 'heal.vip', 'heal.mysqldStop', 'heal.mysqldStart', 'doctor.myCnf', 'alerts.command', 'alerts.timeoutMs', 'alerts.//'];

describe('node config from templates/config.example.json', () => {
  it('when a no-witness setting is rendered then only names, addresses and the partition choice differ from the example', () => {
    const c = nodeConfig(example, 'a', 'no-witness-fence');
    // The gateway the example documents (as `check.gateway`, or as `//gatewayExample` beside it) becomes the real one.
    const documented = ((example['check'] as Json)['gateway'] ?? (example['check'] as Json)['//gatewayExample']) as Json;
    const site = new Set(['check.gateway.host', 'check.gateway.port', 'check.gateway.timeoutMs', 'partition.withoutWitness', ...SITE]);
    assert.deepEqual(changed(example, c).filter((k) => !k.startsWith('witness.') && !k.startsWith('check.//gatewayExample.') && !site.has(k)), []);
    assert.equal((c['check'] as Json)['retries'], (example['check'] as Json)['retries']);
    assert.deepEqual(c['partition'], { ...(example['partition'] as Json | undefined), withoutWitness: 'fence' });
    assert.deepEqual((c['check'] as Json)['gateway'], { ...documented, host: '10.213.0.50', port: 22 });
    assert.equal(c['witness'], undefined);
    assert.deepEqual([(c['node'] as Json)['name'], (c['peer'] as Json)['name'], (c['peer'] as Json)['host']], ['db1', 'db2', '10.213.0.12']);
  });

  it('when db2 is rendered then its peer is db1', () => {
    const c = nodeConfig(example, 'b', 'no-witness-async');
    assert.deepEqual([(c['node'] as Json)['name'], (c['peer'] as Json)['host'], (c['partition'] as Json)['withoutWitness']], ['db2', '10.213.0.11', 'async']);
  });

  it('when the witness setting is rendered then the witness is the client host and nothing else changes', { skip: hasWitness ? false : 'templates/config.example.json has no witness section yet (issue 7)' }, () => {
    const c = nodeConfig(example, 'a', 'witness');
    const allowed = new Set(['witness.host', 'check.gateway.host', 'check.gateway.port', ...SITE]);
    assert.deepEqual(changed(example, c).filter((k) => !allowed.has(k)), []);
    assert.equal((c['witness'] as Json)['host'], '10.213.0.50');
  });

  it('when the example lacks a section the setting needs then the error names the file and the section', () => {
    const { witness: _w, ...noWitness } = example;
    assert.throws(() => nodeConfig(noWitness, 'a', 'witness'), /templates\/config\.example\.json: no "witness" section/);
  });
});

describe('keepalived.conf from keepalived/node-*.values.json', () => {
  for (const wiring of ['fifo', 'script'] as const) {
    it(`when the ${wiring} wiring is rendered then the template takes every value and only site values differ from the sample`, () => {
      const sample = JSON.parse(read('keepalived/node-a.values.json')) as Json;
      const k = keepalivedFiles(sample, 'a', wiring, '/opt/keepalived-mysql/bin', 'default');
      const text = renderTemplate(read(`templates/${k.template}`), k.values);
      assert.match(text, /virtual_ipaddress \{\n\s+10\.213\.0\.100\/24 dev eth0/);
      assert.match(text, new RegExp(`timeout ${String(sample['checkTimeoutS'])}\\n`));
      const site = new Set(['//', 'binDir', 'vip', 'notifyFifo']);
      const diff = changed(sample, k.values).filter((x) => !site.has(x));
      assert.deepEqual(diff, []);
      if (wiring === 'fifo') assert.match(text, /vrrp_notify_fifo \/run\/keepalived-mysql\/notify\.fifo\n/);
    });
  }
});

describe('--profile fast', () => {
  it('when the fast profile is rendered then it takes the fast template and its documented sample, and only site values differ', () => {
    assert.equal(keepalivedSampleFile('b', 'fast'), 'keepalived/node-b-fast.values.json');
    assert.equal(keepalivedSampleFile('b', 'default'), 'keepalived/node-b.values.json');
    const sample = JSON.parse(read(keepalivedSampleFile('a', 'fast'))) as Json;
    const k = keepalivedFiles(sample, 'a', 'fifo', '/opt/keepalived-mysql/bin', 'fast');
    assert.equal(k.template, 'keepalived-fast.conf.tmpl');
    const text = renderTemplate(read(`templates/${k.template}`), k.values);
    assert.match(text, /vrrp_version 3\n/);
    assert.match(text, /advert_int 0\.2\n/);
    assert.match(text, /file "\/var\/lib\/keepalived-mysql\/check\.down"/);
    assert.match(text, /script "\/opt\/keepalived-mysql\/bin\/check-mysql --config/);
    assert.deepEqual(changed(sample, k.values).filter((x) => !new Set(['//', 'binDir', 'vip']).has(x)), []);
  });

  it('when the fast profile is asked for with the script wiring then it is refused (the fast template is the FIFO wiring)', () => {
    const sample = JSON.parse(read(keepalivedSampleFile('a', 'fast'))) as Json;
    assert.throws(() => keepalivedFiles(sample, 'a', 'script', '/opt/keepalived-mysql/bin', 'fast'), /--profile fast is the notify FIFO wiring/);
  });

  it('when --profile names something else then it is refused naming both profiles', () => {
    assert.equal(parseProfile('fast'), 'fast');
    assert.throws(() => parseProfile('turbo'), /--profile: expected default or fast, got turbo/);
  });
});

describe('the witness host', () => {
  it('authorized_keys lets each DB key forward to the nodes\' MySQL and SSH only, and run nothing', () => {
    const text = witnessAuthorizedKeys(['ssh-ed25519 AAAA root@db1\n', 'ssh-ed25519 BBBB root@db2']);
    assert.equal(text.split('\n')[0],
      'restrict,port-forwarding,command="/bin/false",permitopen="10.213.0.11:3306",permitopen="10.213.0.11:22",permitopen="10.213.0.12:3306",permitopen="10.213.0.12:22" ssh-ed25519 AAAA root@db1');
    assert.equal(text.split('\n').filter(Boolean).length, 2);
  });

  it('a known_hosts line names the address and the host and drops the key comment', () => {
    assert.equal(knownHostsLine('10.213.0.50', 'client', 'ssh-ed25519 CCCC client-host\n'), '10.213.0.50,client ssh-ed25519 CCCC\n');
  });
});
