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
