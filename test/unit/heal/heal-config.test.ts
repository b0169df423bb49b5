import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/schema.js';
import { isAppError } from '../../../src/errors.js';

const minimal = (heal?: unknown): Record<string, unknown> => ({
  node: { name: 'db1' },
  mysql: { user: 'keepalived', passwordFile: '/etc/km/mysql.password' },
  replication: { user: 'repl', passwordFile: '/etc/km/repl.password' },
  peer: { host: '192.0.2.12', ssh: { knownHostsFile: '/root/.ssh/known_hosts' } },
  witness: { host: '192.0.2.50', ssh: { knownHostsFile: '/root/.ssh/known_hosts' } },
  paths: {},
  ...(heal !== undefined ? { heal } : {}),
});
const hints = { configReadableByOthers: false, readPasswordFile: (p: string) => `secret-of-${p}` };

describe('config: heal section', () => {
  it('when heal is absent then mysqld is stopped and started with systemctl and the peer backup is streamed by mariadb-backup', () => {
    const c = parseConfig(minimal(), hints);
    assert.deepEqual(c.heal.mysqldStop, ['systemctl', 'stop', 'mariadb']);
    assert.deepEqual(c.heal.mysqldStart, ['systemctl', 'start', 'mariadb']);
    assert.equal(c.heal.peerBackupCommand[0], 'mariadb-backup');
    assert.equal(c.heal.datadir, '/var/lib/mysql');
    assert.equal(c.heal.vip, undefined);
  });

  it('when a command is a string instead of an argv array, or a key is unknown, then every problem is named with its key', () => {
    try {
      parseConfig(minimal({ mysqldStop: 'systemctl stop mariadb', vpi: '192.0.2.100' }), hints);
      assert.fail('expected CONFIG_INVALID');
    } catch (err) {
      assert.ok(isAppError(err) && err.code === 'CONFIG_INVALID');
      assert.match(err.message, /heal\.vpi: unknown key/);
      assert.match(err.message, /heal\.mysqldStop: expected a non-empty array of non-empty strings/);
    }
  });
});
