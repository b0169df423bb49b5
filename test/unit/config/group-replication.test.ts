import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, loadNodeConfig, type ConfigFs } from '../../../src/config/load.js';
import { parseNodeConfig } from '../../../src/config/schema.js';
import { isAppError } from '../../../src/errors.js';

const hints = { configReadableByOthers: false, readPasswordFile: (p: string) => `secret-of-${p}` };
const group = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  mode: 'group-replication',
  node: { name: 'mgr1' },
  mysql: { user: 'keepalived', passwordFile: '/etc/km/mysql.password' },
  paths: {},
  groupReplication: { instances: { VI_MGR_WRITE: { role: 'write', vip: '192.0.2.100' }, VI_MGR_READ: { role: 'read', vip: '192.0.2.101' } } },
  ...over,
});

function problemsOf(input: unknown): string {
  try {
    parseNodeConfig(input, hints);
  } catch (err) {
    assert.ok(isAppError(err) && err.code === 'CONFIG_INVALID', String(err));
    assert.doesNotMatch(err.message, /\n/);
    return err.message;
  }
  assert.fail('expected CONFIG_INVALID');
}

describe('config mode group-replication', () => {
  it('when a node has mode group-replication then it needs no peer or replication, and a failed check only exits', () => {
    const c = parseNodeConfig(group(), hints);
    assert.equal(c.mode, 'group-replication');
    assert.ok(c.mode === 'group-replication');
    assert.deepEqual(c.groupReplication.instances, [
      { name: 'VI_MGR_WRITE', role: 'write', vip: '192.0.2.100' },
      { name: 'VI_MGR_READ', role: 'read', vip: '192.0.2.101' },
    ]);
    assert.equal(c.check.onDown, 'exit');
    assert.equal('peer' in c, false);
  });

  it('when mode is absent then the node is a semisync-pair node, as before', () => {
    const c = parseNodeConfig({
      node: { name: 'db1' }, mysql: { user: 'k', passwordFile: '/p' }, replication: { user: 'r', passwordFile: '/r' },
      peer: { host: '192.0.2.12', ssh: { knownHostsFile: '/k' } }, paths: {}, check: { gateway: { host: '192.0.2.1' } },
    }, hints);
    assert.equal(c.mode, 'semisync-pair');
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['an unknown mode', { mode: 'galera' }, /mode: expected one of "semisync-pair", "group-replication", got "galera"/],
    ['a peer section', { peer: { host: 'x' } }, /peer: not used in mode "group-replication"/],
    ['a witness section', { witness: { host: 'w' } }, /witness: not used in mode "group-replication"/],
    ['onDown stop-keepalived', { check: { onDown: 'stop-keepalived' } }, /check\.onDown: must be "exit" in mode "group-replication"/],
    ['no instances', { groupReplication: { instances: {} } }, /groupReplication\.instances: expected an object of vrrp_instance name/],
    ['a VIP with a prefix length', { groupReplication: { instances: { VI_W: { role: 'write', vip: '192.0.2.100/24' } } } }, /groupReplication\.instances\.VI_W\.vip: expected an IPv4 or IPv6 address/],
    ['a wrong role', { groupReplication: { instances: { VI_W: { role: 'primary', vip: '192.0.2.100' } } } }, /VI_W\.role: expected "write" or "read"/],
    ['one VIP twice', { groupReplication: { instances: { A: { role: 'write', vip: '192.0.2.100' }, B: { role: 'read', vip: '192.0.2.100' } } } }, /B\.vip: 192\.0\.2\.100 is already another instance's VIP/],
    ['a deadline too short for one connect and two rounds of queries', { check: { deadlineMs: 2000 } }, /check\.deadlineMs: must be at least mysql\.connectTimeoutMs \+ 2 × mysql\.queryTimeoutMs \+ 500 ms \(3000\), got 2000/],
    ['an instance name with a space', { groupReplication: { instances: { 'VI 1': { role: 'write', vip: '192.0.2.100' } } } }, /an instance name is letters, digits/],
  ];
  for (const [name, patch, want] of bad) {
    it(`when the config has ${name} then it is refused in one line naming the key`, () => {
      assert.match(problemsOf(group(patch)), want);
    });
  }

  it('when a semisync-pair node has a groupReplication section then it is refused', () => {
    assert.match(problemsOf({ node: { name: 'db1' }, mysql: { user: 'k', passwordFile: '/p' }, replication: { user: 'r', passwordFile: '/r' },
      peer: { host: 'h', ssh: { knownHostsFile: '/k' } }, paths: {}, groupReplication: {} }), /groupReplication: only used in mode "group-replication"/);
  });

  it('when a pair-only command loads a group-replication config then it is refused in one line; check-mysql and notify load it', () => {
    const fs: ConfigFs = { readFile: () => JSON.stringify(group({ mysql: { user: 'k', password: 'inline' } })), mode: () => 0o600 };
    assert.throws(() => loadConfig('/c.json', fs), (err: unknown) => isAppError(err) && err.code === 'CONFIG_INVALID' && /semisync-pair nodes only/.test(err.message));
    assert.equal(loadNodeConfig('/c.json', fs).mode, 'group-replication');
  });

  for (const [file, mode] of [['config.example.json', 'semisync-pair'], ['config.group-replication.example.json', 'group-replication']] as const) {
    it(`when templates/${file} is parsed then it is a valid ${mode} config`, () => {
      const text = readFileSync(fileURLToPath(new URL(`../../../../templates/${file}`, import.meta.url)), 'utf8');
      assert.equal(parseNodeConfig(JSON.parse(text), hints).mode, mode);
    });
  }
});
