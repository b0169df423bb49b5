import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  decideSwitchover, executeSwitchover, renderSwitchover, switchoverBudgetMs, undoOnExit, type NodeReading, type Side, type SwitchoverPorts,
  type SwitchoverReading,
} from '../../../src/failover/switchover.js';
import type { TransitionRecord } from '../../../src/history/transitions.js';
import { WEIGHT_FILE } from '../../../src/state/files.js';
import { createMemoryLogger } from '../../../src/log/stderr-logger.js';
import type { Clock } from '../../../src/platform/clock.js';
import type { MysqlView } from '../../../src/status/model.js';

const master: MysqlView = {
  flavor: 'mariadb', version: '10.11.19', serverId: 1, readOnly: false, writable: true, replication: null,
  semiSync: { sourceEnabled: true, sourceActive: true, clients: 1, replicaEnabled: true, replicaActive: false },
  gtidPosition: '0-1-10', gtidBinlogState: '0-1-10', transactions: null,
};
const replica: MysqlView = {
  ...master, serverId: 2, readOnly: true, writable: false,
  replication: { sourceHost: '10.0.0.1', sourcePort: 3306, ioRunning: 'Yes', sqlRunning: 'Yes', secondsBehind: 0, lastIoError: '', lastSqlError: '' },
  semiSync: { sourceEnabled: true, sourceActive: false, clients: 0, replicaEnabled: true, replicaActive: true },
};
const running = { running: true, detail: 'pid 1' };
const idle = { handled: { seq: 3, state: 'BACKUP', outcome: 'done' }, latest: { seq: 3, state: 'BACKUP', requestedAt: '' } };
const node = (name: string, mysql: MysqlView): NodeReading => ({ name, mysql, keepalived: running, notify: idle });

function reading(o: { local?: Partial<NodeReading>; peer?: Partial<NodeReading>; errant?: SwitchoverReading['errant'] } = {}): SwitchoverReading {
  return {
    local: { ...node('db1', master), ...o.local },
    peer: { ...node('db2', replica), ...o.peer },
    errant: o.errant ?? { localOnly: [], peerOnly: [], unproven: [], method: 'test' },
  };
}
const bounds = { maxLagS: 5, waitMs: 10_000, waitReplicating: true };

describe('decideSwitchover', () => {
  it('when the replica is ready then the master is held out and the target awaited writable; then the master is released, else the switch is rolled back', () => {
    const d = decideSwitchover(reading(), bounds);
    assert.equal(d.kind, 'go');
    if (d.kind !== 'go') return;
    assert.deepEqual([d.master, d.target], ['local', 'peer']);
    // Either node may end up leading: released, awaited writable, then the other rejoins; else no writable master.
    const lead = (n: string, other: string, after: readonly string[]): string[] => [
      `[release] ${n}`, `[wait-writable] ${n}`, `if ${n} is writable:`, ...[`[release] ${other}`, `[wait-replicating] ${other}`, ...after].map((l) => `  ${l}`),
      'else:', `  [explain] ${n}`, '  end: no writable master ',
    ];
    const nest = (lines: readonly string[]): string[] => lines.map((l) => `  ${l}`);
    assert.deepEqual(renderSwitchover(d).map((l) => l.replace(/^( *)(\[[a-z-]+\] \w+|if \w+ [a-z ]+:|else:|end: [a-z ]+).*$/, '$1$2')), nest([
      '[lift] db2', '[hold-out] db1', '[fence] db1', '[wait-writable] db2', '[lower] db2',
      'if db2 is writable:', '  [release] db1', '  [wait-replicating] db1',
      'else:', ...nest(['[explain] db2', '[hold-out] db2', '[wait-out] db2', '[compare] db2',
        'if db2 holds GTIDs the other node lacks:', ...nest(lead('db2', 'db1', [])),
        'else:', ...nest(lead('db1', 'db2', ['end: rolled back '])),
      ]),
    ]));
  });

  it("when notify's lock on the peer is older than its staleness (its holder died) and every request is handled then that is no transition", () => {
    assert.equal(decideSwitchover(reading({ peer: { notify: { ...idle, lockAgeMs: 60_000 } } }), bounds).kind, 'go');
  });

  it('when run on the replica then the same plan holds the peer out', () => {
    const d = decideSwitchover(reading({ local: { mysql: replica }, peer: { mysql: master }, errant: { localOnly: [], peerOnly: [], unproven: [], method: 't' } }),
      { ...bounds, waitReplicating: false });
    assert.equal(d.kind, 'go');
    assert.deepEqual(renderSwitchover(d).slice(0, 7), [
      "  [lift] db1: write 1 to switchover.takeover (keepalived priority 254 for the hand-over: MASTER 8 ms after the master's priority-0 advert)",
      '  [hold-out] db2: write 1 to switchover.weight (keepalived FAULT at once; notify FAULT fences it; the other node takes the VIP and runs notify MASTER: ' +
        'fence this node, catch up to its GTIDs, open writes)',
      '  [fence] db2: KILL each client session, SET GLOBAL read_only = 1, KILL late arrivals (what its notify FAULT does next; best effort)',
      '  [wait-writable] db1: wait up to 10000 ms until it is writable (its promotion done)',
      '  [lower] db1: write 0 to switchover.takeover (its configured priority again)',
      '  if db1 is writable:',
      '    [release] db2: write 0 to switchover.weight (keepalived FAULT → BACKUP; notify BACKUP replicates from the new master)',
    ]);
    assert.ok(!renderSwitchover(d).some((l) => l.includes('wait-replicating')), 'no --wait: nothing waits for replication');
  });

  const refusals: [string, SwitchoverReading, RegExp][] = [
    ['lagging', reading({ peer: { mysql: { ...replica, replication: { ...replica.replication!, secondsBehind: 30 } } } }), /db2 lags 30 s behind \(bound 5 s\)/],
    ['replication broken', reading({ peer: { mysql: { ...replica, replication: { ...replica.replication!, sqlRunning: 'No', lastSqlError: 'dup key' } } } }),
      /replication on db2 is broken \(IO Yes, SQL No: dup key\)/],
    ['errant on the target', reading({ errant: { localOnly: [], peerOnly: ['0-2-1'], unproven: [], method: 't' } }), /db2 has errant transactions 0-2-1/],
    ['errant not comparable', reading({ errant: { localOnly: null, peerOnly: null, unproven: [], method: 'not compared: x' } }), /cannot be ruled out/],
    ['semi-sync off on the master', reading({ local: { mysql: { ...master, semiSync: { ...master.semiSync, sourceActive: false } } } }), /semi-sync is off on db1/],
    ['semi-sync off on the target', reading({ peer: { mysql: { ...replica, semiSync: { ...replica.semiSync, replicaActive: false } } } }), /semi-sync is off on db2/],
    ['peer keepalived down', reading({ peer: { keepalived: { running: false, detail: 'no pid' } } }), /keepalived is not running on db2 \(no pid\)/],
    ['notify holds its lock here', reading({ local: { notify: { ...idle, lockAgeMs: 2400 } } }),
      /a transition is in progress \(notify holds its lock on db1 \(refreshed 2400 ms ago\)\)/],
    ["the peer's notify has a request not handled yet", reading({ peer: { notify: { ...idle, latest: { seq: 4, state: 'MASTER', requestedAt: 'T' } } } }),
      /a transition is in progress \(notify request #4 \(MASTER, recorded T\) is not handled yet on db2\)/],
    ["the peer's notify state cannot be read", reading({ peer: { notify: 'SSH to db2: ECONNREFUSED' } }),
      /cannot tell whether a transition is in progress on db2 \(SSH to db2: ECONNREFUSED\)/],
    ['peer MySQL silent', reading({ peer: { name: 'db2', unreachable: 'ECONNREFUSED', keepalived: running, mysql: undefined, notify: idle } }), /db2's MySQL does not answer/],
    ['both writable', reading({ peer: { mysql: master } }), /both nodes are writable/],
  ];
  for (const [what, r, why] of refusals) {
    it(`when ${what} then it refuses with that reason on one line`, () => {
      const d = decideSwitchover(r, bounds);
      assert.equal(d.kind, 'refuse');
      const [line] = renderSwitchover(d);
      assert.match(line ?? '', why);
      assert.equal(renderSwitchover(d).length, 1);
    });
  }
});

function fakeClock(): Clock {
  let now = 0;
  return { now: () => now, sleep: async (ms) => { now += ms; } };
}

type Weights = Record<Side, 0 | 1>;

/**
 * A pair as keepalived and notify drive it, reduced to what the switchover reads: `writable(side, weights)` says who
 * is writable under the weights written so far; notify's last handled transition follows the weights (held out: FAULT).
 */
function pairPorts(o: {
  writable: (on: Side, w: Weights) => boolean;
  masterOutcome?: string;
  busy?: (on: Side) => boolean;
  peerOnly?: readonly string[] | null;
}) {
  const weights: Weights = { local: 0, peer: 0 };
  const written: string[] = [];
  const records: TransitionRecord[] = [];
  const view = (on: Side): MysqlView => (o.writable(on, weights) ? master : replica);
  const ports: SwitchoverPorts = {
    clock: fakeClock(), log: createMemoryLogger(), stepMs: 1000,
    readMysql: async (on) => view(on),
    readNotify: async (on) => ({
      handled: { seq: 5, state: weights[on] === 1 ? 'FAULT' : 'MASTER', outcome: weights[on] === 1 ? 'done' : (o.masterOutcome ?? 'done') },
      latest: { seq: 5, state: 'MASTER', requestedAt: 'T' },
      ...(o.busy?.(on) === true ? { lockAgeMs: 100 } : {}),
    }),
    fence: async (on) => void written.push(`fence ${on}`),
    compareGtids: async () => ({ localOnly: [], peerOnly: o.peerOnly === undefined ? [] : o.peerOnly, unproven: [], method: 'test' }),
    setTrackFile: async (on, file, v) => {
      if (file === WEIGHT_FILE) weights[on] = v;
      written.push(`${on}${file === WEIGHT_FILE ? '=' : '^'}${v}`);
    },
    record: (r) => void records.push(r),
  };
  return { ports, written, records };
}

const fails = (code: string, message: RegExp) => (e: unknown): boolean => e instanceof AppError && e.code === code && message.test(e.message);

describe('executeSwitchover', () => {
  const go = (waitReplicating = true): Extract<ReturnType<typeof decideSwitchover>, { kind: 'go' }> => {
    const d = decideSwitchover(reading(), { ...bounds, waitMs: 1000, waitReplicating });
    assert.equal(d.kind, 'go');
    return d as Extract<typeof d, { kind: 'go' }>;
  };
  const run = { id: 't1', node: 'db1' };
  const signal = new AbortController().signal;
  it('when the target becomes writable then the master is released and the history holds every step', async () => {
    const { ports, written, records } = pairPorts({ writable: (on) => on === 'peer' });
    await executeSwitchover(go(), run, ports, signal);
    assert.deepEqual(written, ['peer^1', 'local=1', 'fence local', 'peer^0', 'local=0']);
    assert.deepEqual([records[0]?.outcome, records[0]?.exitCode], ['done', 0]);
    assert.deepEqual(records[0]?.steps.map((s) => s.step), ['lift', 'hold-out', 'fence', 'wait-writable', 'lower', 'release', 'wait-replicating']);
  });

  it("when the target's promotion refuses then it is held out and fenced, the old master released to lead again, the target rejoins, and the rollback is exit 4 with the reason", async () => {
    const { ports, written, records } = pairPorts({
      // db2 never opens writes; db1 is writable again once released while db2 is held out (keepalived MASTER, notify MASTER).
      writable: (on, w) => on === 'local' && w.local === 0,
      masterOutcome: 'replica did not apply 0-1-40 within 5000 ms; onCatchUpTimeout=refuse: staying read-only',
    });
    await assert.rejects(executeSwitchover(go(), run, ports, signal), fails('SWITCHOVER_ROLLED_BACK',
      /^switchover rolled back: db2 did not become writable within 1000 ms \(db2's last notify transition #5 MASTER: replica did not apply 0-1-40 within 5000 ms; onCatchUpTimeout=refuse: staying read-only\); db1 is the master again$/));
    assert.deepEqual(written, ['peer^1', 'local=1', 'fence local', 'peer^0', 'peer=1', 'local=0', 'peer=0']);
    assert.deepEqual([records[0]?.outcome, records[0]?.exitCode, records[0]?.error?.code], ['refused', 4, 'SWITCHOVER_ROLLED_BACK']);
    assert.deepEqual(records[0]?.steps.map((s) => `${s.step}${s.ok ? '' : ' (not settled)'}`), [
      'lift', 'hold-out', 'fence', 'wait-writable (not settled)', 'lower', 'explain', 'hold-out', 'wait-out', 'compare', 'release', 'wait-writable', 'release', 'wait-replicating']);
  });

  it('when the target opened writes after the bound and took some then it stays the master: released to lead, the old master rejoins, exit 0', async () => {
    let late = false;
    const { ports, written, records } = pairPorts({
      writable: (on, w) => (on === 'peer' ? late && w.peer === 0 : false),
      peerOnly: ['0-2-1'],
    });
    // Its promotion ends just after the bound: from the rollback's hold-out on, db2 has writes db1 lacks.
    await executeSwitchover(go(false), run, { ...ports, setTrackFile: async (on, file, v, s) => {
      if (file === WEIGHT_FILE && on === 'peer') late = true;
      return ports.setTrackFile(on, file, v, s);
    } }, signal);
    assert.deepEqual(written, ['peer^1', 'local=1', 'fence local', 'peer^0', 'peer=1', 'peer=0', 'local=0']);
    assert.equal(records[0]?.outcome, 'done');
  });

  it('when the old master does not become writable again either then both are released and the error says there is no writable master (exit 75)', async () => {
    const { ports, written, records } = pairPorts({ writable: () => false });
    await assert.rejects(executeSwitchover(go(), run, ports, signal),
      fails('DEADLINE_EXCEEDED', /^db2 did not become writable within 1000 ms \(.*\); rolling back; db1 did not become writable within 1000 ms: no writable master \(db1's last notify transition #5 MASTER: done\)$/));
    assert.deepEqual(written, ['peer^1', 'local=1', 'fence local', 'peer^0', 'peer=1', 'local=0', 'peer=0']);
    assert.equal(records[0]?.exitCode, 75);
  });

  it("when the held-out target's notify stays busy then nothing is handed back and both are released on the way out (exit 75)", async () => {
    const { ports, written } = pairPorts({ writable: () => false, busy: (on) => on === 'peer' });
    await assert.rejects(executeSwitchover(go(), run, ports, signal),
      fails('DEADLINE_EXCEEDED', /^db2 is not fenced out of the race \(read-only; notify holds its lock on db2 \(refreshed 100 ms ago\)\) by the deadline \(1000 ms\)$/));
    assert.deepEqual(written, ['peer^1', 'local=1', 'fence local', 'peer^0', 'peer=1', 'local=0', 'peer=0']);
  });

  it('when it cannot be told whether the target took writes then the old master is not handed the role (exit 1), both released', async () => {
    const { ports, written } = pairPorts({ writable: () => false, peerOnly: null });
    await assert.rejects(executeSwitchover(go(), run, ports, signal), fails('FAILOVER_STEP_FAILED', /^cannot tell whether db2 took writes that db1 lacks$/));
    assert.deepEqual(written, ['peer^1', 'local=1', 'fence local', 'peer^0', 'peer=1', 'local=0', 'peer=0']);
  });

  it('when the fence from here fails then the switchover goes on (notify fences it), the step recorded as not ok', async () => {
    const { ports, written, records } = pairPorts({ writable: (on) => on === 'peer' });
    await executeSwitchover(go(), run, { ...ports, fence: async () => { throw new AppError('MYSQL_UNREACHABLE', 'refused'); } }, signal);
    assert.deepEqual(written, ['peer^1', 'local=1', 'peer^0', 'local=0']);
    assert.deepEqual(records[0]?.steps.map((x) => `${x.step} ${x.ok}`),
      ['lift true', 'hold-out true', 'fence false', 'wait-writable true', 'lower true', 'release true', 'wait-replicating true']);
  });

  it('when a weight cannot be written then every node held out so far is released, the one whose write failed too (it may have landed)', async () => {
    const { ports, written } = pairPorts({ writable: () => false });
    let refused = false;
    await assert.rejects(executeSwitchover(go(), run, { ...ports, setTrackFile: async (on, file, v, s) => {
      if (file === WEIGHT_FILE && on === 'peer' && v === 1 && !refused) {
        refused = true;
        throw new AppError('SSH_FAILED', 'SFTP write refused');
      }
      return ports.setTrackFile(on, file, v, s);
    } }, signal), fails('SSH_FAILED', /SFTP write refused/));
    assert.deepEqual(written, ['peer^1', 'local=1', 'fence local', 'peer^0', 'local=0', 'peer=0']);
  });

  it('when a plan is bounded then its budget is its longest branch: every wait and step on it', () => {
    // lift, hold-out, fence, wait-writable, lower, then the rollback: explain, hold-out, wait-out, compare, release, wait-writable, release, wait-replicating.
    assert.equal(switchoverBudgetMs(go().plan, 100), 100 + 100 + 100 + 2000 + 100 + (100 + 100 + 2000 + 100 + (100 + 2000 + (100 + 2000))));
  });
});

describe('undoOnExit', () => {
  it('when a node was held out and not released, or lifted and not lowered, then that is what is undone', () => {
    assert.deepEqual(undoOnExit([
      { kind: 'lift', on: 'peer', node: 'db2' }, { kind: 'hold-out', on: 'local', node: 'db1' }, { kind: 'lower', on: 'peer', node: 'db2' },
      { kind: 'hold-out', on: 'peer', node: 'db2' }, { kind: 'lift', on: 'local', node: 'db1' }, { kind: 'release', on: 'local', node: 'db1', becomes: 'master' },
    ]).map((s) => `${s.kind} ${s.node}`), ['release db2', 'lower db1']);
  });
});
