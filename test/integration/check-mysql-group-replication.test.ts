import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Row } from '../../src/mysql/types.js';
import { readCheckLog, writeCheckConfig } from '../helpers/check-mysql-config.js';
import { writePrivate } from '../helpers/mariadb.js';
import { groupAnswers, startRecordedServer, type RecordedAnswers, type RecordedServer } from '../helpers/recorded-mysql-server.js';
import { runBin } from '../helpers/run-bin.js';

// The built bin/check-mysql (its esbuild bundle) over the real MySQL protocol, answered with the transcribed
// MySQL 8.0.36 group answers: no MySQL server exists here (see test/fixtures/mysql-recorded/group-replication-*).
const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/mysql-recorded/group-replication-mysql-8.0.36.json', import.meta.url));
const scenarios = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { scenarios: Record<string, Record<string, Row[]>> }).scenarios;

function answersOf(name: string): RecordedAnswers {
  const s = scenarios[name];
  assert.ok(s, `no scenario ${name}`);
  return groupAnswers(s);
}

describe('check-mysql --role in mode group-replication, over the protocol with recorded answers', () => {
  let server: RecordedServer;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'km-check-gr-'));
    server = await startRecordedServer(answersOf('primary'));
  });
  after(() => {
    server.close();
    rmSync(work, { recursive: true, force: true });
  });

  function groupConfig(): { dir: string; path: string } {
    const dir = mkdtempSync(join(work, 'run-'));
    const path = join(dir, 'config.json');
    writePrivate(path, JSON.stringify({
      mode: 'group-replication',
      node: { name: 'mgr1' },
      mysql: { host: '127.0.0.1', port: server.port, user: 'keepalived', password: 'kpass', connectTimeoutMs: 500, queryTimeoutMs: 500 },
      paths: { logDir: join(dir, 'log'), stateDir: dir },
      check: { deadlineMs: 3000 },
      groupReplication: { instances: { VI_MGR_WRITE: { role: 'write', vip: '192.0.2.100' }, VI_MGR_READ: { role: 'read', vip: '192.0.2.101' } } },
    }));
    return { dir, path };
  }
  const check = (path: string, ...args: string[]): ReturnType<typeof runBin> => runBin('check-mysql', ['--config', path, ...args]);

  it('when this member is the writable PRIMARY then --role write passes silently and --role read fails silently (the steady state)', async () => {
    server.answers = answersOf('primary');
    const { dir, path } = groupConfig();
    assert.deepEqual([(await check(path, '--role', 'write')).code, (await check(path, '--role', 'read')).code, (await check(path, '--role', 'member')).code], [0, 1, 0]);
    assert.equal(existsSync(join(dir, 'log')), false);
  });

  it('when this member is in a minority partition then every role fails and the log says why', async () => {
    server.answers = answersOf('minority-partition');
    const { dir, path } = groupConfig();
    const r = await check(path, '--role', 'write');
    assert.equal(r.code, 1, r.stderr);
    assert.match(readCheckLog(dir), / error verdict: down \(minority\): only 1 of 3 members are ONLINE from here \(10\.0\.0\.12:3306 UNREACHABLE, 10\.0\.0\.13:3306 UNREACHABLE\)/);
  });

  it('when a primary change is under way then the new primary fails --role write until super_read_only is cleared', async () => {
    const { path } = groupConfig();
    server.answers = answersOf('primary-change-new-primary-applying');
    assert.equal((await check(path, '--role', 'write')).code, 1);
    server.answers = answersOf('primary-change-new-primary');
    assert.equal((await check(path, '--role', 'write')).code, 0);
  });

  it('when --explain is given then the group as this member sees it and the verdict are printed', async () => {
    server.answers = answersOf('recovering');
    const { path } = groupConfig();
    const r = await check(path, '--role', 'read', '--explain');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /member \* 10\.0\.0\.13:3306 RECOVERING SECONDARY/);
    assert.match(r.stdout, /verdict: DOWN \(member-not-online\): this member is RECOVERING, not ONLINE\nexit: 1\n$/);
  });

  it('when mysqld refuses the password and this member holds no VIP then it takes none, logged at error level', async () => {
    server.answers = { ...answersOf('primary'), refuseLogin: true };
    const { dir, path } = groupConfig();
    const r = await check(path, '--role', 'write');
    assert.equal(r.code, 1, r.stderr);
    const log = readCheckLog(dir);
    assert.match(log, / error --role write: MySQL alive-but-refusing: .*1045/);
    assert.match(log, / error verdict: down \(refusing-without-vip\)/);
    assert.equal(log.includes('kpass'), false);
  });

  it('when --role is missing in this mode, or given to a semisync-pair node, then it is a usage error in one line', async () => {
    const { path } = groupConfig();
    const missing = await check(path);
    assert.equal(missing.code, 64);
    assert.match(missing.stderr, /needs --role write\|read\|member/);
    const pair = writeCheckConfig(mkdtempSync(join(work, 'pair-')), { port: server.port });
    const extra = await check(pair, '--role', 'write');
    assert.equal(extra.code, 64);
    assert.match(extra.stderr, /--role is for mode group-replication/);
  });
});
