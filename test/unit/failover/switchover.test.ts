import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  decideSwitchover, executeSwitchover, renderSwitchover, type NodeReading, type Side, type SwitchoverReading,
} from '../../../src/failover/switchover.js';
import type { TransitionRecord } from '../../../src/history/transitions.js';
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
  it('when the replica is ready then the master is held out, the target awaited writable, the master released and awaited replicating', () => {
    const d = decideSwitchover(reading(), bounds);
    assert.equal(d.kind, 'go');
    if (d.kind !== 'go') return;
    assert.deepEqual([d.master, d.target], ['local', 'peer']);
    assert.deepEqual(d.steps.map((s) => `${s.kind}@${s.on}`), ['hold-out@local', 'wait-writable@peer', 'release@local', 'wait-replicating@local']);
  });

  it("when notify's lock on the peer is older than its staleness (its holder died) and every request is handled then that is no transition", () => {
    assert.equal(decideSwitchover(reading({ peer: { notify: { ...idle, lockAgeMs: 60_000 } } }), bounds).kind, 'go');
  });

  it('when run on the replica then the same plan holds the peer out', () => {
    const d = decideSwitchover(reading({ local: { mysql: replica }, peer: { mysql: master }, errant: { localOnly: [], peerOnly: [], unproven: [], method: 't' } }),
      { ...bounds, waitReplicating: false });
    assert.equal(d.kind, 'go');
    if (d.kind === 'go') assert.deepEqual(d.steps.map((s) => `${s.kind}@${s.on}`), ['hold-out@peer', 'wait-writable@local', 'release@peer']);
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

describe('executeSwitchover', () => {
  const go = (): Extract<ReturnType<typeof decideSwitchover>, { kind: 'go' }> => {
    const d = decideSwitchover(reading(), { ...bounds, waitMs: 1000 });
    assert.equal(d.kind, 'go');
    return d as Extract<typeof d, { kind: 'go' }>;
  };

  it('when the target becomes writable then the master is released and the history holds every step', async () => {
    const weights: string[] = [];
    const records: TransitionRecord[] = [];
    let reads = 0;
    await executeSwitchover(go(), { id: 't1', node: 'db1' }, {
      clock: fakeClock(), log: createMemoryLogger(),
      readMysql: async (on: Side) => (on === 'peer' ? (++reads > 2 ? master : replica) : replica),
      setWeight: async (on, v) => void weights.push(`${on}=${v}`),
      record: (r) => void records.push(r),
    }, new AbortController().signal);
    assert.deepEqual(weights, ['local=1', 'local=0']);
    assert.equal(records[0]?.outcome, 'done');
    assert.deepEqual(records[0]?.steps.map((s) => s.step), ['hold-out', 'wait-writable', 'release', 'wait-replicating']);
  });

  it('when the target never becomes writable then the master is still released and the deadline is the error', async () => {
    const weights: string[] = [];
    const records: TransitionRecord[] = [];
    await assert.rejects(executeSwitchover(go(), { id: 't2', node: 'db1' }, {
      clock: fakeClock(), log: createMemoryLogger(),
      readMysql: async () => replica,
      setWeight: async (on, v) => void weights.push(`${on}=${v}`),
      record: (r) => void records.push(r),
    }, new AbortController().signal), (e: unknown) => e instanceof AppError && e.code === 'DEADLINE_EXCEEDED');
    assert.deepEqual(weights, ['local=1', 'local=0']);
    assert.equal(records[0]?.outcome, 'failed');
    assert.equal(records[0]?.exitCode, 75);
  });
});
