import type { Config } from '../config/schema.js';
import { describeError } from '../errors.js';
import { classifyMysqlError } from '../mysql/errors.js';
import { guardReading, guardVariables, setSemiSyncMaster } from '../mysql/queries.js';
import { peerMysqlTarget } from '../mysql/targets.js';
import type { MysqlTarget, Row, SqlClient, SqlConnector } from '../mysql/types.js';
import { deadline } from '../platform/deadline.js';
import type { Witness, WitnessConnector } from '../ssh/types.js';
import type { AsyncSwitchRecord, StepDownRecord } from '../state/files.js';
import { decideReplicaLost, guardStep, type GuardDecision, type LocalReading, type PeerSight } from './semisync-guard.js';

// The effectful half of the semi-sync guard: read, prove, record, then act. Decisions live in semisync-guard.ts.

/** Reads the guard's inputs on the check's own connection; undefined when the server cannot tell (old versions, no privilege). */
export async function readLocalGuard(client: SqlClient, signal: AbortSignal): Promise<LocalReading | undefined> {
  const r = guardReading();
  const [row] = await client.query<Row>(r.sql, r.params, { signal });
  if (row === undefined) return undefined;
  const readOnly = Number(row['ro']) !== 0;
  const base = { readOnly, stuckCommits: Number(row['stuck'] ?? 0), replicas: Number(row['dumps'] ?? 0), gtidBinlogPos: '' };
  if (readOnly) return base;
  const v = guardVariables();
  const vars = new Map((await client.query<Row>(v.sql, v.params, { signal })).map((x) => [String(x['Variable_name']).toLowerCase(), String(x['Value'])]));
  const variable = ['rpl_semi_sync_master_enabled', 'rpl_semi_sync_source_enabled'].find((n) => vars.has(n));
  return {
    ...base,
    gtidBinlogPos: vars.get('gtid_binlog_pos') ?? vars.get('gtid_executed') ?? '',
    ...(variable !== undefined ? { semiSync: { variable, enabled: /^(on|1)$/i.test(vars.get(variable) ?? '') } } : {}),
  };
}

export interface GuardPorts {
  readonly sql: SqlConnector;
  /** Loaded only when a proof needs the witness: a healthy check never loads ssh2. */
  readonly witness?: () => Promise<WitnessConnector>;
  readonly recordAsyncSwitch: (r: AsyncSwitchRecord) => void;
  readonly stepDown: (r: StepDownRecord) => Promise<void>;
  readonly now: () => number;
}

export interface GuardOutcome {
  readonly action: 'none' | 'enabled-semi-sync' | 'switched-to-async' | 'kept-waiting' | 'stepped-down' | 'failed';
  readonly detail: string;
}

const SIGHT_TIMEOUT_MS = 400;

export async function runGuard(config: Config, reading: LocalReading | undefined, local: MysqlTarget, ports: GuardPorts,
  signal: AbortSignal): Promise<GuardOutcome> {
  const step = guardStep(reading);
  if (step.kind === 'none' || reading === undefined) return { action: 'none', detail: '' };
  try {
    if (step.kind === 'enable-semi-sync') {
      const gtid = await onLocal(ports.sql, local, signal, async (c, s) => {
        await c.execute(setSemiSyncMaster(step.variable, true).sql, [], { signal: s });
        // Read after the switch: every commit above it waited for an acknowledgement again.
        const v = guardVariables();
        const vars = new Map((await c.query<Row>(v.sql, v.params, { signal: s })).map((x) => [String(x['Variable_name']).toLowerCase(), String(x['Value'])]));
        return vars.get('gtid_binlog_pos') ?? vars.get('gtid_executed') ?? '';
      });
      ports.recordAsyncSwitch({ at: new Date(ports.now()).toISOString(), node: config.node.name, mode: 'semi-sync', reason: step.why, gtidBinlogPos: gtid });
      return { action: 'enabled-semi-sync', detail: step.why };
    }
    const direct = await sight(ports.sql, peerMysqlTarget(config, SIGHT_TIMEOUT_MS), signal);
    const viaWitness = direct === 'silent' && config.witness !== undefined && ports.witness !== undefined
      ? await sightViaWitness(config, ports.sql, await ports.witness(), signal) : undefined;
    const decision: GuardDecision = decideReplicaLost({ direct, ...(viaWitness !== undefined ? { viaWitness } : {}) }, config.partition.withoutWitness);
    const detail = `${step.why}; ${decision.why}`;
    if (decision.kind === 'keep-waiting') return { action: 'kept-waiting', detail };
    if (decision.kind === 'step-down') {
      await ports.stepDown({ by: config.node.name, term: 0, reason: decision.why, at: new Date(ports.now()).toISOString() });
      return { action: 'stepped-down', detail };
    }
    // On disk before the switch: the heal decision later rests on this record.
    ports.recordAsyncSwitch({ at: new Date(ports.now()).toISOString(), node: config.node.name, reason: decision.why, gtidBinlogPos: reading.gtidBinlogPos });
    await onLocal(ports.sql, local, signal, (c, s) => c.execute(setSemiSyncMaster(step.variable, false).sql, [], { signal: s }));
    return { action: 'switched-to-async', detail };
  } catch (err) {
    return { action: 'failed', detail: `${step.why}; the guard could not act: ${describeError(err)}` };
  }
}

async function onLocal<T>(sql: SqlConnector, target: MysqlTarget, signal: AbortSignal, fn: (c: SqlClient, s: AbortSignal) => Promise<T>): Promise<T> {
  const c = await sql.connect(target, signal);
  try {
    return await fn(c, signal);
  } finally {
    c.close();
  }
}


// What the peer's MySQL port says: its role, a refusal (host up, mysqld down) or nothing.
async function sight(sql: SqlConnector, target: MysqlTarget, parent: AbortSignal): Promise<PeerSight> {
  const signal = deadline(2 * SIGHT_TIMEOUT_MS, parent);
  let client: SqlClient | undefined;
  try {
    client = await sql.connect(target, signal);
    const [row] = await client.query<Row>('SELECT @@GLOBAL.read_only AS ro', [], { signal });
    return Number(row?.['ro']) === 0 ? 'writable' : 'read-only';
  } catch (err) {
    const code = (err as { code?: string }).code ?? ((err as { cause?: { code?: string } }).cause?.code);
    if (code === 'ECONNREFUSED') return 'refused';
    return classifyMysqlError(err) === 'alive-but-refusing' ? 'read-only' : 'silent';
  } finally {
    client?.close();
  }
}

async function sightViaWitness(config: Config, sql: SqlConnector, connector: WitnessConnector, parent: AbortSignal): Promise<PeerSight | 'no-witness'> {
  const w = config.witness;
  if (w === undefined) return 'no-witness';
  let witness: Witness;
  try {
    witness = await connector.connect(w, parent);
  } catch {
    return 'no-witness';
  }
  try {
    const stream = await witness.forward(config.peer.host, config.peer.mysqlPort, parent).catch((err: unknown) => err as Error);
    if (stream instanceof Error) return /refused/i.test(stream.message) ? 'refused' : 'silent';
    // The port answered through the witness: the peer is alive even if its server is slow to speak.
    const seen = await sight(sql, { ...peerMysqlTarget(config, SIGHT_TIMEOUT_MS), stream }, parent);
    return seen === 'silent' ? 'read-only' : seen;
  } finally {
    witness.close();
  }
}
