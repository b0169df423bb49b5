import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfig, type Config } from '../../../src/config/schema.js';
import { renderPlan, trace, type Facts, type Plan, type Step } from '../../../src/failover/plan.js';
import { planDemotion, planFenceAndRecord, planPromotion, type PeerView } from '../../../src/failover/plans.js';
import type { ServerState } from '../../../src/failover/server-state.js';
import type { TailOutcome } from '../../../src/failover/tail-recovery.js';
import { dialectFromAnswers, type Dialect, type ServerAnswers } from '../../../src/mysql/dialect.js';
import { showStatement, type ReplicaStatus } from '../../../src/mysql/queries.js';

// The decision logic of MASTER, BACKUP and STOP/FAULT, read off the pure plans over a table of situations:
// dialects (recorded server answers) × GTID on/off × what became of the old master × replica lagging or not.

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/mysql-recorded/', import.meta.url));
const answers = (name: string): ServerAnswers => (JSON.parse(readFileSync(`${FIXTURES}${name}.json`, 'utf8')) as { answers: ServerAnswers }).answers;

interface DialectCase {
  readonly label: string;
  readonly d: Dialect;
  /** The replica's Using_Gtid (MariaDB) — 'No' is a MariaDB pair replicating by file/position. */
  readonly usingGtid: string;
  readonly gtidOn: boolean;
}

const mysql57Off = answers('mysql-5.7.44');
const DIALECTS: readonly DialectCase[] = [
  { label: 'MariaDB 10.11, slave_pos', d: dialectFromAnswers(answers('mariadb-10.11')), usingGtid: 'Slave_Pos', gtidOn: true },
  { label: 'MariaDB 10.11, file/position', d: dialectFromAnswers(answers('mariadb-10.11')), usingGtid: 'No', gtidOn: false },
  { label: 'MySQL 5.7.44, gtid_mode=ON', d: dialectFromAnswers(mysql57Off), usingGtid: '', gtidOn: true },
  // The recorded 5.7 answers with gtid_mode switched off (the one variable that changes).
  { label: 'MySQL 5.7.44, gtid_mode=OFF', d: dialectFromAnswers({ ...mysql57Off, variables: { ...mysql57Off.variables, gtid_mode: 'OFF' } }), usingGtid: '', gtidOn: false },
  { label: 'MySQL 8.4.3, gtid_mode=ON', d: dialectFromAnswers(answers('mysql-8.4.3')), usingGtid: '', gtidOn: true },
  { label: 'MySQL 9.1.0, gtid_mode=OFF', d: dialectFromAnswers(answers('mysql-9.1.0-gtid-off-no-semisync')), usingGtid: '', gtidOn: false },
];

const configWith = (onCatchUpTimeout: 'refuse' | 'promote'): Config => parseConfig({
  node: { name: 'db-b' },
  mysql: { user: 'keepalived', password: 'k' },
  replication: { user: 'repl', password: 'r-secret' },
  peer: { name: 'db-a', host: '10.0.0.1', ssh: { hostKeySha256: `SHA256:${'A'.repeat(43)}` } },
  paths: {},
  check: { gateway: { host: '10.0.0.254' } },
  notify: { catchUpTimeoutMs: 2000, onCatchUpTimeout },
}, { configReadableByOthers: false, readPasswordFile: () => 'x' });

const replica = (c: DialectCase, o: Partial<ReplicaStatus> = {}): ReplicaStatus => ({
  sourceHost: '10.0.0.1', sourcePort: 3306, ioRunning: 'Yes', sqlRunning: 'Yes', sourceLogFile: 'bin.000009', readSourceLogPos: 900,
  relaySourceLogFile: 'bin.000009', execSourceLogPos: 900, lastIoError: '', lastSqlError: '', usingGtid: c.usingGtid,
  receivedGtids: c.gtidOn ? (c.d.gtid === 'mariadb' ? '0-1-10' : 'uuid-a:1-10') : '', secondsBehind: 0, ...o,
});

const state = (o: Partial<ServerState> = {}): ServerState => ({ readOnly: true, serverId: 2, binlog: { file: 'bin.000004', pos: 157 }, ...o });

/** What became of the old master: its MySQL's answer before the plan, and the facts its steps produce. */
interface OldMasterCase {
  readonly label: string;
  readonly peer: (c: DialectCase) => PeerView;
  readonly facts: Facts;
}

const tail = (kind: TailOutcome['kind']): TailOutcome =>
  kind === 'gap' ? { kind, detail: '1 transaction(s) at bin.000009:900-1400 missing here', operatorHint: 'mysqlbinlog …' } : { kind, detail: kind };

const OLD_MASTER: readonly OldMasterCase[] = [
  { label: 'fenced', peer: (c) => ({ kind: 'answered', dialect: c.d, state: state({ readOnly: false, logBinIndex: '/var/lib/mysql/bin.index' }) }),
    facts: { oldMasterFenced: true, oldMasterGtids: '0-1-10' } },
  { label: 'answers but its fence failed', peer: (c) => ({ kind: 'answered', dialect: c.d, state: state({ readOnly: false }) }),
    facts: { oldMasterFenced: false, tail: tail('complete') } },
  { label: 'MySQL unreachable, binlog tail read over SSH: complete', peer: () => ({ kind: 'unreachable', reason: 'ECONNREFUSED' }), facts: { tail: tail('complete') } },
  { label: 'MySQL unreachable, binlog tail holds a gap', peer: () => ({ kind: 'unreachable', reason: 'ECONNREFUSED' }), facts: { tail: tail('gap') } },
  { label: 'host down (no MySQL, no SSH)', peer: () => ({ kind: 'unreachable', reason: 'ETIMEDOUT' }), facts: { tail: tail('unknown') } },
];

const names = (steps: readonly Step[]): string[] => steps.map((s) => s.name);
const sqlOf = (steps: readonly Step[], name: string): string[] =>
  steps.filter((s): s is Extract<Step, { kind: 'sql' }> => s.kind === 'sql' && s.name === name).flatMap((s) => s.statements.map(showStatement));

describe('MASTER plans over dialects × GTID on/off × old master × lagging', () => {
  for (const c of DIALECTS) {
    for (const om of OLD_MASTER) {
      for (const lagging of [false, true]) {
        for (const policy of ['refuse', 'promote'] as const) {
          it(`when ${c.label}, old master ${om.label}, replica ${lagging ? 'lagging' : 'caught up'}, onCatchUpTimeout=${policy} then the plan follows the rules`, () => {
            const config = configWith(policy);
            const plan = planPromotion(config, { dialect: c.d, state: state({ replica: replica(c) }) }, om.peer(c));
            const facts: Facts = { ...om.facts, catchUp: { caughtUp: !lagging, target: 'x', detail: 'y' }, atStop: { replica: replica(c), state: state() } };
            const { steps, fails } = trace(plan, facts);
            const ran = names(steps);
            const fenced = om.facts.oldMasterFenced === true;
            const catchUp = steps.find((s): s is Extract<Step, { kind: 'catch-up' }> => s.kind === 'catch-up');

            // The old master is fenced first whenever it answers.
            assert.equal(ran[0] === 'fence-old-master', om.peer(c).kind === 'answered');
            // What the catch-up waits for: GTIDs (the fenced old master's, else what was received) or relay positions.
            assert.deepEqual(catchUp?.target, !c.gtidOn ? { kind: 'relay' } : fenced ? { kind: 'old-master-gtids' } : { kind: 'gtids', gtids: replica(c).receivedGtids });
            const refusedAtCatchUp = policy === 'refuse' && lagging;
            // An old master that was not fenced is never reconnected to; its IO thread is killed; its tail is read before writes open.
            assert.equal(ran.includes('start-io-thread'), false, 'the IO thread was running');
            assert.equal(ran.includes('kill-io-thread'), !fenced && !refusedAtCatchUp);
            assert.equal(ran.includes('connect-old-master-ssh'), !fenced);
            assert.equal(ran.includes('recover-tail'), !fenced && !lagging);
            assert.equal(ran.includes('compare-old-master-tail'), fenced && !fails);

            const refused = policy === 'refuse' && (lagging || (!fenced && om.facts.tail?.kind === 'gap'));
            assert.equal(fails?.code, refused ? 'PROMOTION_REFUSED' : undefined);
            assert.equal(ran.includes('open-writes'), !refused);
            if (refused) {
              assert.deepEqual(ran.slice(-2), ['stay-fenced', 'record-position']);
              assert.equal(ran.includes('detach-replication'), false, 'a refused promotion keeps its replication coordinates');
            } else {
              assert.ok(ran.indexOf('detach-replication') > ran.indexOf('stop-replication'));
              assert.ok(ran.indexOf('open-writes') < ran.indexOf('record-position'));
              // super_read_only must be cleared before read_only on MySQL; MariaDB has read_only only.
              assert.deepEqual(sqlOf(steps, 'open-writes'), c.d.superReadOnly
                ? ['SET GLOBAL super_read_only = 0', 'SET GLOBAL read_only = 0'] : ['SET GLOBAL read_only = 0']);
            }
          });
        }
      }
    }
  }

  it('when GTIDs are off and the old master was fenced then it takes the fenced path: IO thread restarted, no kill, no tail recovery', () => {
    const c = DIALECTS.find((x) => x.label === 'MySQL 9.1.0, gtid_mode=OFF') as DialectCase;
    const config = configWith('refuse');
    const plan = planPromotion(config, { dialect: c.d, state: state({ replica: replica(c, { ioRunning: 'No' }) }) }, OLD_MASTER[0]!.peer(c));
    const { steps, fails } = trace(plan, { oldMasterFenced: true, catchUp: { caughtUp: true, target: 'bin.000009:900', detail: 'relay log applied' } });
    assert.equal(fails, undefined);
    assert.deepEqual(names(steps), [
      'fence-old-master', 'start-io-thread', 'catch-up', 'stop-replication', 'read-at-stop', 'detach-replication',
      'durable-commits', 'semi-sync-master', 'open-writes', 'record-position', 'compare-old-master-tail',
    ]);
    assert.deepEqual(sqlOf(steps, 'start-io-thread'), ['START REPLICA IO_THREAD']);
  });

  it('when the IO thread is still Connecting (refused at boot, sleeping out its retry) then it is restarted, not waited on', () => {
    const c = DIALECTS[0]!;
    const plan = planPromotion(configWith('refuse'), { dialect: c.d, state: state({ replica: replica(c, { ioRunning: 'Connecting' }) }) }, OLD_MASTER[0]!.peer(c));
    const { steps } = trace(plan, { oldMasterFenced: true, catchUp: { caughtUp: true, target: 'x', detail: 'ok' } });
    const io = sqlOf(steps, 'start-io-thread');
    assert.equal(io.length, 2);
    assert.match(io[0] ?? '', /^STOP (SLAVE|REPLICA) IO_THREAD$/);
    assert.match(io[1] ?? '', /^START (SLAVE|REPLICA) IO_THREAD$/);
  });

  it('when the same GTID-off old master could not be fenced then it is never reconnected to and its tail is recovered first', () => {
    const c = DIALECTS.find((x) => x.label === 'MySQL 9.1.0, gtid_mode=OFF') as DialectCase;
    const plan = planPromotion(configWith('refuse'), { dialect: c.d, state: state({ replica: replica(c, { ioRunning: 'No' }) }) }, OLD_MASTER[0]!.peer(c));
    const { steps } = trace(plan, { oldMasterFenced: false, catchUp: { caughtUp: true, target: '', detail: '' }, tail: tail('complete') });
    assert.deepEqual(names(steps), [
      'fence-old-master', 'connect-old-master-ssh', 'catch-up', 'kill-io-thread', 'stop-replication', 'read-at-stop', 'recover-tail',
      'detach-replication', 'durable-commits', 'semi-sync-master', 'open-writes', 'record-position',
    ]);
  });

  it('when the IO thread killed off a silent source is still exiting then writes open before STOP and the detach, and nothing waits for it', () => {
    const c = DIALECTS[0]!;
    const plan = planPromotion(configWith('refuse'), { dialect: c.d, state: state({ replica: replica(c, { ioRunning: 'Connecting' }) }), ioThreadExiting: true },
      { kind: 'unreachable', reason: 'silent', hostSilent: true });
    const { steps, fails } = trace(plan, { catchUp: { caughtUp: true, target: '0-1-10', detail: 'server wait returned 0' } });
    assert.equal(fails, undefined);
    assert.deepEqual(names(steps), [
      'catch-up', 'kill-sql-thread', 'read-at-stop', 'durable-commits', 'semi-sync-master', 'open-writes', 'record-position',
      'stop-replication', 'detach-replication',
    ]);
    assert.equal(steps.find((s): s is Extract<Step, { kind: 'read-at-stop' }> => s.kind === 'read-at-stop')?.ioThread, 'killed', 'it refuses only an IO thread running un-killed');
    // Off a lagging replica it refuses as ever, read-only, before anything stops the SQL thread.
    const lagging = trace(plan, { catchUp: { caughtUp: false, target: '0-1-10', detail: 'server wait returned 1' } });
    assert.equal(lagging.fails?.code, 'PROMOTION_REFUSED');
    assert.deepEqual(names(lagging.steps), ['catch-up', 'stay-fenced', 'record-position']);
    // A stopped SQL thread must START first, and START waits for the IO thread's exit too: the usual order then.
    const sqlStopped = planPromotion(configWith('refuse'), { dialect: c.d, state: state({ replica: replica(c, { ioRunning: 'Connecting', sqlRunning: 'No' }) }), ioThreadExiting: true },
      { kind: 'unreachable', reason: 'silent', hostSilent: true });
    assert.deepEqual(names(trace(sqlStopped, { catchUp: { caughtUp: true, target: '0-1-10', detail: '' } }).steps).slice(0, 4),
      ['start-sql-thread', 'catch-up', 'kill-io-thread', 'stop-replication']);
  });

  it('when no replication is configured then the promotion only re-asserts master settings (idempotent re-run)', () => {
    const c = DIALECTS[0]!;
    const { steps } = trace(planPromotion(configWith('refuse'), { dialect: c.d, state: state() }, { kind: 'not-asked' }), {});
    assert.deepEqual(names(steps), ['durable-commits', 'semi-sync-master', 'open-writes', 'record-position']);
  });
});

describe('BACKUP plans', () => {
  const known: Facts = { peerAnswered: true, newMaster: { source: 'peer-mysql', binlog: { file: 'bin.000002', pos: 4 } }, local: state() };

  for (const c of DIALECTS) {
    it(`when ${c.label} rejoins a clean new master then it fences first, checks errant GTIDs when it can, and starts replication`, () => {
      const { steps, fails } = trace(planDemotion(configWith('refuse'), c.d), {
        ...known, errant: { errant: [], unproven: [] }, replication: replica(c),
      });
      const ran = names(steps);
      assert.equal(fails, undefined);
      assert.equal(ran[0], 'fence-local');
      // MySQL with gtid_mode=OFF has no GTIDs to compare; a MariaDB server always has them.
      assert.equal(ran.includes('errant-check'), c.d.gtid !== 'none');
      assert.equal(ran.includes('set-gtid-slave-pos'), c.d.gtid === 'mariadb');
      const cs = steps.find((s): s is Extract<Step, { kind: 'change-source' }> => s.kind === 'change-source');
      assert.equal(cs?.byGtid, c.d.gtid !== 'none');
      assert.ok(ran.indexOf('semi-sync-replica') < ran.indexOf('start-replication'), 'semi-sync replica on before the IO thread starts');
      assert.deepEqual(ran.slice(-2), ['verify-replication', 'record-position']);
    });
  }

  it('when the new master lacks GTIDs this node has then it stays fenced, records that, and never configures replication', () => {
    const c = DIALECTS[0]!;
    const { steps, fails } = trace(planDemotion(configWith('refuse'), c.d), { ...known, errant: { errant: ['0-1-11..0-1-12'], unproven: [] } });
    assert.equal(fails?.code, 'ERRANT_TRANSACTIONS');
    assert.match(fails?.message ?? '', /0-1-11\.\.0-1-12/);
    assert.deepEqual(names(steps), ['fence-local', 'read-local', 'reach-new-master', 'wait-peer-writable', 'errant-check', 'record-position']);
  });

  it("when neither the new master's MySQL nor its position.json answer then it stays fenced with that error", () => {
    const c = DIALECTS[4]!;
    const { steps, fails } = trace(planDemotion(configWith('refuse'), c.d), { peerAnswered: false, local: state() });
    assert.equal(fails?.code, 'PEER_UNREACHABLE');
    assert.deepEqual(names(steps), ['fence-local', 'read-local', 'reach-new-master', 'read-peer-position-record', 'record-position']);
  });

  it('when replication is configured but the IO thread cannot connect then it ends PEER_UNREACHABLE (it keeps retrying)', () => {
    const c = DIALECTS[4]!;
    const { fails } = trace(planDemotion(configWith('refuse'), c.d), {
      ...known, errant: { errant: [], unproven: [] }, replication: replica(c, { ioRunning: 'Connecting', lastIoError: 'refused' }),
    });
    assert.equal(fails?.code, 'PEER_UNREACHABLE');
    assert.match(fails?.message ?? '', /IO thread Connecting \(refused\)/);
  });

  it('when already replicating from the new master then its position is kept but the configured timers and semi-sync are re-applied', () => {
    const c = DIALECTS[4]!;
    const { steps } = trace(planDemotion(configWith('refuse'), c.d), {
      ...known, replicatingFromNewMaster: true, errant: { errant: [], unproven: [] }, replication: replica(c),
    });
    assert.deepEqual(sqlOf(steps, 'change-source-timers'), ['CHANGE REPLICATION SOURCE TO SOURCE_CONNECT_RETRY = 1, SOURCE_HEARTBEAT_PERIOD = 1']);
    assert.deepEqual(names(steps).filter((n) => /replication|source/.test(n)), ['stop-replication', 'change-source-timers', 'start-replication', 'verify-replication']);
    assert.equal(names(steps).includes('change-source'), false);
  });
});

describe('STOP / FAULT plans and the dry-run print', () => {
  it('when STOP is planned then the local server is fenced (sessions killed around it) and its position recorded', () => {
    const d = DIALECTS[4]!.d;
    const plan = planFenceAndRecord(configWith('refuse'), d, 'stopped');
    assert.deepEqual(names(trace(plan, {}).steps), ['fence-local', 'record-position']);
    assert.deepEqual(renderPlan(plan), [
      '  [fence-local] local: KILL each client session (process list; keeps replication, system and toolkit accounts)',
      '  [fence-local] local: SET SESSION lock_wait_timeout = 1 (waits up to 5000 ms)',
      '  [fence-local] local: SET GLOBAL super_read_only = 1 (waits up to 5000 ms)',
      '  [fence-local] local: SET GLOBAL read_only = 1 (waits up to 5000 ms)',
      '  [fence-local] local: on a lock wait timeout (a commit that began after the kill), KILL again and retry, up to 5000 ms',
      '  [fence-local] local: KILL client sessions that connected meanwhile',
      '  [record-position] write position.json (role stopped)',
    ]);
  });

  it('when a MASTER plan has decision points then the print shows both branches of each, and the password never', () => {
    const c = DIALECTS[0]!;
    const plan: Plan = planPromotion(configWith('refuse'), { dialect: c.d, state: state({ replica: replica(c) }) }, OLD_MASTER[0]!.peer(c));
    const text = renderPlan(plan).join('\n');
    assert.match(text, /decide: was the old master fenced\?\n\s+yes:/);
    assert.equal((text.match(/decide: did the replica apply everything within the catch-up timeout\?/g) ?? []).length, 3,
      'catch-up decided on both paths, and tail recovery only after a full catch-up on the unfenced one');
    assert.match(text, /stop: onCatchUpTimeout=refuse: stay read-only \(PROMOTION_REFUSED\)/);
    const backup = renderPlan(planDemotion(configWith('refuse'), c.d)).join('\n');
    assert.match(backup, /\[change-source\] local: CHANGE MASTER TO MASTER_HOST = '10\.0\.0\.1', .*MASTER_PASSWORD = '\*\*\*'/);
    assert.equal(backup.includes('r-secret'), false);
  });
});
