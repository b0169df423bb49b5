import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PairStatus } from '../../src/status/model.js';
import { keepalivedSkipReason, type Keepalived } from '../helpers/keepalived.js';
import { mariadbSkipReason, waitFor, writePrivate, type MariaDbFarm, type MariaDbServer } from '../helpers/mariadb.js';
import { runNotify, writeNodeConfig, type NodeDirs } from '../helpers/notify-env.js';
import { startObservedPair, type ObservedPair } from '../helpers/observed-pair.js';
import { promtool, promtoolSkipReason, samplesOf, testRules, type ExpectedAlert } from '../helpers/promtool.js';
import { runBin } from '../helpers/run-bin.js';
import { sshdSkipReason } from '../helpers/sshd.js';

const skip = mariadbSkipReason() ?? sshdSkipReason() ?? keepalivedSkipReason() ?? promtoolSkipReason();

interface Run {
  readonly code: number | null;
  readonly status: PairStatus;
  readonly text: string;
  readonly stderr: string;
}

describe('keepalived-mysql status and metrics on a real MariaDB pair', { skip }, () => {
  let pair: ObservedPair | undefined;
  let farm: MariaDbFarm;
  let a: MariaDbServer;
  let b: MariaDbServer;
  let keepalived: Keepalived;
  let dirs: NodeDirs;
  let kaDir: string;

  // Runs status as node a (the master), --json and text, and returns both.
  async function status(configPath = dirs.configPath): Promise<Run> {
    const json = await runBin('keepalived-mysql', ['status', '--config', configPath, '--json']);
    const text = await runBin('keepalived-mysql', ['status', '--config', configPath]);
    assert.equal(text.code, json.code, text.stdout + text.stderr);
    return { code: json.code, status: JSON.parse(json.stdout) as PairStatus, text: text.stdout, stderr: json.stderr + text.stderr };
  }

  // metrics as node a sees the pair, checked by promtool, then the rules file run on it: exactly `alerts` fire.
  async function alertsFire(alerts: readonly ExpectedAlert[]): Promise<void> {
    const m = await runBin('keepalived-mysql', ['metrics', '--config', dirs.configPath]);
    assert.equal(m.code, 0, m.stderr);
    const check = await promtool(['check', 'metrics'], m.stdout);
    assert.deepEqual([check.code, check.stdout + check.stderr], [0, ''], m.stdout);
    const rules = await testRules(kaDir, samplesOf(m.stdout), alerts);
    assert.equal(rules.code, 0, `${rules.stdout}${rules.stderr}\n${m.stdout}`);
  }

  function withConfig(path: string, edit: (c: Record<string, Record<string, unknown>>) => void): string {
    const c = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, unknown>>;
    edit(c);
    const out = path.replace(/\.json$/, `-${Math.random().toString(36).slice(2)}.json`);
    writePrivate(out, JSON.stringify(c));
    return out;
  }

  before(async () => {
    pair = await startObservedPair('status');
    ({ farm, a, b, keepalived, dir: kaDir } = pair);
    const base = pair.node;
    const configPath = withConfig(base.configPath, (c) => {
      c['paths'] = { ...c['paths'], keepalivedPidFile: keepalived.pidFile };
      c['keepalived'] = { confFile: join(kaDir, 'none.conf') };
      c['heal'] = { ...c['heal'], vip: '127.0.0.1' };
    });
    dirs = { ...base, configPath };
  });
  after(async () => {
    await pair?.stop();
  });

  it('when the pair is healthy then the verdict is OK (exit 0) with both nodes, the VIP here and no errant GTIDs', async () => {
    const r = await status();
    assert.equal(r.code, 0, r.text + r.stderr);
    const s = r.status;
    assert.deepEqual([s.v, s.verdict, s.reasons], [1, 'OK', []]);
    assert.deepEqual([s.vip.address, s.vip.holder], ['127.0.0.1', 'local']);
    assert.equal(s.local.keepalived?.running, true);
    assert.deepEqual([s.local.source, s.local.mysql?.writable, s.local.mysql?.serverId], ['mysql', true, 1]);
    assert.deepEqual([s.peer.source, s.peer.mysql?.writable, s.peer.mysql?.serverId], ['mysql', false, 2]);
    assert.deepEqual([s.peer.mysql?.replication?.ioRunning, s.peer.mysql?.replication?.sqlRunning, s.peer.mysql?.replication?.secondsBehind], ['Yes', 'Yes', 0]);
    assert.deepEqual(s.local.mysql?.semiSync, { sourceEnabled: true, sourceActive: true, clients: 1, waitPoint: 'AFTER_SYNC', timeoutMs: 2000, noTx: 0, yesTx: s.local.mysql?.semiSync.yesTx, replicaEnabled: false, replicaActive: false });
    assert.equal(s.local.mysql?.gtidPosition, s.peer.mysql?.gtidPosition);
    assert.deepEqual([s.errant.localOnly, s.errant.peerOnly], [[], []]);
    assert.match(r.text, /^a \+ b: OK\n/);
    assert.match(r.text, /writes +WRITABLE +read-only\n/);
  });

  it('when status runs on the replica with no VIP configured then it is OK from that side too, with no VIP rules', async () => {
    const fromB = writeNodeConfig(farm.baseDir, 'b', b, 'a', a);
    const r = await status(withConfig(fromB.configPath, (c) => {
      c['paths'] = { ...c['paths'], keepalivedPidFile: keepalived.pidFile };
      c['keepalived'] = { confFile: join(kaDir, 'none.conf') };
    }));
    assert.equal(r.code, 0, r.text);
    assert.deepEqual([r.status.local.name, r.status.local.mysql?.writable, r.status.local.mysql?.replication?.ioRunning], ['b', false, 'Yes']);
    assert.deepEqual([r.status.peer.name, r.status.peer.mysql?.writable], ['a', true]);
    assert.deepEqual(r.status.vip, { address: null, holder: null, detail: 'no VIP configured (heal.vip, or virtual_ipaddress in keepalived.confFile)' });
    assert.equal(r.status.local.vipLocal, undefined);
  });

  it('when metrics run on the healthy pair then promtool finds them clean, the textfile is written atomically and no alert fires', async () => {
    await alertsFire([]);
    const dir = mkdtempSync(join(kaDir, 'textfile-'));
    const r = await runBin('keepalived-mysql', ['metrics', '--config', dirs.configPath, '--textfile', dir]);
    assert.deepEqual([r.code, r.stdout], [0, ''], r.stderr);
    assert.deepEqual(readdirSync(dir), ['keepalived_mysql.prom']);
    const text = readFileSync(join(dir, 'keepalived_mysql.prom'), 'utf8');
    assert.match(text, /^keepalived_mysql_writable\{observer="a",node="a"\} 1$/m);
    assert.match(text, /^keepalived_mysql_replication_io_running\{observer="a",node="b"\} 1$/m);
    assert.match(text, /^keepalived_mysql_pair_status\{observer="a"\} 0$/m);
    const bad = await runBin('keepalived-mysql', ['metrics', '--config', dirs.configPath, '--textfile', join(dir, 'missing')]);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /^keepalived-mysql: --textfile .*missing: not a directory\n$/);
  });

  it('when the replica is stopped and the master fell back to async then the seed\'s IO, SQL and semi-sync alerts fire', async () => {
    await b.sql('STOP SLAVE');
    try {
      await a.sql("INSERT INTO appdb.t VALUES (50, 'waits the semi-sync timeout, then async')");
      await alertsFire([
        { alert: 'MysqlReplicationIoThreadDown', labels: { node: 'b' } },
        { alert: 'MysqlReplicationSqlThreadDown', labels: { node: 'b' } },
        { alert: 'MysqlSemiSyncInactive', labels: { node: 'a' } },
        { alert: 'MysqlSemiSyncInactive', labels: { node: 'b' } },
      ]);
    } finally {
      await b.sql('START SLAVE');
      await waitFor(async () => (await a.sql("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_status'"))[0]?.['Value'] === 'ON', 15_000, 'semi-sync back on a');
    }
  });

  it('when the replica\'s threads are stopped then it is DEGRADED (exit 1) naming both threads', async () => {
    await b.sql('STOP SLAVE');
    try {
      const r = await status();
      assert.equal(r.code, 1, r.text);
      assert.equal(r.status.verdict, 'DEGRADED');
      assert.ok(r.status.reasons.includes('b: replication IO thread No'), r.status.reasons.join('\n'));
      assert.ok(r.status.reasons.includes('b: replication SQL thread No'), r.status.reasons.join('\n'));
    } finally {
      await b.sql('START SLAVE');
    }
  });

  it('when semi-sync is off on the master then it is DEGRADED', async () => {
    await a.sql('SET GLOBAL rpl_semi_sync_master_enabled = 0');
    try {
      const r = await status();
      assert.equal(r.code, 1, r.text);
      assert.deepEqual(r.status.reasons, ['a: semi-sync source side not enabled on the writable node']);
    } finally {
      await a.sql('SET GLOBAL rpl_semi_sync_master_enabled = 1');
    }
  });

  it('when the replica applies a transaction 100 s old (MASTER_DELAY holds it) then it is DEGRADED for lag over 5 s', async () => {
    await b.sql('STOP SLAVE', 'CHANGE MASTER TO MASTER_DELAY = 3600', 'START SLAVE');
    try {
      await a.sql('SET timestamp = UNIX_TIMESTAMP() - 100', "INSERT INTO appdb.t VALUES (100, 'old')");
      await waitFor(async () => Number((await b.sql('SHOW SLAVE STATUS'))[0]?.['Seconds_Behind_Master']) > 5, 10_000, 'lag on b');
      const r = await status();
      assert.equal(r.code, 1, r.text);
      assert.ok(r.status.reasons.some((x) => /^b: \d+ s behind its source \(over 5 s\)$/.test(x)), r.status.reasons.join('\n'));
    } finally {
      await b.sql('STOP SLAVE', 'CHANGE MASTER TO MASTER_DELAY = 0', 'START SLAVE');
      await waitFor(async () => Number((await b.sql('SHOW SLAVE STATUS'))[0]?.['Seconds_Behind_Master']) === 0, 10_000, 'b caught up');
    }
  });

  it('when both nodes are writable, then the old master is fenced, after a failed transition then the pair alerts fire', async () => {
    const closed = withConfig(dirs.configPath, (c) => {
      c['mysql'] = { ...c['mysql'], port: 1 };
    });
    const failed = await runNotify(['--config', closed, '--foreground', 'master']);
    assert.notEqual(failed.code, 0);
    await b.sql('SET GLOBAL read_only = 0');
    try {
      await alertsFire([
        { alert: 'MysqlBothWritable', labels: {} },
        { alert: 'MysqlLastTransitionFailed', labels: { node: 'a' } },
        { alert: 'MysqlSemiSyncInactive', labels: { node: 'b' } },
      ]);
      await b.sql('SET GLOBAL read_only = 1');
      await a.sql('SET GLOBAL read_only = 1');
      await alertsFire([
        { alert: 'MysqlNoWritableNode', labels: {} },
        { alert: 'MysqlOldMasterFenced', labels: { node: 'a' } },
        { alert: 'MysqlLastTransitionFailed', labels: { node: 'a' } },
      ]);
      const r = await status();
      assert.equal(r.code, 2, r.text);
      assert.ok(r.status.reasons.includes('a: last transition MASTER failed (exit 69)'), r.status.reasons.join('\n'));
    } finally {
      await b.sql('SET GLOBAL read_only = 1');
      await a.sql('SET GLOBAL read_only = 0');
    }
  });

  it('when the replica has a transaction the master lacks then it is DANGER (exit 2) naming the errant GTID range', async () => {
    await b.sql("INSERT INTO appdb.t VALUES (200, 'errant on the replica')");
    // MariaDB numbers it after the domain's last seq (0-1-N → 0-2-N+1), and a has none of server 2: the range starts at 1.
    const [pos] = await b.sql<{ p: string }>('SELECT @@gtid_binlog_pos AS p');
    assert.match(pos?.p ?? '', /^0-2-\d+$/);
    const range = `0-2-1..${pos?.p ?? ''}`;
    const r = await status();
    assert.equal(r.code, 2, r.text);
    assert.equal(r.status.verdict, 'DANGER');
    assert.deepEqual(r.status.errant.peerOnly, [range]);
    assert.ok(r.status.reasons.includes(`b has transactions a lacks: ${range}`), r.status.reasons.join('\n'));
    assert.ok(r.text.includes(`only on b: ${range}`), r.text);
    await alertsFire([{ alert: 'MysqlErrantTransactions', labels: { node: 'b' } }, { alert: 'MysqlLastTransitionFailed', labels: { node: 'a' } }]);
  });

  it('when the peer\'s MySQL is down then its state files are read over SSH (a corrupt ledger line is one warning) and it is DEGRADED', async () => {
    const peerState = join(farm.baseDir, 'node-b', 'state');
    mkdirSync(peerState, { recursive: true });
    const [gtid] = await a.sql<{ s: string }>('SELECT @@gtid_binlog_state AS s');
    writeFileSync(join(peerState, 'position.json'), JSON.stringify({ node: 'b', role: 'replica', recordedAt: '2026-01-01T00:00:00Z', transitionId: 't1', gtidBinlogPos: gtid?.s, gtidBinlogState: gtid?.s }));
    writeFileSync(join(peerState, 'term.json'), JSON.stringify({ term: 7, node: 'a', since: '2026-01-01T00:00:00Z', transitionId: 't1' }));
    writeFileSync(join(peerState, 'stepdown.json'), JSON.stringify({ by: 'b', term: 6, reason: 'lost the gateway', at: '2026-01-01T00:00:00Z' }));
    writeFileSync(join(peerState, 'transitions.jsonl'), `${JSON.stringify({ v: 1, id: 'b-1', node: 'b', state: 'BACKUP', trigger: 'keepalived', origin: 'keepalived', seq: 1,
      requestedAt: 'x', startedAt: '2026-01-01T00:00:00Z', endedAt: 'x', durationMs: 40, steps: [], outcome: 'done', exitCode: 0 })}\n`);
    appendFileSync(join(peerState, 'transitions.jsonl'), '{"torn\n');
    writeFileSync(join(peerState, 'semisync-async.jsonl'), `${JSON.stringify({ at: '2026-01-01T00:00:01Z', node: 'b', reason: 'replica refused', gtidBinlogPos: '0-2-9' })}\n`);
    await b.kill();

    const r = await status();
    assert.equal(r.code, 1, r.text + r.stderr);
    const p = r.status.peer;
    assert.equal(p.source, 'ssh');
    assert.equal(p.mysql, null);
    assert.deepEqual([p.files.term?.['term'], p.files.stepdown?.['reason'], p.files.position?.['role']], [7, 'lost the gateway', 'replica']);
    assert.deepEqual(p.files.lastTransitions?.map((t) => t['id']), ['b-1']);
    assert.equal(p.files.warnings?.length, 1);
    assert.match(p.files.warnings?.[0] ?? '', /transitions\.jsonl: a corrupt line, skipped$/);
    assert.deepEqual(r.status.errant.localOnly, []);
    assert.match(r.status.errant.method, /position\.json/);
    assert.ok(r.status.reasons.some((x) => x.startsWith('b: MySQL does not answer (read its state files over SSH)')), r.status.reasons.join('\n'));
    assert.match(r.text, /^term +.* +7 held by a since 2026-01-01T00:00:00Z$/m);
    assert.match(r.text, /stepped down +- +by b in term 6: lost the gateway/);
    assert.deepEqual(p.files.lastAsyncSwitch?.['reason'], 'replica refused');
    assert.match(r.text, /last async switch +- +2026-01-01T00:00:01Z at 0-2-9: replica refused/);
  });

  it('when neither the peer\'s MySQL nor its SSH answers then status still ends quickly with DEGRADED and both reasons', async () => {
    const config = withConfig(dirs.configPath, (c) => {
      const peer = c['peer'] as { ssh: Record<string, unknown> };
      peer.ssh = { ...peer.ssh, port: 1 };
    });
    const r = await status(config);
    assert.equal(r.code, 1, r.text);
    assert.equal(r.status.peer.source, 'none');
    assert.equal(r.status.peer.errors.length, 2);
    assert.match(r.status.peer.errors[1] ?? '', /^SSH: /);
  });

  it('when a flag is unknown or the config is missing then one line and 64 / 78', async () => {
    const bad = await runBin('keepalived-mysql', ['status', '--bogus']);
    assert.equal(bad.code, 64);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    const missing = await runBin('keepalived-mysql', ['status', '--config', join(kaDir, 'nope.json')]);
    assert.equal(missing.code, 78);
    assert.match(missing.stderr, /^keepalived-mysql: cannot read config .*nope\.json: no such file\n$/);
  });
});

