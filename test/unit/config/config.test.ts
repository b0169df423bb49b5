import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, readSecretFile, type ConfigFs } from '../../../src/config/load.js';
import { parseConfig } from '../../../src/config/schema.js';
import { isAppError } from '../../../src/errors.js';

const minimal = () => ({
  node: { name: 'db1' },
  mysql: { user: 'keepalived', passwordFile: '/etc/km/mysql.password' },
  replication: { user: 'repl', passwordFile: '/etc/km/repl.password' },
  peer: { host: '192.0.2.12', ssh: { knownHostsFile: '/root/.ssh/known_hosts' } },
  witness: { host: '192.0.2.50', ssh: { knownHostsFile: '/root/.ssh/known_hosts' } },
  paths: {},
});
const hints = { configReadableByOthers: false, readPasswordFile: (p: string) => `secret-of-${p}` };

function problemsOf(input: unknown, h = hints): string {
  try {
    parseConfig(input, h);
  } catch (err) {
    assert.ok(isAppError(err) && err.code === 'CONFIG_INVALID', String(err));
    return err.message;
  }
  assert.fail('expected CONFIG_INVALID');
}

// A fake file system: path → [mode, text].
function fakeFs(files: Record<string, [number, string]>): ConfigFs {
  const get = (p: string): [number, string] => {
    const f = files[p];
    if (f === undefined) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
    return f;
  };
  return { readFile: (p) => get(p)[1], mode: (p) => get(p)[0] };
}

describe('parseConfig', () => {
  it('when the keepalived, doctor and alerts sections are absent or set then defaults fill in; a stray key or a relative alert command is refused', () => {
    const conf = '/etc/keepalived/keepalived.conf';
    assert.deepEqual(parseConfig(minimal(), hints).keepalived, { confFile: conf, peerConfFile: conf });
    assert.deepEqual(parseConfig({ ...minimal(), keepalived: { confFile: '/k.conf' } }, hints).keepalived, { confFile: '/k.conf', peerConfFile: '/k.conf' });
    assert.equal(parseConfig(minimal(), hints).alerts, undefined);
    assert.deepEqual(parseConfig({ ...minimal(), alerts: { command: ['/bin/page', 'db'] } }, hints).alerts, { command: ['/bin/page', 'db'], timeoutMs: 5000 });
    assert.deepEqual(parseConfig({ ...minimal(), doctor: { myCnf: '/etc/my.cnf' } }, hints).doctor, { myCnf: '/etc/my.cnf' });
    assert.match(problemsOf({ ...minimal(), keepalived: { vip: '192.0.2.10' } }), /keepalived\.vip: unknown key/);
    assert.match(problemsOf({ ...minimal(), alerts: { command: ['page'] } }), /alerts\.command: expected an argv array starting with an absolute path/);
  });

  it('when only the required keys are given then every default is filled in', () => {
    const c = parseConfig(minimal(), hints);
    assert.deepEqual(c.check, { retries: 2, retryIntervalMs: 500, deadlineMs: 4000, onDown: 'exit', watch: { intervalMs: 200 } });
    assert.deepEqual(c.partition, { withoutWitness: 'fence' });
    assert.equal(c.witness?.ssh.user, 'root');
    assert.equal(c.witness?.forwardTimeoutMs, 500);
    assert.equal(c.mysql.port, 3306);
    assert.equal(c.mysql.password, 'secret-of-/etc/km/mysql.password');
    assert.equal(c.paths.keepalivedPidFile, '/run/keepalived.pid');
    assert.equal(Object.isFrozen(c.check), true);
  });

  const bad: { name: string; patch: (c: ReturnType<typeof minimal>) => unknown; key: RegExp }[] = [
    { name: 'a port out of range', patch: (c) => ({ ...c, mysql: { ...c.mysql, port: 70000 } }), key: /mysql\.port: expected an integer from 1 to 65535, got 70000/ },
    { name: 'an unknown key', patch: (c) => ({ ...c, check: { retrys: 3 } }), key: /check\.retrys: unknown key/ },
    { name: 'a watch interval below 50 ms', patch: (c) => ({ ...c, check: { watch: { intervalMs: 10 } } }), key: /check\.watch\.intervalMs/ },
    { name: 'an unknown watch key', patch: (c) => ({ ...c, check: { watch: { interval: 200 } } }), key: /check\.watch\.interval: unknown key/ },
    { name: 'a wrong onDown', patch: (c) => ({ ...c, check: { onDown: 'pkill' } }), key: /check\.onDown: expected one of "exit", "stop-keepalived"/ },
    { name: 'neither a witness nor a gateway', patch: ({ witness: _w, ...c }) => c, key: /witness: configure a witness \(recommended\) or check\.gateway/ },
    { name: 'a witness without a host key check', patch: (c) => ({ ...c, witness: { host: 'w', ssh: {} } }), key: /witness\.ssh\.knownHostsFile: set knownHostsFile or hostKeySha256/ },
    { name: 'a wrong partition policy', patch: (c) => ({ ...c, partition: { withoutWitness: 'hope' } }), key: /partition\.withoutWitness: expected one of "fence", "async"/ },
    { name: 'no host key check', patch: (c) => ({ ...c, peer: { host: 'h', ssh: {} } }), key: /peer\.ssh\.knownHostsFile: set knownHostsFile or hostKeySha256/ },
    { name: 'password and passwordFile both', patch: (c) => ({ ...c, mysql: { ...c.mysql, password: 'x' } }), key: /mysql\.password: give password or passwordFile, not both/ },
    { name: 'a missing node name', patch: (c) => ({ ...c, node: {} }), key: /node\.name: expected a non-empty string, got nothing/ },
    { name: 'a gateway without host', patch: (c) => ({ ...c, check: { gateway: { port: 22 } } }), key: /check\.gateway\.host: expected a non-empty string/ },
    { name: 'a deadline too short for the retries', patch: (c) => ({ ...c, check: { deadlineMs: 1500 } }), key: /check\.deadlineMs: must be at least .* \(3000\) so every retry fits, got 1500/ },
    { name: 'not an object', patch: () => [], key: /\(root\): expected an object, got an array/ },
  ];
  for (const b of bad) {
    it(`when the config has ${b.name} then it is refused naming the key`, () => {
      assert.match(problemsOf(b.patch(minimal())), b.key);
    });
  }

  it('when there are several problems then all of them are listed at once', () => {
    const msg = problemsOf({ ...minimal(), mysql: { user: 'k', passwordFile: '/p', port: 0 }, check: { retries: -1, onDown: 'x' } });
    assert.match(msg, /mysql\.port/);
    assert.match(msg, /check\.retries/);
    assert.match(msg, /check\.onDown/);
    assert.match(msg, /\(and 2 more: /);
  });

  it('when a long string is rejected then the message does not echo it (it may be a secret)', () => {
    const secret = 'x'.repeat(80);
    const msg = problemsOf({ ...minimal(), check: { onDown: secret } });
    assert.equal(msg.includes(secret), false);
    assert.match(msg, /a string of 80 chars/);
  });
});

describe('loadConfig and the 0600 rules', () => {
  const inline = JSON.stringify({ ...minimal(), mysql: { user: 'k', password: 'inline-Secret' }, replication: { user: 'r', password: 'inline-Secret2' } });

  it('when the password is inline and the config is 0600 then it loads', () => {
    const c = loadConfig('/etc/km/config.json', fakeFs({ '/etc/km/config.json': [0o600, inline] }));
    assert.equal(c.mysql.password, 'inline-Secret');
  });

  it('when the password is inline and the config is 0644 then both password keys are refused', () => {
    assert.throws(() => loadConfig('/c.json', fakeFs({ '/c.json': [0o644, inline] })), (err: unknown) =>
      isAppError(err) && /mysql\.password: the config file is readable by other users/.test(err.message) && /replication\.password/.test(err.message) && !err.message.includes('inline-Secret'));
  });

  it('when passwords come from 0600 files then a 0644 config is fine', () => {
    const fs = fakeFs({ '/c.json': [0o644, JSON.stringify(minimal())], '/etc/km/mysql.password': [0o600, 'm-pw\n'], '/etc/km/repl.password': [0o600, 'r-pw\r\n'] });
    const c = loadConfig('/c.json', fs);
    assert.deepEqual([c.mysql.password, c.replication.password], ['m-pw', 'r-pw']);
  });

  it('when a password file is readable by others then it is refused with its key and mode', () => {
    const fs = fakeFs({ '/c.json': [0o600, JSON.stringify(minimal())], '/etc/km/mysql.password': [0o640, 'm'], '/etc/km/repl.password': [0o600, 'r'] });
    assert.throws(() => loadConfig('/c.json', fs), /mysql\.passwordFile: \/etc\/km\/mysql\.password is readable by other users \(mode 640\)/);
  });

  it('when a password file is empty then it is refused', () => {
    assert.throws(() => readSecretFile('/p', fakeFs({ '/p': [0o600, '\n'] })), /\/p is empty/);
  });

  it('when the config file is missing then CONFIG_MISSING names it', () => {
    assert.throws(() => loadConfig('/nope.json', fakeFs({})), (err: unknown) => isAppError(err) && err.code === 'CONFIG_MISSING' && /\/nope\.json: no such file/.test(err.message));
  });

  it('when the config is not JSON then CONFIG_INVALID says so', () => {
    assert.throws(() => loadConfig('/c.json', fakeFs({ '/c.json': [0o600, '{'] })), (err: unknown) => isAppError(err) && err.code === 'CONFIG_INVALID' && /not valid JSON/.test(err.message));
  });
});
