import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/schema.js';
import type { IsolationFinding } from '../../../src/health/evaluate.js';
import { heldWhileAnswered, isolationEndpoints, probeAny, type Endpoint } from '../../../src/health/isolation.js';

const hints = { configReadableByOthers: false, readPasswordFile: () => 'x' };
const base = {
  node: { name: 'db1' }, mysql: { user: 'k', password: 'p' }, replication: { user: 'r', password: 'p' },
  peer: { host: '10.0.0.12', mysqlPort: 3307, ssh: { knownHostsFile: '/k' } }, paths: {},
};

describe('isolation guard endpoints', () => {
  it('asks the peer and the witness, so a dead witness alone never fails a check', () => {
    const c = parseConfig({ ...base, witness: { host: '10.0.0.50', ssh: { port: 2222, knownHostsFile: '/k' } } }, hints);
    assert.deepEqual(isolationEndpoints(c).map((e) => `${e.name} ${e.host}:${e.port}`), ['peer 10.0.0.12:3307', 'witness 10.0.0.50:2222']);
  });
  it('asks the peer with a login of the toolkit account and the witness with a bare connect (sshd keeps no such count)', () => {
    const c = parseConfig({ ...base, witness: { host: '10.0.0.50', ssh: { port: 2222, knownHostsFile: '/k' } } }, hints);
    assert.deepEqual(isolationEndpoints(c).map((e) => `${e.name} ${e.login === undefined ? 'connect' : `login ${e.login.user}@${e.login.host}:${e.login.port}`}`),
      ['peer login k@10.0.0.12:3307', 'witness connect']);
  });
  it('without a witness the gateway is the other vantage point', () => {
    const c = parseConfig({ ...base, check: { gateway: { host: '10.0.0.1', port: 22, timeoutMs: 250 } } }, hints);
    assert.deepEqual(isolationEndpoints(c).map((e) => `${e.name} ${e.host}:${e.port}/${e.timeoutMs}`), ['peer 10.0.0.12:3307/300', 'gateway 10.0.0.1:22/250']);
  });
});

describe('probeAny', () => {
  const e = (name: string): Endpoint => ({ name, host: name, port: 1, timeoutMs: 10 });
  const after = (ms: number, answered: boolean) => (_e: Endpoint, s: AbortSignal): Promise<IsolationFinding> => new Promise((resolve) => {
    const t = setTimeout(() => resolve({ answered, detail: answered ? 'answers' : 'silent', ms }), ms);
    s.addEventListener('abort', () => { clearTimeout(t); resolve({ answered: false, detail: 'abandoned', ms }); }, { once: true });
  });

  it('answers at the first endpoint that answers and abandons the others', async () => {
    const started = Date.now();
    const probes: Record<string, ReturnType<typeof after>> = { peer: after(2000, false), witness: after(5, true) };
    const f = await probeAny([e('peer'), e('witness')], (x, s) => probes[x.name]!(x, s), new AbortController().signal);
    assert.equal(f.answered, true);
    assert.match(f.detail, /^witness /);
    assert.ok(Date.now() - started < 1000);
  });
  it('asks one endpoint while it answers within the head start: a healthy check opens one socket', async () => {
    const asked: string[] = [];
    const f = await probeAny([e('peer'), e('witness'), e('gateway')], (x, s) => {
      asked.push(x.name);
      return after(1, true)(x, s);
    }, new AbortController().signal, 200);
    assert.equal(f.answered, true);
    assert.deepEqual(asked, ['peer']);
  });
  it('asks the next endpoint at once when every one asked so far is silent, not after the head start', async () => {
    const started = Date.now();
    const probes: Record<string, ReturnType<typeof after>> = { peer: after(1, false), witness: after(1, true) };
    const f = await probeAny([e('peer'), e('witness')], (x, s) => probes[x.name]!(x, s), new AbortController().signal, 5000);
    assert.match(f.detail, /^witness /);
    assert.ok(Date.now() - started < 2000, 'the 5 s head start was not waited out');
  });
  it('gives a later endpoint what is left of its own timeout, so a silence ends when it would have with all asked together', async () => {
    const timeouts: Record<string, number> = {};
    const slow = (name: string): Endpoint => ({ name, host: name, port: 1, timeoutMs: 1000 });
    await probeAny([slow('peer'), slow('gateway')], (x, s) => {
      timeouts[x.name] = x.timeoutMs;
      return after(x.name === 'peer' ? 200 : 1, false)(x, s);
    }, new AbortController().signal, 50);
    // Asked at once: the whole timeout, less the millisecond the clock may turn before the first ask.
    assert.ok(timeouts['peer']! >= 999 && timeouts['peer']! <= 1000, `peer got ${timeouts['peer']} ms`);
    // Asked after the head start, which Date.now() may see a millisecond short of 50 (CI saw 951).
    assert.ok(timeouts['gateway']! <= 1000 - 50 + 1 && timeouts['gateway']! > 500, `gateway got ${timeouts['gateway']} ms`);
  });
  it('at the deadline resolves silent, naming the endpoints it never asked', async () => {
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(), 20);
    const f = await probeAny([e('peer'), e('witness'), e('gateway')], after(5000, true), deadline.signal, 5000);
    assert.equal(f.answered, false);
    assert.equal(f.detail, 'peer abandoned; witness not asked before the deadline; gateway not asked before the deadline');
  });
  it('is silent only when every endpoint is, naming each', async () => {
    const f = await probeAny([e('peer'), e('gateway')], after(5, false), new AbortController().signal);
    assert.equal(f.answered, false);
    assert.match(f.detail, /peer silent; gateway silent|gateway silent; peer silent/);
  });
});

describe('heldWhileAnswered (the watcher\'s isolation guard)', () => {
  it('holds an answer for everyMs, and asks again every round once a probe is silent', async () => {
    let now = 0;
    const clock = { now: () => now, sleep: async () => undefined };
    const answers = [true, true, false, false, true];
    let asked = 0;
    const probe = async (): Promise<IsolationFinding> => {
      const answered = answers[asked++] ?? true;
      return { answered, detail: answered ? 'peer answers' : 'all silent', ms: 1 };
    };
    const guard = heldWhileAnswered(probe, clock, 1000);
    const seen: boolean[] = [];
    for (const t of [0, 200, 1000, 1500, 2000, 2200, 2400]) {
      now = t;
      seen.push((await guard(AbortSignal.timeout(1000))).answered);
    }
    assert.deepEqual(seen, [true, true, true, true, false, false, true]);
    assert.equal(asked, 5, 'probed at 0, 1000 and 2000 (a held answer expired), 2200 and 2400 (after a silence: every round)');
  });
});
