import assert from 'node:assert/strict';
import { AppError } from '../../../src/errors.js';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfig, type Config } from '../../../src/config/schema.js';
import { handleTransition } from '../../../src/failover/handle.js';
import type { PositionRecord } from '../../../src/failover/position-record.js';
import { systemClock } from '../../../src/platform/clock.js';
import { StepRunner, type FailoverPorts, type TransitionContext } from '../../../src/failover/steps.js';
import type { AsyncSwitchRecord, NodeStateFiles, TermRecord } from '../../../src/state/files.js';
import { createMemoryLogger } from '../../../src/log/stderr-logger.js';
import type { BinlogApplier, BinlogChunk, MysqlTarget, Row, SqlClient, SqlConnector } from '../../../src/mysql/types.js';
import type { BinlogTail, PeerFilesConnector, WitnessConnector } from '../../../src/ssh/types.js';
import { PassThrough } from 'node:stream';

// MySQL 8.4 as its transcribed answers describe it (no MySQL server is reachable here): the executors are
// checked for the statements they send, in order, over a scripted SqlClient literal.
const MYSQL84 = JSON.parse(readFileSync(fileURLToPath(new URL('../../../../test/fixtures/mysql-recorded/mysql-8.4.3.json', import.meta.url)), 'utf8')) as {
  answers: { version: string; versionComment: string; variables: Record<string, string> };
};

const config: Config = parseConfig({
  node: { name: 'db-b' },
  mysql: { port: 3307, user: 'keepalived', password: 'k' },
  replication: { user: 'repl', password: 'r-secret' },
  peer: { name: 'db-a', host: '10.0.0.1', ssh: { hostKeySha256: `SHA256:${'A'.repeat(43)}` } },
  paths: {},
  check: { retries: 0, deadlineMs: 60_000, gateway: { host: '10.0.0.254' } },
  notify: { catchUpTimeoutMs: 2000, deadlineMs: 20_000 },
}, { configReadableByOthers: false, readPasswordFile: () => 'x' });

interface ScriptedServer {
  executed: string[];
  /** How many fences still time out waiting for a commit lock (ER_LOCK_WAIT_TIMEOUT), as behind a commit that began after the kill. */
  lockWaits?: number;
  waits: unknown[][];
  replica: Row | undefined;
  answer(sql: string, params: readonly unknown[]): Row[];
}

function mysql84Server(o: { readOnly: number; replica: Row | undefined; executed: string; subtract?: string; variables?: Record<string, string> }): ScriptedServer {
  const variables = { ...MYSQL84.answers.variables, ...o.variables };
  const s: ScriptedServer = {
    executed: [],
    waits: [],
    replica: o.replica,
    answer(sql, params) {
      if (sql.startsWith('SELECT VERSION()')) return [{ version: MYSQL84.answers.version, versionComment: MYSQL84.answers.versionComment }];
      if (sql.startsWith('SHOW GLOBAL VARIABLES')) {
        return Object.entries(variables).filter(([k]) => params.includes(k)).map(([k, v]) => ({ Variable_name: k, Value: v }));
      }
      if (sql === 'SELECT @@GLOBAL.read_only AS ro') return [{ ro: o.readOnly }];
      if (sql.startsWith('SELECT @@GLOBAL.read_only')) return [{ readOnly: o.readOnly, superReadOnly: o.readOnly, logBinIndex: '/var/lib/mysql/binlog.index', serverId: 2 }];
      if (sql === 'SHOW REPLICA STATUS') return s.replica ? [s.replica] : [];
      if (sql === 'SHOW BINARY LOG STATUS') return [{ File: 'binlog.000004', Position: 157, Executed_Gtid_Set: o.executed }];
      if (sql.startsWith('SELECT @@GLOBAL.gtid_executed')) return [{ executed: o.executed, purged: '' }];
      if (sql.startsWith('SELECT WAIT_FOR_EXECUTED_GTID_SET')) {
        s.waits.push([...params]);
        return [{ result: 0 }];
      }
      if (sql.startsWith('SELECT GTID_SUBTRACT')) return [{ errant: o.subtract ?? '' }];
      if (sql.startsWith('SELECT PROCESSLIST_ID AS id FROM performance_schema.threads')) return [{ id: 77 }];
      if (sql.startsWith('SELECT ID AS id')) return [{ id: 50, user: 'app', command: 'Sleep' }, { id: 51, user: 'repl', command: 'Binlog Dump GTID' }];
      throw new Error(`unscripted query: ${sql}`);
    },
  };
  return s;
}

function connectorFor(servers: Record<number, ScriptedServer | 'refused'>): SqlConnector {
  return {
    async connect(target: MysqlTarget): Promise<SqlClient> {
      const server = servers[target.port];
      if (server === undefined || server === 'refused') throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return {
        threadId: 9,
        query: async <T extends Row>(sql: string, params?: readonly unknown[]) => server.answer(sql, params ?? []) as T[],
        ping: async () => {},
        execute: async (sql: string, params?: readonly unknown[]) => {
          server.executed.push(params && params.length > 0 ? `${sql} ${JSON.stringify(params)}` : sql);
          if (sql === 'SET GLOBAL super_read_only = 1' && (server.lockWaits ?? 0) > 0) {
            server.lockWaits = (server.lockWaits ?? 0) - 1;
            throw Object.assign(new Error('Lock wait timeout exceeded; try restarting transaction'), { errno: 1205 });
          }
          if (sql === 'STOP REPLICA' && server.replica) server.replica = { ...server.replica, Replica_IO_Running: 'No', Replica_SQL_Running: 'No' };
          if (sql === 'RESET REPLICA ALL') server.replica = undefined;
          return { affectedRows: 0 };
        },
        close: () => {},
      };
    },
  };
}

// This node's state files in memory: no test writes the machine's /var/lib.
function memoryState(): NodeStateFiles & { terms: TermRecord[]; switches: AsyncSwitchRecord[] } {
  const terms: TermRecord[] = [];
  const switches: AsyncSwitchRecord[] = [];
  return {
    terms, switches,
    term: () => terms.at(-1),
    writeTerm: async (t) => void terms.push(t),
    stepDown: () => undefined,
    clearStepDown: () => undefined,
    recordAsyncSwitch: (r) => void switches.push(r),
  };
}

function context(sql: SqlConnector, positions: PositionRecord[]): TransitionContext {
  const ports: FailoverPorts = {
    sql, log: createMemoryLogger(),
    clock: systemClock,
    // No test here reaches a network: the peer's host gives no TCP answer unless a test says so.
    tcpAnswer: async () => 'silent',
    writePosition: async (r) => void positions.push(r),
    recordStartupRole: async () => undefined,
    healErrant: async () => { throw new AppError('ERRANT_TRANSACTIONS', 'no automatic heal in these scripted tests'); },
    state: memoryState(),
  };
  return { config, ports, transitionId: 't-1', steps: new StepRunner(ports) };
}

const runningReplica: Row = {
  Source_Host: '10.0.0.1', Source_Port: 3306, Replica_IO_Running: 'Yes', Replica_SQL_Running: 'Yes',
  Source_Log_File: 'binlog.000009', Read_Source_Log_Pos: 900, Relay_Source_Log_File: 'binlog.000009', Exec_Source_Log_Pos: 900,
  Last_IO_Error: '', Last_SQL_Error: '', Auto_Position: 1, Retrieved_Gtid_Set: 'uuid-a:1-10', Seconds_Behind_Source: 0,
};

describe('promotion and demotion on MySQL 8.4 (transcribed answers, scripted client)', () => {
  it('when MASTER runs with the old master unreachable then it waits on Retrieved_Gtid_Set and opens writes with 8.4 statements', async () => {
    const local = mysql84Server({ readOnly: 1, replica: runningReplica, executed: 'uuid-a:1-10' });
    const positions: PositionRecord[] = [];
    await handleTransition('MASTER', context(connectorFor({ 3306: 'refused', 3307: local }), positions), AbortSignal.timeout(5000));
    assert.deepEqual(local.waits, [['uuid-a:1-10', 2]]);
    assert.deepEqual(local.executed, [
      'STOP REPLICA SQL_THREAD', 'KILL CONNECTION ? [77]', 'STOP REPLICA', 'RESET REPLICA ALL',
      'SET GLOBAL sync_binlog = 1', 'SET GLOBAL innodb_flush_log_at_trx_commit = 1',
      'SET GLOBAL rpl_semi_sync_source_enabled = 0', 'SET GLOBAL rpl_semi_sync_replica_enabled = 0',
      'SET GLOBAL super_read_only = 0', 'SET GLOBAL read_only = 0',
    ]);
    assert.deepEqual([positions[0]?.role, positions[0]?.binlogFile, positions[0]?.gtidBinlogPos], ['master', 'binlog.000004', 'uuid-a:1-10']);
  });

  it('when BACKUP waits for a still read-only peer and a newer request arrives then it ends at once, fenced, without rejoining', async () => {
    const local = mysql84Server({ readOnly: 0, replica: undefined, executed: 'uuid-a:1-10' });
    const peer = mysql84Server({ readOnly: 1, replica: undefined, executed: 'uuid-a:1-10' });
    const ctx = context(connectorFor({ 3306: peer, 3307: local }), []);
    let polls = 0;
    const ports = { ...ctx.ports, newerRequestPending: async () => ++polls >= 3 };
    await assert.rejects(handleTransition('BACKUP', { ...ctx, ports, steps: new StepRunner(ports) }, AbortSignal.timeout(5000)),
      (err: Error & { code?: string }) => err.code === 'SUPERSEDED');
    assert.equal(polls, 3);
    assert.ok(local.executed.includes('SET GLOBAL read_only = 1'), 'fenced first');
    assert.equal(local.executed.some((q) => q.startsWith('CHANGE REPLICATION SOURCE TO')), false, 'never pointed at a read-only peer');
    assert.deepEqual(peer.executed, []);
  });

  it('when BACKUP finds GTIDs the new master lacks (GTID_SUBTRACT) then it stays fenced and never configures replication', async () => {
    const local = mysql84Server({ readOnly: 0, replica: undefined, executed: 'uuid-a:1-12', subtract: 'uuid-a:11-12' });
    const peer = mysql84Server({ readOnly: 0, replica: undefined, executed: 'uuid-a:1-10' });
    const ctx = context(connectorFor({ 3306: peer, 3307: local }), []);
    await assert.rejects(handleTransition('BACKUP', ctx, AbortSignal.timeout(5000)),
      (err: Error & { code?: string }) => err.code === 'ERRANT_TRANSACTIONS' && err.message.includes('uuid-a:11-12'));
    // Kill first (a commit waiting for a semi-sync ack would block the fence), fence, then kill late arrivals.
    assert.deepEqual(local.executed,
      ['KILL CONNECTION ? [50]', 'SET SESSION lock_wait_timeout = ? [1]', 'SET GLOBAL super_read_only = 1', 'SET GLOBAL read_only = 1', 'KILL CONNECTION ? [50]']);
    assert.deepEqual(peer.executed, []);
  });

  it('when a commit begins between the kill and the fence then the fence kills again and retries instead of waiting it out', async () => {
    const local = mysql84Server({ readOnly: 0, replica: undefined, executed: 'uuid-a:1-12', subtract: 'uuid-a:11-12' });
    local.lockWaits = 1;
    const peer = mysql84Server({ readOnly: 0, replica: undefined, executed: 'uuid-a:1-10' });
    const ctx = context(connectorFor({ 3306: peer, 3307: local }), []);
    await assert.rejects(handleTransition('BACKUP', ctx, AbortSignal.timeout(5000)), (err: Error & { code?: string }) => err.code === 'ERRANT_TRANSACTIONS');
    const tryFence = ['KILL CONNECTION ? [50]', 'SET SESSION lock_wait_timeout = ? [1]', 'SET GLOBAL super_read_only = 1'];
    assert.deepEqual(local.executed, [...tryFence, ...tryFence, 'SET GLOBAL read_only = 1', 'KILL CONNECTION ? [50]']);
  });

  it('when BACKUP is clean then replication uses CHANGE REPLICATION SOURCE TO with auto-position and semi-sync replica on before START', async () => {
    const local = mysql84Server({ readOnly: 0, replica: undefined, executed: 'uuid-a:1-10' });
    const peer = mysql84Server({ readOnly: 0, replica: undefined, executed: 'uuid-a:1-10' });
    const sql = connectorFor({ 3306: peer, 3307: local });
    const positions: PositionRecord[] = [];
    const ctx = context(sql, positions);
    // A scripted server has no IO thread to come up: stop as soon as START REPLICA was sent.
    const ac = new AbortController();
    const origExecute = sql.connect.bind(sql);
    const watching: SqlConnector = { connect: async (t, s) => {
      const c = await origExecute(t, s);
      return { ...c, execute: async (q, p, o) => { const r = await c.execute(q, p, o); if (q === 'START REPLICA') ac.abort(); return r; } };
    } };
    await handleTransition('BACKUP', { ...ctx, ports: { ...ctx.ports, sql: watching } }, ac.signal)
      .catch(() => undefined);
    const change = local.executed.find((s) => s.startsWith('CHANGE REPLICATION SOURCE TO')) ?? '';
    assert.match(change, /SOURCE_AUTO_POSITION = 1, GET_SOURCE_PUBLIC_KEY = 1 \["10\.0\.0\.1",3306,"repl","r-secret",1,1\]$/);
    const order = ['STOP REPLICA', 'CHANGE REPLICATION SOURCE TO', 'SET GLOBAL rpl_semi_sync_replica_enabled = 1', 'START REPLICA']
      .map((p) => local.executed.findIndex((s) => s.startsWith(p)));
    assert.ok(order.every((v, i) => v >= 0 && (i === 0 || v > (order[i - 1] ?? 0))), `order ${JSON.stringify(local.executed)}`);
  });
});

// The old master's host answers SSH: its binlog has one complete transaction after the replica's position.
function oldMasterFiles(walkedFrom = 900): PeerFilesConnector {
  const tail: BinlogTail = { file: '/var/lib/mysql/binlog.000009', endPos: 1400, tornBytes: 20, walkedFrom, formatDescriptionEnd: 126,
    lastGtid: 'uuid-a:11', groups: [{ start: 900, end: 1400, gtid: 'uuid-a:11' }] };
  return {
    connect: async () => ({
      readBinlogTail: async () => tail,
      readBinlogTails: async () => [tail],
      readBinlogRange: async (_f, from, to) => Buffer.alloc(to - from, 7),
      readPositionRecord: async () => ({ node: 'db-a', role: 'master', recordedAt: '', transitionId: 't0', binlogIndexFile: '/var/lib/mysql/binlog.index' }),
      readStateFile: async () => undefined,
      writeStateFile: async () => {},
      statStateEntry: async () => undefined,
      listStateDir: async () => undefined,
      close: () => {},
    }),
  };
}

describe("MASTER recovering the unreachable old master's binlog tail (MySQL 8.4 answers, literal SSH and applier)", () => {
  const stoppedReplica: Row = { ...runningReplica, Replica_IO_Running: 'No' };

  it('when the old master has a complete transaction the replica lacks then exactly its bytes are applied, with super_read_only off, before writes open', async () => {
    const local = mysql84Server({ readOnly: 1, replica: stoppedReplica, executed: 'uuid-a:1-10' });
    const applied: BinlogChunk[] = [];
    const binlogApplier: BinlogApplier = { apply: async (chunks) => { applied.push(...chunks); local.executed.push('<apply>'); } };
    const ctx = context(connectorFor({ 3306: 'refused', 3307: local }), []);
    await handleTransition('MASTER', { ...ctx, ports: { ...ctx.ports, peerFiles: oldMasterFiles(), binlogApplier } }, AbortSignal.timeout(5000));
    assert.deepEqual(applied.map((c) => [c.sourceFile, c.from, c.to, c.formatDescription.length, c.events.length]),
      [['/var/lib/mysql/binlog.000009', 900, 1400, 122, 500]]);
    assert.deepEqual(local.executed.slice(0, 6),
      ['STOP REPLICA SQL_THREAD', 'KILL CONNECTION ? [77]', 'STOP REPLICA', 'SET GLOBAL super_read_only = 0', '<apply>', 'RESET REPLICA ALL']);
    assert.equal(local.executed.at(-1), 'SET GLOBAL read_only = 0');
  });

  it('when applying fails and the policy is refuse then the node is fenced again, writes never open and the error names the GTIDs', async () => {
    const local = mysql84Server({ readOnly: 1, replica: stoppedReplica, executed: 'uuid-a:1-10' });
    const binlogApplier: BinlogApplier = { apply: async () => { throw new Error('mysql exit 1: ERROR 1062'); } };
    const positions: PositionRecord[] = [];
    const ctx = context(connectorFor({ 3306: 'refused', 3307: local }), positions);
    await assert.rejects(handleTransition('MASTER', { ...ctx, ports: { ...ctx.ports, peerFiles: oldMasterFiles(), binlogApplier } }, AbortSignal.timeout(5000)),
      (err: Error & { code?: string }) => err.code === 'PROMOTION_REFUSED' && /1 transaction\(s\) \(GTIDs uuid-a:11\.\.uuid-a:11\) at binlog\.000009:900-1400/.test(err.message));
    assert.ok(!local.executed.includes('SET GLOBAL read_only = 0'), JSON.stringify(local.executed));
    assert.deepEqual(local.executed.slice(-2), ['SET GLOBAL super_read_only = 1', 'SET GLOBAL read_only = 1']);
    assert.equal(positions[0]?.role, 'fenced');
  });

  it("when the replica's position is not an event start in the old master's binlog then nothing is applied and the policy refuses", async () => {
    const local = mysql84Server({ readOnly: 1, replica: stoppedReplica, executed: 'uuid-a:1-10' });
    let applies = 0;
    const binlogApplier: BinlogApplier = { apply: async () => void applies++ };
    const ctx = context(connectorFor({ 3306: 'refused', 3307: local }), []);
    await assert.rejects(handleTransition('MASTER', { ...ctx, ports: { ...ctx.ports, peerFiles: oldMasterFiles(4), binlogApplier } }, AbortSignal.timeout(5000)),
      (err: Error & { code?: string }) => err.code === 'PROMOTION_REFUSED' && /binlog\.000009:900 is not an event start.*cannot be recovered automatically/.test(err.message));
    assert.equal(applies, 0);
    assert.ok(!local.executed.includes('SET GLOBAL read_only = 0'));
  });
});

describe('MASTER with gtid_mode=OFF and an old master that answers (the 8.4 answers with gtid_mode=OFF, scripted client)', () => {
  const off = { gtid_mode: 'OFF' };
  const byPosition: Row = { ...runningReplica, Auto_Position: 0, Retrieved_Gtid_Set: '' };

  it('when the old master is fenced then the promotion takes the fenced path: no IO-thread kill, no tail recovery, SSH only after writes open', async () => {
    const local = mysql84Server({ readOnly: 1, replica: byPosition, executed: '', variables: off });
    const peer = mysql84Server({ readOnly: 0, replica: undefined, executed: '', variables: off });
    const lastStatementAtSsh: (string | undefined)[] = [];
    const files = oldMasterFiles();
    const peerFiles: PeerFilesConnector = { connect: async (h, ssh, sig) => {
      lastStatementAtSsh.push(local.executed.at(-1));
      return files.connect(h, ssh, sig);
    } };
    let applies = 0;
    const ctx = context(connectorFor({ 3306: peer, 3307: local }), []);
    await handleTransition('MASTER', { ...ctx, ports: { ...ctx.ports, peerFiles, binlogApplier: { apply: async () => void applies++ } } }, AbortSignal.timeout(5000));
    assert.deepEqual(peer.executed, ['KILL CONNECTION ? [50]', 'SET SESSION lock_wait_timeout = ? [1]', 'SET GLOBAL super_read_only = 1', 'SET GLOBAL read_only = 1', 'KILL CONNECTION ? [50]']);
    assert.deepEqual(local.executed, [
      'STOP REPLICA', 'RESET REPLICA ALL', 'SET GLOBAL sync_binlog = 1', 'SET GLOBAL innodb_flush_log_at_trx_commit = 1',
      'SET GLOBAL rpl_semi_sync_source_enabled = 0', 'SET GLOBAL rpl_semi_sync_replica_enabled = 0',
      'SET GLOBAL super_read_only = 0', 'SET GLOBAL read_only = 0',
    ]);
    assert.deepEqual(lastStatementAtSsh, ['SET GLOBAL read_only = 0'], "the fenced old master's binlog is only read for the log, after writes open");
    assert.equal(applies, 0);
  });

  it('when the old master answers but refuses the fence then the promotion takes the unfenced path: IO thread killed, tail checked first', async () => {
    const local = mysql84Server({ readOnly: 1, replica: byPosition, executed: '', variables: off });
    const peer = mysql84Server({ readOnly: 0, replica: undefined, executed: '', variables: off });
    const refusing = connectorFor({ 3306: peer, 3307: local });
    const sql: SqlConnector = { connect: async (t, s) => {
      const c = await refusing.connect(t, s);
      return t.port !== 3306 ? c : { ...c, execute: async () => { throw Object.assign(new Error('Access denied; you need SUPER'), { errno: 1227 }); } };
    } };
    const ctx = context(sql, []);
    await handleTransition('MASTER', { ...ctx, ports: { ...ctx.ports, peerFiles: oldMasterFiles(), binlogApplier: { apply: async () => void local.executed.push('<apply>') } } },
      AbortSignal.timeout(5000));
    assert.deepEqual(local.executed.slice(0, 5), ['STOP REPLICA SQL_THREAD', 'KILL CONNECTION ? [77]', 'STOP REPLICA', 'SET GLOBAL super_read_only = 0', '<apply>']);
    assert.equal(local.executed.at(-1), 'SET GLOBAL read_only = 0');
  });
});

describe('MASTER when only the witness reaches the old master (MySQL 8.4 answers, literal witness and SSH)', () => {
  const withWitness: Config = parseConfig({
    node: { name: 'db-b' },
    mysql: { port: 3307, user: 'keepalived', password: 'k' },
    replication: { user: 'repl', password: 'r-secret' },
    peer: { name: 'db-a', host: '10.0.0.1', ssh: { hostKeySha256: `SHA256:${'A'.repeat(43)}` } },
    witness: { host: '10.0.0.50', ssh: { hostKeySha256: `SHA256:${'B'.repeat(43)}` } },
    paths: {},
    notify: { catchUpTimeoutMs: 2000, deadlineMs: 20_000 },
  }, { configReadableByOthers: false, readPasswordFile: () => 'x' });
  const cutLink = (servers: Record<number, ScriptedServer>): SqlConnector => ({
    connect: async (t, s) => {
      // The direct path to the old master is cut; through the witness (a forwarded stream) it answers.
      if (t.port === 3306 && t.stream === undefined) throw Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' });
      return connectorFor(servers).connect(t, s);
    },
  });

  // The old master's files over SSH: whether each session went through the witness, and the state files written.
  const recordingPeerFiles = (): { peerFiles: PeerFilesConnector; sshVia: boolean[]; written: string[] } => {
    const files = oldMasterFiles();
    const sshVia: boolean[] = [];
    const written: string[] = [];
    const peerFiles: PeerFilesConnector = { connect: async (h, ssh, sig, via) => {
      sshVia.push(via !== undefined);
      const f = await files.connect(h, ssh, sig);
      return { ...f, writeStateFile: async (_dir, name) => void written.push(name) };
    } };
    return { peerFiles, sshVia, written };
  };

  it('fences it through the witness before reading its state, marks it stepped down, raises the term and reads its tail through the witness', async () => {
    const local = mysql84Server({ readOnly: 1, replica: { ...runningReplica, Replica_IO_Running: 'No' }, executed: 'uuid-a:1-10' });
    const oldMaster = mysql84Server({ readOnly: 0, replica: undefined, executed: 'uuid-a:1-10' });
    const forwarded: string[] = [];
    const witness: WitnessConnector = { connect: async () => ({
      where: 'root@10.0.0.50:22', close: () => {},
      forward: async (h, port) => { forwarded.push(`${h}:${port}`); return new PassThrough(); },
    }) };
    const { peerFiles, sshVia, written } = recordingPeerFiles();
    const ctx = context(cutLink({ 3306: oldMaster, 3307: local }), []);
    const state = ctx.ports.state as ReturnType<typeof memoryState>;
    const applier: BinlogApplier = { apply: async () => void local.executed.push('<apply>') };
    await handleTransition('MASTER', { ...ctx, config: withWitness, ports: { ...ctx.ports, witness, peerFiles, binlogApplier: applier } }, AbortSignal.timeout(5000));
    assert.deepEqual(oldMaster.executed, ['KILL CONNECTION ? [50]', 'SET SESSION lock_wait_timeout = ? [1]', 'SET GLOBAL super_read_only = 1', 'SET GLOBAL read_only = 1', 'KILL CONNECTION ? [50]']);
    assert.deepEqual(written, ['stepdown.json']);
    assert.ok(sshVia.length >= 2 && sshVia.every(Boolean), `every SSH session went through the witness: ${JSON.stringify(sshVia)}`);
    assert.deepEqual([...new Set(forwarded)], ['10.0.0.1:3306']);
    assert.equal(state.terms.at(-1)?.term, 1);
    assert.ok(local.executed.includes('<apply>'), 'its tail recovered before writes open');
    assert.equal(local.executed.at(-1), 'SET GLOBAL read_only = 0');
  });

  it('when the witness gets no answer from the old master\'s host either then no SSH tail read is tried and writes open', async () => {
    const local = mysql84Server({ readOnly: 1, replica: runningReplica, executed: 'uuid-a:1-10' });
    const witness: WitnessConnector = { connect: async () => ({
      where: 'root@10.0.0.50:22', close: () => {},
      forward: async (h, port) => { throw new AppError('DEADLINE_EXCEEDED', `opening ${h}:${port} through the witness: no answer within 2000 ms`); },
    }) };
    const sshTried: string[] = [];
    const peerFiles: PeerFilesConnector = { connect: async (h) => { sshTried.push(h); throw new AppError('PEER_UNREACHABLE', 'no session'); } };
    const ctx = context(cutLink({ 3307: local }), []);
    await handleTransition('MASTER', { ...ctx, config: withWitness, ports: { ...ctx.ports, witness, peerFiles } }, AbortSignal.timeout(5000));
    assert.deepEqual(sshTried, []);
    assert.equal(local.executed.at(-1), 'SET GLOBAL read_only = 0');
    assert.ok((ctx.ports.log as ReturnType<typeof createMemoryLogger>).entries.some((e) => /binlog tail is out of reach/.test(e.msg)));
  });

  it('when the old master\'s host accepts TCP but its MySQL does not answer (hung) then the witness is not asked: marked over direct SSH, writes open', async () => {
    const local = mysql84Server({ readOnly: 1, replica: runningReplica, executed: 'uuid-a:1-10' });
    const witnessAsked: string[] = [];
    const witness: WitnessConnector = { connect: async (w) => { witnessAsked.push(w.host); throw new AppError('PEER_UNREACHABLE', 'not expected'); } };
    const { peerFiles, sshVia, written } = recordingPeerFiles();
    const ctx = context(cutLink({ 3307: local }), []);
    const binlogApplier: BinlogApplier = { apply: async () => void local.executed.push('<apply>') };
    const ports = { ...ctx.ports, witness, peerFiles, binlogApplier, tcpAnswer: async () => 'accepted' as const };
    await handleTransition('MASTER', { ...ctx, config: withWitness, ports, steps: new StepRunner(ports) }, AbortSignal.timeout(5000));
    assert.deepEqual(witnessAsked, []);
    assert.deepEqual(written, ['stepdown.json']);
    assert.ok(sshVia.length >= 1 && sshVia.every((v) => !v), `SSH went straight to the live host: ${JSON.stringify(sshVia)}`);
    assert.ok(local.executed.includes('<apply>'), 'its tail, read over SSH, applied before writes open');
    assert.equal(local.executed.at(-1), 'SET GLOBAL read_only = 0');
  });

  it('when a stepped-down node refuses while the witness session is still opening then that session is closed', async () => {
    const local = mysql84Server({ readOnly: 1, replica: runningReplica, executed: 'uuid-a:1-10' });
    let closed = 0;
    const witness: WitnessConnector = { connect: async () => ({
      where: 'root@10.0.0.50:22', close: () => void (closed += 1),
      forward: async () => { throw new AppError('PEER_UNREACHABLE', 'not expected'); },
    }) };
    const ctx = context(cutLink({ 3307: local }), []);
    const state = { ...ctx.ports.state, stepDown: () => ({ by: 'db-a', term: 2, reason: 'fenced at the heal', at: '' }) };
    const ports = { ...ctx.ports, witness, state };
    await assert.rejects(handleTransition('MASTER', { ...ctx, config: withWitness, ports, steps: new StepRunner(ports) }, AbortSignal.timeout(5000)),
      (err: Error & { code?: string }) => err.code === 'PROMOTION_REFUSED' && /stepped down/.test(err.message));
    await new Promise((r) => setImmediate(r));
    assert.equal(closed, 1);
  });

  it('refuses to promote when neither the old master nor the witness answers (this node may be the isolated one)', async () => {
    const local = mysql84Server({ readOnly: 1, replica: runningReplica, executed: 'uuid-a:1-10' });
    const witness: WitnessConnector = { connect: async () => { throw new AppError('PEER_UNREACHABLE', 'SSH to root@10.0.0.50:22: no handshake within 1000 ms'); } };
    const ctx = context(cutLink({ 3307: local }), []);
    await assert.rejects(handleTransition('MASTER', { ...ctx, config: withWitness, ports: { ...ctx.ports, witness } }, AbortSignal.timeout(5000)),
      (err: Error & { code?: string }) => err.code === 'PROMOTION_REFUSED' && /may be the isolated one/.test(err.message));
    assert.equal(local.executed.includes('SET GLOBAL read_only = 0'), false);
    // Its IO thread was stopped while the witness was asked: a node that stays a replica gets it back.
    assert.deepEqual(local.executed.filter((x) => /IO_THREAD/.test(x)), ['STOP REPLICA IO_THREAD', 'START REPLICA IO_THREAD']);
  });
});
