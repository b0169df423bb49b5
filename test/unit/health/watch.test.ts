import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig, type Config } from '../../../src/config/schema.js';
import { AppError } from '../../../src/errors.js';
import { checkHealth, type MysqldInspector } from '../../../src/health/check.js';
import type { CheckDecision } from '../../../src/health/decision-journal.js';
import type { Verdict } from '../../../src/health/evaluate.js';
import type { Round } from '../../../src/health/round.js';
import { retryPolicy } from '../../../src/health/round.js';
import { beatIsFresh, watchLoop, watchStep, type RoundResult, type TrackValue, type WatchPorts } from '../../../src/health/watch.js';
import type { Logger } from '../../../src/log/types.js';
import type { MysqlTarget, SqlConnector } from '../../../src/mysql/types.js';
import type { Clock } from '../../../src/platform/clock.js';

const healthy: Verdict = { status: 'healthy', how: 'answered', summary: 'MySQL answered' };
const refusing: Verdict = { status: 'healthy', how: 'alive-but-refusing', summary: 'mysqld alive but refusing: Access denied' };
const crashed: Verdict = { status: 'down', reason: 'process-missing', summary: 'mysqld process missing: no such process' };
const v = (verdict: Verdict): RoundResult => ({ kind: 'verdict', verdict });

function config(check: Record<string, unknown> = {}): Config {
  return parseConfig({
    node: { name: 'db1' },
    mysql: { user: 'k', password: 'p', connectTimeoutMs: 300, queryTimeoutMs: 300 },
    replication: { user: 'r', password: 'p' },
    peer: { host: '192.0.2.12', ssh: { knownHostsFile: '/dev/null' } },
    paths: {},
    check: { gateway: { host: '192.0.2.1', port: 22 }, ...check },
  }, { configReadableByOthers: false, readPasswordFile: () => '' }) as Config;
}

describe('watchStep: what one round changes', () => {
  it('when the first verdict is healthy and the file holds nothing then 0 is written and the change is logged once', () => {
    const s = watchStep({ track: undefined, seen: undefined }, v(healthy));
    assert.equal(s.write, '0');
    assert.equal(s.change?.level, 'info');
    assert.match(s.change?.line ?? '', /^check\.down unset → 0: healthy \(answered\)/);
    const again = watchStep(s.state, v(healthy));
    assert.equal(again.write, undefined);
    assert.equal(again.change, undefined);
  });

  it('when mysqld crashes then 1 is written with the reason; when it answers again then 0', () => {
    const down = watchStep({ track: '0', seen: 'healthy:answered' }, v(crashed));
    assert.equal(down.write, '1');
    assert.equal(down.change?.level, 'error');
    assert.match(down.change?.line ?? '', /^check\.down 0 → 1: down \(process-missing\): mysqld process missing/);
    assert.equal(watchStep(down.state, v(healthy)).write, '0');
  });

  it('when mysqld refuses the account then the node stays in (0), and the new outcome is logged without a write', () => {
    const s = watchStep({ track: '0', seen: 'healthy:answered' }, v(refusing));
    assert.equal(s.write, undefined);
    assert.equal(s.change?.level, 'error');
    assert.match(s.change?.line ?? '', /^check\.down stays 0: healthy \(alive-but-refusing\)/);
  });

  it('when a round gives no verdict (deadline or failure) then 1 is written, as check-mysql exits non-zero then', () => {
    const s = watchStep({ track: '0', seen: 'healthy:answered' }, { kind: 'no-verdict', detail: 'check.deadlineMs passed' });
    assert.equal(s.write, '1');
    assert.match(s.change?.line ?? '', /no verdict \(check\.deadlineMs passed\)/);
  });
});

// A clock whose sleeps pass at once and move time on; a log and a journal that remember their order.
function loopFakes(rounds: ((now: number) => Round | Promise<Round>)[], c: Config, opts: { writeFails?: number } = {}) {
  let now = 5_000_000;
  const clock: Clock = { now: () => now, sleep: async (ms) => { now += ms; } };
  const stop = new AbortController();
  const events: string[] = [];
  const sleeps: number[] = [];
  const writes: { value: TrackValue; at: number }[] = [];
  let writeFails = opts.writeFails ?? 0;
  const line = (level: string) => (msg: string) => events.push(`${level} ${msg}`);
  const log: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), child: () => log, close: async () => {} };
  let i = 0;
  const ports: WatchPorts = {
    clock: { now: clock.now, sleep: async (ms, signal) => { sleeps.push(ms); await clock.sleep(ms, signal); } },
    round: async (run) => {
      const next = rounds[i++];
      if (next === undefined) {
        stop.abort();
        throw new AppError('DEADLINE_EXCEEDED', 'stopped');
      }
      now += 30;
      return next(run.startedAt);
    },
    record: (e: CheckDecision) => events.push(`record ${e.verdict} ${e.action}`),
    writeTrack: async (value) => {
      if (writeFails-- > 0) throw new Error('EROFS');
      events.push(`write ${value}`);
      writes.push({ value, at: now });
    },
    beat: () => events.push('beat'),
    log,
    who: () => ({ node: 'db1', pid: 1, at: '' }),
  };
  return { run: (initial?: TrackValue) => watchLoop(c, initial, ports, stop.signal), events, sleeps, writes, now: () => now };
}

const round = (verdict: Verdict): (() => Round) => () => ({ health: { probes: { first: { ok: true, at: 0, ms: 1 }, retries: [], retriesCutShort: false }, verdict }, guard: { action: 'none', detail: '' } });

describe('watchLoop over fake ports', () => {
  it('when rounds go healthy, down, down, healthy then the journal entry comes before each write, writes happen only on a change, and a beat follows every round', async () => {
    const f = loopFakes([round(healthy), round(crashed), round(crashed), round(healthy)], config());
    await f.run('0');
    assert.deepEqual(f.events.filter((e) => e !== 'beat' && !e.startsWith('info') && !e.startsWith('error')), [
      'record healthy none', 'record down track-file', 'write 1', 'record healthy track-file', 'write 0',
    ]);
    assert.equal(f.events.filter((e) => e === 'beat').length, 4);
    assert.equal(f.events.filter((e) => e.startsWith('error check.down 0 → 1')).length, 1);
  });

  it('when a round takes 30 ms then the next starts intervalMs after the start of this one', async () => {
    const f = loopFakes([round(healthy), round(healthy), round(healthy)], config({ watch: { intervalMs: 250 } }));
    await f.run('0');
    assert.deepEqual(f.sleeps, [220, 220, 220]);
  });

  it('when the file cannot be written then the round is logged and the next round writes again', async () => {
    const f = loopFakes([round(crashed), round(crashed)], config(), { writeFails: 1 });
    await f.run('0');
    assert.deepEqual(f.writes.map((w) => w.value), ['1']);
    assert.ok(f.events.some((e) => /^error cannot write check\.down: EROFS/.test(e)));
    assert.deepEqual(f.sleeps, [170, 170], 'a failed write still waits for the next round');
  });

  it('when mysqld hangs (process and port there) then 1 is written only after every retry, retries × retryIntervalMs into the round', async () => {
    const c = config({ retries: 3, retryIntervalMs: 100, deadlineMs: 3000 });
    const target: MysqlTarget = { host: '127.0.0.1', port: 3306, user: 'k', password: 'p', connectTimeoutMs: 300, queryTimeoutMs: 300 };
    let now = 0;
    const clock: Clock = { now: () => now, sleep: async (ms) => { now += ms; } };
    let connects = 0;
    const hung: SqlConnector = { connect: async () => { connects++; now += 300; throw Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }); } };
    const inspector: MysqldInspector = { findMysqld: () => ({ found: true, pid: 9, detail: 'pid 9' }), listening: () => ({ listening: true, detail: 'listening' }) };
    const writes: number[] = [];
    const ports: WatchPorts = {
      clock, log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => ports.log, close: async () => {} },
      round: async (run) => {
        if (connects > 0) {
          stop.abort();
          throw new AppError('DEADLINE_EXCEEDED', 'stopped');
        }
        return { health: await checkHealth(target, retryPolicy(c), { connector: hung, ask: 'COM_PING', clock, inspector }, run), guard: { action: 'none', detail: '' } };
      },
      record: () => {}, beat: () => {}, who: () => ({ node: 'db1', pid: 1, at: '' }),
      writeTrack: async (value) => { if (value === '1') writes.push(now); },
    };
    const stop = new AbortController();
    await watchLoop(c, '0', ports, stop.signal);
    assert.equal(connects, 4);
    assert.deepEqual(writes, [4 * 300 + 3 * 100]);
  });
});

describe('beatIsFresh: whether check-mysql leaves the semi-sync guard to a live watcher', () => {
  const check = config({ deadlineMs: 4000, watch: { intervalMs: 200 } }).check;
  it('when the beat is within a round, an interval and a second of slack then the watcher counts as alive; older or missing, not', () => {
    assert.equal(beatIsFresh(10_000, 10_000 + 5200, check), true);
    assert.equal(beatIsFresh(10_000, 10_000 + 5201, check), false);
    assert.equal(beatIsFresh(undefined, 10_000, check), false);
  });
});
