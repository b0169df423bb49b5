import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAST, writeCheckConfig } from '../helpers/check-mysql-config.js';
import { ACCOUNTS, MariaDbFarm, mariadbSkipReason, waitFor, type MariaDbServer } from '../helpers/mariadb.js';
import { startPair } from '../helpers/notify-env.js';
import { REPO_ROOT, runBin } from '../helpers/run-bin.js';

const skip = mariadbSkipReason();
// Generous: a bound on waiting, never a speed assertion.
const WAIT_MS = 20_000;

interface Watcher {
  readonly child: ChildProcess;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function startWatcher(config: string): Watcher {
  const child = spawn(process.execPath, [`${REPO_ROOT}bin/keepalived-mysql`, 'watch', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stderr })));
  return { child, exit };
}

const trackOf = (dir: string): string => (existsSync(join(dir, 'check.down')) ? readFileSync(join(dir, 'check.down'), 'utf8') : '');
const waitTrack = (dir: string, value: '0' | '1', what: string): Promise<void> => waitFor(async () => trackOf(dir) === `${value}\n`, WAIT_MS, what);
const beatMs = (dir: string): number => statSync(join(dir, 'watch.beat')).mtimeMs;

function decisions(dir: string): { verdict: string; reason?: string; action: string }[] {
  const file = join(dir, 'check-decisions.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { verdict: string; reason?: string; action: string });
}

function lastDecision(dir: string): (string | undefined)[] {
  const d = decisions(dir).at(-1);
  return [d?.verdict, d?.reason, d?.action];
}

function watchLog(dir: string): string {
  const logDir = join(dir, 'log');
  if (!existsSync(logDir)) return '';
  return readdirSync(logDir).filter((f) => /^watch-\d{4}-\d{2}-\d{2}\.log$/.test(f)).map((f) => readFileSync(join(logDir, f), 'utf8')).join('');
}

// Waits until the heartbeat has moved n times: n more rounds have ended.
async function rounds(dir: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const before = beatMs(dir);
    await waitFor(async () => beatMs(dir) > before, WAIT_MS, 'the next round');
  }
}

describe('keepalived-mysql watch against a real MariaDB', { skip }, () => {
  const farm = new MariaDbFarm();
  const started: Watcher[] = [];
  let db: MariaDbServer;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'km-watch-'));
    db = await farm.start({ name: 'watch', serverId: 1 });
  });
  after(async () => {
    for (const w of started) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await farm.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  const watch = (dir: string, opts: { password?: string } = {}): Watcher => {
    const w = startWatcher(writeCheckConfig(dir, { port: db.port, mysqldPidFile: db.pidFile, ...opts }));
    started.push(w);
    return w;
  };

  it('when the password is wrong then mysqld counts as alive: check.down stays 0 round after round, and SIGTERM ends it with exit 0', async () => {
    const dir = mkdtempSync(join(work, 'refused-'));
    const w = watch(dir, { password: 'not-the-Password-42' });
    await waitTrack(dir, '0', 'check.down 0 with a refused account');
    await rounds(dir, 5);
    assert.equal(trackOf(dir), '0\n');
    assert.deepEqual(decisions(dir).map((d) => [d.verdict, d.reason, d.action]), [['healthy', 'alive-but-refusing', 'track-file']]);
    assert.match(watchLog(dir), /check\.down unset → 0: healthy \(alive-but-refusing\)/);
    w.child.kill('SIGTERM');
    const r = await w.exit;
    assert.deepEqual({ code: r.code, stderr: r.stderr }, { code: 0, stderr: '' });
    assert.match(watchLog(dir), /SIGTERM: stopping after this round[\s\S]*stopped/);
  });

  it('when the peer answers then the isolation guard asks it on a kept session: one login, not one a second; SIGTERM ends both sessions with a goodbye', async () => {
    const dir = mkdtempSync(join(work, 'peer-'));
    const status = async (name: string): Promise<number> => Number((await db.sql<{ Value: string }>(`SHOW GLOBAL STATUS LIKE '${name}'`))[0]?.Value);
    // The peer is this same server: its counters see the watcher's local session and its isolation probe alike.
    const w = startWatcher(writeCheckConfig(dir, { port: db.port, mysqldPidFile: db.pidFile, peerPort: db.port }));
    started.push(w);
    await waitTrack(dir, '0', 'check.down 0 while MySQL answers');
    await rounds(dir, 2);
    const aborted = await status('Aborted_clients');
    const connections = await status('Connections');
    // Three isolation probes at least (its answer holds a second): each was a login before the session was kept.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    assert.equal(await status('Connections') - connections, 1, 'no login but this status query\'s own');
    w.child.kill('SIGTERM');
    assert.equal((await w.exit).code, 0);
    await waitFor(async () => (await db.sql(`SELECT 1 FROM information_schema.PROCESSLIST WHERE USER = '${ACCOUNTS.admin.user}'`)).length === 0, WAIT_MS, 'the watcher\'s sessions to end');
    assert.equal(await status('Aborted_clients'), aborted, 'both sessions ended with COM_QUIT');
  });

  it('when mysqld hangs (SIGSTOP) then 1 comes only after the retry window; on SIGCONT 0; when it is killed (SIGKILL) then 1 at once as process missing', async () => {
    const dir = mkdtempSync(join(work, 'faults-'));
    const w = watch(dir);
    await waitTrack(dir, '0', 'check.down 0 while MySQL answers');
    assert.equal(JSON.parse(readFileSync(join(dir, 'watch.beat'), 'utf8')).pid, w.child.pid);
    await rounds(dir, 3);
    assert.deepEqual(decisions(dir).map((d) => d.verdict), ['healthy'], 'healthy rounds on the kept connection journal nothing new');
    const second = startWatcher(join(dir, readdirSync(dir).find((f) => f.startsWith('config-')) ?? ''));
    started.push(second);
    const refused = await second.exit;
    assert.equal(refused.code, 75);
    assert.match(refused.stderr, new RegExp(`another keepalived-mysql watch \\(pid ${w.child.pid}\\) beats in`));

    const stoppedAt = Date.now();
    db.signal('SIGSTOP');
    try {
      await waitTrack(dir, '1', 'check.down 1 after a hang');
      // A lower bound, not a speed check: no verdict before every retry had its interval.
      assert.ok(Date.now() - stoppedAt >= FAST.retries * FAST.retryIntervalMs, `1 after ${Date.now() - stoppedAt} ms`);
      assert.deepEqual(lastDecision(dir), ['down', 'no-answer-after-retries', 'track-file']);
    } finally {
      db.signal('SIGCONT');
    }
    await waitTrack(dir, '0', 'check.down 0 once mysqld runs again');

    await db.kill();
    await waitTrack(dir, '1', 'check.down 1 after SIGKILL');
    assert.deepEqual(lastDecision(dir), ['down', 'process-missing', 'track-file']);
    const log = watchLog(dir);
    assert.match(log, /check\.down 0 → 1: down \(no-answer-after-retries\)/);
    assert.match(log, /check\.down 1 → 0: healthy/);
    assert.match(log, /check\.down 0 → 1: down \(process-missing\)/);

    w.child.kill('SIGTERM');
    assert.equal((await w.exit).code, 0);
    assert.equal(trackOf(dir), '1\n', 'a stopping watcher leaves its last verdict');
  });

  it('when the config is missing then it exits 78 with one line; an unknown flag exits 64', async () => {
    const dir = mkdtempSync(join(work, 'bad-'));
    const w = startWatcher(join(dir, 'missing.json'));
    started.push(w);
    const r = await w.exit;
    assert.equal(r.code, 78);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    const flag = await runBin('keepalived-mysql', ['watch', '--intervall', '100']);
    assert.equal(flag.code, 64);
    assert.match(flag.stderr, /unknown option '--intervall'/);
  });
});

// The recommended my.cnf: semi-sync never falls back by itself; the guard decides (as in semisync-guard.test.ts).
const NEVER_BY_ITSELF = ['--rpl-semi-sync-master-timeout=3600000', '--rpl-semi-sync-master-wait-no-slave=ON'];

describe('the semi-sync guard has one actor: the watcher while it beats, not check-mysql', { skip }, () => {
  let farm: MariaDbFarm;
  let master: MariaDbServer;
  let replica: MariaDbServer;
  let dir: string;
  let watcher: Watcher | undefined;

  before(async () => {
    ({ farm, master, replica } = await startPair(NEVER_BY_ITSELF));
    dir = mkdtempSync(join(tmpdir(), 'km-watch-guard-'));
  });
  after(async () => {
    if (watcher && watcher.child.exitCode === null && watcher.child.signalCode === null) watcher.child.kill('SIGKILL');
    await farm?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const semiSync = async (): Promise<number> => Number((await master.sql<{ v: unknown }>('SELECT @@GLOBAL.rpl_semi_sync_master_enabled AS v'))[0]?.v);

  it('when the replica dies and watch.beat is fresh then check-mysql leaves the commit waiting; the watcher proves the replica down and switches to async', async () => {
    const config = writeCheckConfig(dir, { port: master.port, peerPort: replica.port });
    writeFileSync(join(dir, 'watch.beat'), '{}\n');
    await replica.kill();
    const commit = master.sql("INSERT INTO appdb.t (id, note) VALUES (9101, 'stuck')").then(() => 'committed', (err: Error) => `failed: ${err.message}`);
    const r = await runBin('check-mysql', ['--config', config]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Promise.race([commit, new Promise((res) => setTimeout(() => res('still waiting'), 500))]), 'still waiting');
    assert.equal(await semiSync(), 1, 'check-mysql left the guard to the beating watcher');
    assert.equal(existsSync(join(dir, 'semisync-async.jsonl')), false);

    watcher = startWatcher(config);
    assert.equal(await commit, 'committed');
    assert.equal(await semiSync(), 0);
    await waitFor(async () => /semi-sync guard: switched-to-async: .*refuses its MySQL port/.test(watchLog(dir)), WAIT_MS, 'the guard line in the watch log');
    assert.equal(readFileSync(join(dir, 'semisync-async.jsonl'), 'utf8').trim().split('\n').length, 1);
    watcher.child.kill('SIGTERM');
    assert.equal((await watcher.exit).code, 0);
  });
});
