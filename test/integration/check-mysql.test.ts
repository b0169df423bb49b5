import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAST, readCheckLog, writeCheckConfig } from '../helpers/check-mysql-config.js';
import { ACCOUNTS, freePort, MariaDbFarm, mariadbSkipReason, writePrivate, type MariaDbServer } from '../helpers/mariadb.js';
import { runBin } from '../helpers/run-bin.js';
import { startStalledListener } from '../helpers/stalled-listener.js';

const skip = mariadbSkipReason();

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
}

describe('check-mysql against a real MariaDB', { skip }, () => {
  const farm = new MariaDbFarm();
  let db: MariaDbServer;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'km-check-'));
    db = await farm.start({ name: 'check', serverId: 1 });
  });
  after(async () => {
    await farm.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  const freshDir = (): string => mkdtempSync(join(work, 'run-'));

  it('when MySQL answers then it exits 0 and writes nothing: no output and no log file', async () => {
    const dir = freshDir();
    const r = await runBin('check-mysql', ['--config', writeCheckConfig(dir, { port: db.port, mysqldPidFile: db.pidFile })]);
    assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code: 0, stdout: '', stderr: '' });
    assert.equal(existsSync(join(dir, 'log')), false);
  });

  it('when the password is wrong then mysqld counts as alive (exit 0) and the log holds an ERROR line without the password', async () => {
    const dir = freshDir();
    const wrong = 'not-the-Password-42';
    const r = await runBin('check-mysql', ['--config', writeCheckConfig(dir, { port: db.port, password: wrong })]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const log = readCheckLog(dir);
    assert.match(log, / error first attempt: mysqld alive but refusing: .*1045/);
    assert.match(log, / error verdict: healthy, but mysqld is alive but refuses the monitor account/);
    assert.equal(log.includes(wrong), false);
    assert.equal(log.includes(ACCOUNTS.admin.password), false);
  });

  it('when --explain is given then each probe, its timing and the verdict are printed', async () => {
    const dir = freshDir();
    const r = await runBin('check-mysql', ['--explain', '--config', writeCheckConfig(dir, { port: db.port })]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /\+\d+ ms {2}first attempt: connect \+ SELECT 1: ok in \d+ ms/);
    assert.match(r.stdout, /verdict: healthy: MySQL answered\nexit: 0\n$/);
  });

  it('when checks run every second then neither its own server nor the peer it probes counts an aborted connection or logs one', async () => {
    // A connection closed without COM_QUIT, or before its handshake, is an "Aborted connection" warning (log_warnings=2)
    // and, before the handshake, counts against max_connect_errors: a peer whose address resolves blocks this host.
    const peer = await farm.start({ name: 'check-peer', serverId: 2 });
    const counters = async (s: MariaDbServer): Promise<string> => (await s.sql<{ Variable_name: string; Value: string }>(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('Aborted_clients', 'Aborted_connects')"))
      .map((r) => `${r.Variable_name}=${r.Value}`).join(' ');
    const aborted = (s: MariaDbServer): number => s.errorLogTail(10_000).split('\n').filter((l) => l.includes('Aborted connection')).length;
    const before = { local: await counters(db), peer: await counters(peer), localLog: aborted(db), peerLog: aborted(peer) };
    const dir = freshDir();
    const config = writeCheckConfig(dir, { port: db.port, mysqldPidFile: db.pidFile, peerPort: peer.port });
    for (let i = 0; i < 5; i++) {
      const r = await runBin('check-mysql', ['--config', config]);
      assert.deepEqual({ code: r.code, stderr: r.stderr }, { code: 0, stderr: '' });
    }
    const explained = await runBin('check-mysql', ['--explain', '--config', config]);
    assert.match(explained.stdout, /isolation guard: answers in \d+ ms: peer 127\.0\.0\.1:\d+ answered a login/);
    assert.deepEqual({ local: await counters(db), peer: await counters(peer), localLog: aborted(db), peerLog: aborted(peer) }, before);
    await peer.stop();
  });

  it('when the gateway accepts a connection then the node stays healthy', async () => {
    const gw = createServer((s) => s.destroy());
    const port = await listen(gw);
    try {
      const dir = freshDir();
      const r = await runBin('check-mysql', ['--config', writeCheckConfig(dir, { port: db.port, gateway: { host: '127.0.0.1', port, timeoutMs: 300 } })]);
      assert.deepEqual({ code: r.code, stderr: r.stderr }, { code: 0, stderr: '' });
    } finally {
      gw.close();
    }
  });

  it('when the gateway refuses the connection then it still answers, so the node stays healthy', async () => {
    const dir = freshDir();
    const closed = await freePort();
    const r = await runBin('check-mysql', ['--config', writeCheckConfig(dir, { port: db.port, gateway: { host: '127.0.0.1', port: closed, timeoutMs: 300 } })]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('when the gateway never answers (its accept queue is full, SYNs are dropped) then the node reports down as the isolated one', async (t) => {
    const stalled = await startStalledListener();
    if (stalled === undefined) {
      if (process.env['CI'] === 'true') throw new Error('python3 is needed for the stalled listener under CI=true');
      t.skip('python3 not found: cannot hold a full accept queue');
      return;
    }
    try {
      const dir = freshDir();
      const r = await runBin('check-mysql', ['--explain', '--config', writeCheckConfig(dir, { port: db.port, gateway: { host: '127.0.0.1', port: stalled.port, timeoutMs: 300 }, peerPort: stalled.port })]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /isolation guard: SILENT/);
      assert.match(r.stdout, /verdict: DOWN \(isolated\)/);
      assert.match(readCheckLog(dir), /verdict: down \(isolated\)/);

      // While a watcher beats, the isolation probe is its job (its verdict reaches keepalived through check.down).
      writeFileSync(join(dir, 'watch.beat'), '{}\n');
      const beating = await runBin('check-mysql', ['--config', writeCheckConfig(dir, { port: db.port, gateway: { host: '127.0.0.1', port: stalled.port, timeoutMs: 300 }, peerPort: stalled.port })]);
      assert.deepEqual({ code: beating.code, stderr: beating.stderr }, { code: 0, stderr: '' });
    } finally {
      stalled.child.kill('SIGKILL');
    }
  });

  it('when mysqld runs without TCP (--skip-networking) then the closed port means down at once, and its unix socket config is healthy', async () => {
    const local = await farm.start({ name: 'no-tcp', serverId: 2, extraArgs: ['--skip-networking'] });
    const dir = freshDir();
    const tcp = await runBin('check-mysql', ['--explain', '--config', writeCheckConfig(dir, { port: local.port, mysqldPidFile: local.pidFile })]);
    assert.equal(tcp.code, 1, tcp.stdout + tcp.stderr);
    assert.match(tcp.stdout, /process: found: pid file .* → pid \d+ \(mariadbd/);
    assert.match(tcp.stdout, /port: CLOSED: nothing listens on TCP port/);
    assert.doesNotMatch(tcp.stdout, /retry 1/);
    assert.match(readCheckLog(dir), /verdict: down \(port-closed\)/);

    const sock = await runBin('check-mysql', ['--config', writeCheckConfig(freshDir(), { port: local.port, socketPath: local.socket, mysqldPidFile: local.pidFile })]);
    assert.deepEqual({ code: sock.code, stderr: sock.stderr }, { code: 0, stderr: '' });
    await local.stop();
  });

  it('when mysqld is stopped (SIGSTOP: process and port there, no answer) then it retries and reports down within the deadline', async () => {
    const dir = freshDir();
    const config = writeCheckConfig(dir, { port: db.port, mysqldPidFile: db.pidFile });
    db.signal('SIGSTOP');
    try {
      const r = await runBin('check-mysql', ['--config', config]);
      assert.equal(r.code, 1, r.stderr);
      assert.ok(r.durationMs < FAST.deadlineMs, `took ${r.durationMs} ms, deadline ${FAST.deadlineMs}`);
      const log = readCheckLog(dir);
      assert.match(log, /process: pid file .* → pid \d+ \(mariadbd, state T\)/);
      assert.match(log, /retry 3 of 3: timeout/);
      assert.match(log, /verdict: down \(no-answer-after-retries\)/);
    } finally {
      db.signal('SIGCONT');
    }
  });

  it('when mysqld was killed (SIGKILL) then it reports down at once, without retries, saying the process is missing', async () => {
    const dir = freshDir();
    const config = writeCheckConfig(dir, { port: db.port, mysqldPidFile: db.pidFile });
    await db.kill();
    const r = await runBin('check-mysql', ['--config', config]);
    assert.equal(r.code, 1, r.stderr);
    const log = readCheckLog(dir);
    assert.match(log, /process: pid file .* holds \d+, no such process; no process holds a listening TCP port/);
    assert.match(log, /verdict: down \(process-missing\)/);
    assert.doesNotMatch(log, /retry 1/);
    // No retry means no retry interval and no second attempt: well under one connect timeout plus an interval.
    assert.ok(r.durationMs < 2000, `took ${r.durationMs} ms`);
  });

  it('when mysqld is gone but another process holds its port (stale pid file) then it reports down at once as process missing', async () => {
    const squatter = createServer(() => {});
    await listen(squatter, db.port);
    try {
      const dir = freshDir();
      const r = await runBin('check-mysql', ['--explain', '--config', writeCheckConfig(dir, { port: db.port, mysqldPidFile: db.pidFile })]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /process: MISSING: pid file .* no such process; TCP port \d+ is held by pid \d+ \(node/);
      assert.doesNotMatch(r.stdout, /retry 1/);
      assert.match(r.stdout, /verdict: DOWN \(process-missing\)/);
    } finally {
      squatter.close();
    }
  });
});

describe('check-mysql bad input', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'km-check-bad-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const oneLine = (stderr: string): void => {
    assert.equal(stderr.trimEnd().split('\n').length, 1, stderr);
    assert.doesNotMatch(stderr, /\n\s+at /);
  };

  it('when a flag is unknown then it exits 64 with one line on stderr', async () => {
    const r = await runBin('check-mysql', ['--bogus']);
    assert.equal(r.code, 64);
    oneLine(r.stderr);
    assert.match(r.stderr, /^check-mysql: Unknown option '--bogus'/);
  });

  it('when the config file is missing then it exits 78 with one line naming the file', async () => {
    const r = await runBin('check-mysql', ['--config', join(dir, 'absent.json')]);
    assert.equal(r.code, 78);
    oneLine(r.stderr);
    assert.match(r.stderr, /cannot read config .*absent\.json: no such file/);
  });

  it('when the config is not JSON then it exits 78 with one line', async () => {
    const path = join(dir, 'broken.json');
    writePrivate(path, '{ "node": ');
    const r = await runBin('check-mysql', ['--config', path]);
    assert.equal(r.code, 78);
    oneLine(r.stderr);
    assert.match(r.stderr, /not valid JSON/);
  });

  it('when the config holds an inline password and others can read it then it exits 78 and names the key', async () => {
    const path = join(dir, 'open.json');
    writeFileSync(path, JSON.stringify({ node: { name: 'x' }, mysql: { user: 'u', password: 'pw-Secret' }, replication: { user: 'r', passwordFile: join(dir, 'none') },
      peer: { host: 'h', ssh: { knownHostsFile: '/dev/null' } }, paths: {} }), { mode: 0o644 });
    const r = await runBin('check-mysql', ['--config', path]);
    assert.equal(r.code, 78);
    oneLine(r.stderr);
    assert.match(r.stderr, /mysql\.password: the config file is readable by other users/);
    assert.equal(r.stderr.includes('pw-Secret'), false);
  });

  it('when --help is given then it prints the usage and exits 0', async () => {
    const r = await runBin('check-mysql', ['-h']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: check-mysql \[--config PATH\] \[--explain\]/);
  });
});
