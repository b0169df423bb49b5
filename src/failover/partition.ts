import { AppError, describeError } from '../errors.js';
import { readLocalGuard } from '../health/guard.js';
import { guardVariables, gtidSubtract, startReplicaIoThread } from '../mysql/queries.js';
import { describeDialect, detectDialect, type Dialect } from '../mysql/dialect.js';
import { describeMysqlError } from '../mysql/errors.js';
import type { Row, SqlClient } from '../mysql/types.js';
import { mariaErrantCheck } from './gtid.js';
import type { Duplex } from 'node:stream';
import type { PeerFiles, Witness } from '../ssh/types.js';
import {
  parseTerm, STEPDOWN_FILE, stepDownText, TERM_FILE,
  type StepDownRecord, type TermRecord,
} from '../state/files.js';
import { fenceOn, stopIoThreadOffSilentSource } from './execute.js';
import { fence } from './plans.js';
import { readServerState, type ServerState } from './server-state.js';
import { mysqlTarget, peerMysqlTarget } from '../mysql/targets.js';
import { TCP_HEAD_START_MS, type TcpAnswer } from '../platform/tcp-probe.js';
import type { Config } from '../config/schema.js';
import type { TransitionContext } from './steps.js';
import { scope, throwIfAborted } from '../platform/deadline.js';

// Who is the newer master after a partition: the promotion term, raised by every promotion and recorded in each
// node's state dir, decides — never the VRRP priority. A witness gives a second path to a peer we cannot reach.

/** The term a promotion takes: above everything this node and its peer have seen. */
export function nextTerm(local: TermRecord | undefined, peer: TermRecord | undefined): number {
  return Math.max(local?.term ?? 0, peer?.term ?? 0) + 1;
}

/** What a node knows of its peer when it decides whether it may be (or stay) the master. */
export interface PeerStanding {
  readonly writable: boolean;
  /** undefined: its term.json could not be read. */
  readonly term?: number;
  /** Every GTID this node has, the peer has too: fencing it and catching up loses nothing. undefined: unknown. */
  readonly holdsAllOfOurs?: boolean;
}

export type Standing =
  | { readonly kind: 'may-lead' }
  | { readonly kind: 'stale'; readonly why: string };

// MASTER beside a writable peer: a newer term wins; otherwise promoting (fence it, catch up) is lossless only when
// it holds everything this node has — a node whose own writes diverged and that holds no newer term must not win.
export function promotionStanding(localTerm: number, peer: PeerStanding | undefined, marker: StepDownRecord | undefined): Standing {
  if (marker !== undefined) {
    return { kind: 'stale', why: `this node was stepped down by ${marker.by} at ${marker.at || '?'} (${marker.reason}); it must rejoin before it can lead` };
  }
  if (peer === undefined || !peer.writable) return { kind: 'may-lead' };
  if (peer.term !== undefined && peer.term > localTerm) return { kind: 'stale', why: `the peer is a writable master at the newer term ${peer.term} (this node: ${localTerm})` };
  // Unknown containment (GTIDs off) keeps the classic path: fence it, catch up by file and position.
  if (peer.holdsAllOfOurs !== false) return { kind: 'may-lead' };
  if (peer.term !== undefined && peer.term < localTerm) return { kind: 'may-lead' };
  return { kind: 'stale', why: `the peer is a writable master${peer.term !== undefined ? ` at term ${peer.term} (this node: ${localTerm})` : ''} ` +
    'and this node holds transactions it lacks: not taking over beside it' };
}

// BACKUP on a writable node: VRRP priority chose the peer (a stale master holding the VIP, writable or fenced), but
// if this node holds the newer term the data stays here.
export function healRole(localWritable: boolean, localTerm: number, peer: PeerStanding | undefined): 'keep-writes' | 'demote' {
  if (!localWritable || peer === undefined || peer.term === undefined) return 'demote';
  return localTerm > peer.term ? 'keep-writes' : 'demote';
}

export function readTermText(text: string | undefined, where: string): TermRecord | undefined {
  return text === undefined ? undefined : parseTerm(text, where);
}

/** The peer's MySQL reached through the witness, with the witness session to close afterwards. */
export type WitnessRoute =
  /** Its MySQL answers: role read, nothing else yet (a master with commits waiting for an ack can block state reads). */
  | { readonly kind: 'answered'; readonly witness: Witness; readonly client: SqlClient; readonly dialect: Dialect; readonly readOnly: boolean }
  /** Its MySQL port was reached through the witness but the server does not answer: alive, possibly hung. */
  | { readonly kind: 'alive-silent'; readonly witness: Witness; readonly reason: string }
  /** The witness answers but could not connect to the peer either: the peer is dead or isolated (hostSilent: not even refused). */
  | { readonly kind: 'peer-unreachable'; readonly witness: Witness; readonly reason: string; readonly hostSilent: boolean }
  /** No witness configured, or it does not answer or cannot forward in time: nothing is proved. */
  | { readonly kind: 'no-witness'; readonly reason: string };

// A loaded two-core host needs more than the direct path's short timeouts for SSH plus a MySQL handshake on top.
const WITNESS_MYSQL_TIMEOUT_MS = 2000;

/** An SSH session to the witness being opened: settled to the session or the reason it cannot be had. */
type PendingWitness = Promise<{ readonly witness: Witness } | { readonly reason: string }>;

function connectWitness(ctx: TransitionContext, signal: AbortSignal): PendingWitness {
  const { config, ports } = ctx;
  if (config.witness === undefined || ports.witness === undefined) return Promise.resolve({ reason: 'no witness configured' });
  const host = config.witness.host;
  return ports.witness.connect(config.witness, signal).then((witness) => ({ witness }),
    (err: unknown) => ({ reason: `the witness ${host} does not answer: ${describeError(err)}` }));
}

async function reachPeerViaWitness(ctx: TransitionContext, pending: PendingWitness, signal: AbortSignal): Promise<WitnessRoute> {
  const { config, ports } = ctx;
  const opened = await pending;
  if (!('witness' in opened)) return { kind: 'no-witness', reason: opened.reason };
  const { witness } = opened;
  let stream: Duplex;
  try {
    stream = await witness.forward(config.peer.host, config.peer.mysqlPort, signal);
  } catch (err) {
    // The witness's session is up: a peer it cannot connect to (refused, unreachable, or no SYN-ACK within the
    // deadline, as for a host that is off) is not alive on the network, as far as the witness can tell.
    const reason = describeError(err);
    return { kind: 'peer-unreachable', witness, reason, hostSilent: !/refused/i.test(reason) };
  }
  let client: SqlClient | undefined;
  try {
    client = await ports.sql.connect({
      host: config.peer.host, port: config.peer.mysqlPort, user: config.mysql.user, password: config.mysql.password,
      connectTimeoutMs: WITNESS_MYSQL_TIMEOUT_MS, queryTimeoutMs: WITNESS_MYSQL_TIMEOUT_MS, stream,
    }, signal);
    const dialect = await detectDialect(client, signal);
    const [row] = await client.query<Row>('SELECT @@GLOBAL.read_only AS ro', [], { signal });
    return { kind: 'answered', witness, client, dialect, readOnly: Number(row?.['ro']) !== 0 };
  } catch (err) {
    client?.close();
    return { kind: 'alive-silent', witness, reason: describeMysqlError(err) };
  }
}

function closeRoute(route: WitnessRoute): void {
  if (route.kind === 'answered') route.client.close();
  if (route.kind !== 'no-witness') route.witness.close();
}

/** SFTP to the peer, directly or through the witness; undefined (logged) when it cannot be had. */
export async function peerFilesVia(ctx: TransitionContext, via: Witness | undefined, signal: AbortSignal): Promise<PeerFiles | undefined> {
  const { config, ports } = ctx;
  if (ports.peerFiles === undefined) return undefined;
  try {
    return await ports.peerFiles.connect(config.peer.host, config.peer.ssh, signal, via);
  } catch (err) {
    ports.log.warn(`cannot reach ${config.peer.name} over SSH${via ? ' through the witness' : ''}: ${describeError(err)}`);
    return undefined;
  }
}

export async function readPeerTerm(ctx: TransitionContext, files: PeerFiles, signal: AbortSignal): Promise<TermRecord | undefined> {
  const where = `${ctx.config.peer.name}:${ctx.config.peer.stateDir}/${TERM_FILE}`;
  return readTermText(await files.readStateFile(ctx.config.peer.stateDir, TERM_FILE, signal), where);
}

/** Writes the step-down marker on a stale peer: its check fails from then on, so keepalived takes it out of the race. */
export async function markPeerSteppedDown(ctx: TransitionContext, files: PeerFiles, record: StepDownRecord, signal: AbortSignal): Promise<void> {
  await files.writeStateFile(ctx.config.peer.stateDir, STEPDOWN_FILE, stepDownText(record), signal);
  ctx.ports.log.warn(`marked ${ctx.config.peer.name} stepped down: ${record.reason}`, { term: record.term });
}

// ---------- the phases around MASTER and BACKUP ----------

/** What the phase before MASTER found; the rest of the transition routes its SSH through the witness when it fenced there. */
export interface MasterRoute {
  readonly term: number;
  readonly via?: Witness;
  /** The peer's MySQL did not answer directly just now: the plan need not wait on it a second time. */
  readonly peerSilent?: string;
  /** Its log_bin_index, read through the witness: its tail is read there after the fence. */
  readonly peerBinlogIndex?: string;
  /** The witness got no answer from its host either: no SSH tail read is tried. */
  readonly peerHostSilent?: boolean;
  /** The IO thread on the silent source was killed and its STOP still waits for it to exit (the plan opens writes first). */
  readonly ioThreadExiting?: boolean;
}


// The local server through the transition's own connector; an unreachable one ends the transition with exit 69.
async function connectLocal(ctx: TransitionContext, signal: AbortSignal): Promise<SqlClient> {
  try {
    return await ctx.ports.sql.connect(mysqlTarget(ctx.config), signal);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('MYSQL_UNREACHABLE', `local MySQL does not answer: ${describeMysqlError(err)}`, { cause: err });
  }
}

type PeerDirect =
  | { readonly kind: 'answered'; readonly client: SqlClient; readonly dialect: Dialect; readonly state: ServerState }
  /** refused: host up, mysqld down. hung: its host accepts TCP (the kernel does) but the server does not answer. */
  | { readonly kind: 'refused' | 'hung' | 'silent'; readonly reason: string };

/** The peer's MySQL directly, short timeouts; `tcp`, a bare connect to the same port, tells hung from gone. */
async function peerDirect(ctx: TransitionContext, signal: AbortSignal, tcp?: Promise<TcpAnswer>): Promise<PeerDirect> {
  const { config, ports } = ctx;
  const quiet = async (reason: string): Promise<PeerDirect> => ({ kind: (await tcp) === 'accepted' ? 'hung' : 'silent', reason });
  try {
    // The plan's own peer timeouts: a peer silent here is not asked again (handle.ts).
    const client = await ports.sql.connect(peerMysqlTarget(config), signal);
    try {
      const dialect = await detectDialect(client, signal);
      return { kind: 'answered', client, dialect, state: await readServerState(client, dialect, signal) };
    } catch (err) {
      client.close();
      return await quiet(describeMysqlError(err));
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    return code === 'ECONNREFUSED' ? { kind: 'refused', reason: describeMysqlError(err) } : await quiet(describeMysqlError(err));
  }
}

// Whether the peer holds every GTID this node has (MariaDB: per domain and server; MySQL: GTID_SUBTRACT on the peer).
async function containment(ctx: TransitionContext, peer: { client: SqlClient; dialect: Dialect; state: ServerState }, signal: AbortSignal)
  : Promise<{ holdsAllOfOurs?: boolean }> {
  const local = await connectLocal(ctx, signal);
  try {
    const mine = await readServerState(local, peer.dialect, signal);
    if (peer.dialect.gtid === 'mariadb') {
      const check = mariaErrantCheck(mine.gtidBinlogState ?? '', { kind: 'state', binlogState: peer.state.gtidBinlogState ?? '' });
      return { holdsAllOfOurs: check.errant.length === 0 && check.unproven.length === 0 };
    }
    if (peer.dialect.gtid === 'mysql') {
      const q = gtidSubtract(mine.gtidExecuted ?? '', peer.state.gtidExecuted ?? '');
      const [row] = await peer.client.query<Row>(q.sql, q.params, { signal });
      return { holdsAllOfOurs: String(row?.['errant'] ?? '').trim() === '' };
    }
    return {};
  } catch (err) {
    ctx.ports.log.warn(`cannot compare GTIDs with ${ctx.config.peer.name}: ${describeError(err)}`);
    return {};
  } finally {
    local.close();
  }
}

async function peerTermVia(ctx: TransitionContext, via: Witness | undefined, signal: AbortSignal): Promise<{ files?: PeerFiles; term?: TermRecord }> {
  const files = await peerFilesVia(ctx, via, signal);
  if (!files) return {};
  const term = await termOf(ctx, files, signal);
  return { files, ...(term ? { term } : {}) };
}

/**
 * Before MASTER: refuse when this node is stale (stepped down, or the peer is a writable master at the same or a
 * newer term) or isolated (neither the peer nor the witness answers); fence an old master that only the witness can
 * reach, through it; raise and record the term before anything opens writes.
 */
export async function beforeMaster(ctx: TransitionContext, signal: AbortSignal): Promise<MasterRoute> {
  const { config, ports } = ctx;
  const marker = ports.state.stepDown();
  const localTerm = ports.state.term();
  // A host that is up accepts or refuses the bare TCP connect within the head start (a hung mysqld's host accepts too):
  // only a silent one gets the witness session opened beside the direct attempt (ssh2's handshake costs CPU).
  const target = peerMysqlTarget(config);
  const tcp = ports.tcpAnswer(target.host, target.port, target.connectTimeoutMs, signal);
  let tcpNow: TcpAnswer | undefined;
  void tcp.then((a) => { tcpNow = a; });
  const attempt = peerDirect(ctx, signal, tcp);
  const early = await Promise.race([attempt, ports.clock.sleep(TCP_HEAD_START_MS, signal).then(() => undefined, () => undefined)]);
  const silentSoFar = early === undefined ? tcpNow === undefined || tcpNow === 'silent' : early.kind === 'silent';
  const pending = config.witness !== undefined && silentSoFar ? connectWitness(ctx, signal) : undefined;
  // Asked beside the rest of the direct attempt: a host that is off answers neither, and both waits then overlap.
  const viaWitness = pending === undefined ? undefined : reachPeerViaWitness(ctx, pending, signal);
  // A semi-sync replica's STOP on a dead link waits out rpl_semi_sync_slave_kill_conn_timeout (1 s): begun now, it
  // overlaps the rest of the direct attempt and the witness. A peer that answers after all is fenced, and the plan
  // starts the IO thread again to fetch the rest from it.
  let ioStop = silentSoFar ? stopIoThreadEarly(ctx, signal) : undefined;
  const direct = early ?? await attempt;
  if (direct.kind !== 'silent') void viaWitness?.then(closeRoute);
  let via: Witness | undefined;
  let files: PeerFiles | undefined;
  try {
    // The plan reads the replica next: a stop begun early has ended by then.
    if (direct.kind === 'answered' || direct.kind === 'refused') await ioStop?.done;
    if (direct.kind === 'answered') {
      const holds = direct.state.readOnly ? {} : await containment(ctx, direct, signal);
      // Its term matters only when the two diverged: SSH stays off the critical path of an ordinary switchover.
      const peerTerm = holds.holdsAllOfOurs === false ? (files = await peerFilesVia(ctx, undefined, signal)) && await termOf(ctx, files, signal) : undefined;
      refuseIfStale(localTerm, { writable: !direct.state.readOnly, ...(peerTerm ? { term: peerTerm.term } : {}), ...holds }, marker);
      return { term: await raiseTerm(ctx, localTerm, peerTerm) };
    }
    refuseIfStale(localTerm, undefined, marker);
    const silent = { peerSilent: direct.reason };
    if (direct.kind === 'refused') return { term: await raiseTerm(ctx, localTerm, undefined) };
    if (direct.kind === 'hung') {
      // Its host is up and reachable here: no cut link, nothing for the witness to prove.
      ports.log.warn(`${config.peer.name}'s host accepts on its MySQL port but the server does not answer (${direct.reason}): hung`);
      ioStop ??= stopIoThreadEarly(ctx, signal);
      files = await peerFilesVia(ctx, undefined, signal);
      const term = await markHung(ctx, files, localTerm, 'its MySQL hung (its host accepts, the server does not answer)', signal);
      return { term, ...silent, ...await ioThreadAtPlan(ctx, ioStop, signal) };
    }
    if (viaWitness === undefined) return { term: await raiseTerm(ctx, localTerm, undefined), ...silent, ...await ioThreadAtPlan(ctx, ioStop, signal) };
    ioStop ??= stopIoThreadEarly(ctx, signal);
    const route = await viaWitness;
    if (route.kind === 'no-witness') {
      throw new AppError('PROMOTION_REFUSED', `not promoting: ${config.peer.name} does not answer (${direct.reason}) and the witness proves nothing ` +
        `(${route.reason}): this node may be the isolated one`);
    }
    via = route.witness;
    if (route.kind === 'peer-unreachable') {
      ports.log.warn(`the witness cannot reach ${config.peer.name} either (${route.reason}): it is dead or isolated, and an isolated node never promotes`);
      const term = await raiseTerm(ctx, localTerm, undefined);
      return { term, via, ...silent, ...(route.hostSilent ? { peerHostSilent: true } : {}), ...await ioThreadAtPlan(ctx, ioStop, signal) };
    }
    files = await peerFilesVia(ctx, via, signal);
    if (route.kind === 'answered') {
      ports.log.warn(`peer ${config.peer.name} answers through the witness ${via.where}: ${describeDialect(route.dialect)}, read_only=${route.readOnly ? 1 : 0}`);
      const peerTerm = files ? await termOf(ctx, files, signal) : undefined;
      try {
        if (!route.readOnly && peerTerm !== undefined && peerTerm.term > (localTerm?.term ?? 0)) {
          refuseIfStale(localTerm, { writable: true, term: peerTerm.term }, undefined);
        }
        const term = await raiseTerm(ctx, localTerm, peerTerm);
        // Fence before reading its state: a commit waiting for our ack blocks those reads, and the kill releases it.
        // The kill can answer a waiting client OK: that commit is in its binlog, and the plan reads the tail after this.
        const step = fence(config, route.dialect, 'fence-old-master-via-witness', `old master ${config.peer.name} (through the witness)`);
        await ctx.steps.run(step.name, step.budgetMs, signal, (s) => fenceOn(ctx, route.client, step, s));
        const state = await readServerState(route.client, route.dialect, signal);
        if (!route.readOnly) {
          refuseIfStale(localTerm, { writable: true, ...(peerTerm ? { term: peerTerm.term } : {}),
            ...(await containment(ctx, { client: route.client, dialect: route.dialect, state }, signal)) }, undefined);
        }
        await markStale(ctx, files, term, 'fenced through the witness', signal);
        return { term, via, ...silent, ...(state.logBinIndex ? { peerBinlogIndex: state.logBinIndex } : {}), ...await ioThreadAtPlan(ctx, ioStop, signal) };
      } finally {
        route.client.close();
      }
    }
    ports.log.warn(`${config.peer.name}'s MySQL port answers through the witness but the server does not (${route.reason}): marking it stepped down`);
    const term = await markHung(ctx, files, localTerm, 'unreachable except through the witness, its MySQL silent', signal);
    return { term, via, ...silent, ...await ioThreadAtPlan(ctx, ioStop, signal) };
  } catch (err) {
    // A refusal before the witness route settled (a step-down marker) leaves its session opening: closed when it does.
    if (via === undefined) void viaWitness?.then(closeRoute);
    via?.close();
    if (ioStop !== undefined && await ioStop.done) await restartIoThread(ctx);
    throw err;
  } finally {
    files?.close();
    if (direct.kind === 'answered') direct.client.close();
  }
}

/** The IO thread's stop begun beside the witness: `sent` once it is killed and its STOP sent, `done` when the STOP returned. */
interface EarlyIoStop {
  readonly sent: Promise<{ readonly killed: number; readonly mariadb: boolean } | undefined>;
  /** false, logged: the stop failed, and the plan stops it. */
  readonly done: Promise<boolean>;
}

// The peer is silent directly: the IO thread on that link is stopped while the witness is asked (the pause before its
// STOP hides behind the witness's 500 ms).
function stopIoThreadEarly(ctx: TransitionContext, signal: AbortSignal): EarlyIoStop {
  const begun = (async () => {
    const local = await connectLocal(ctx, signal);
    try {
      const d = await detectDialect(local, signal);
      const { killed, exited } = await stopIoThreadOffSilentSource(ctx, local, d, signal);
      return { killed, mariadb: d.flavor === 'mariadb', exited: exited.finally(() => local.close()) };
    } catch (err) {
      local.close();
      throw err;
    }
  })();
  const done = begun.then((b) => b.exited).then(() => {
    ctx.ports.log.info('the replication IO thread has exited (its early STOP returned)');
    return true;
  }, (err: unknown) => {
    ctx.ports.log.warn(`could not stop the replication IO thread early: ${describeError(err)}`);
    return false;
  });
  return { sent: begun.then(({ killed, mariadb }) => ({ killed, mariadb }), () => undefined), done };
}

/**
 * Where the early stop stands when the plan begins. A MariaDB IO thread killed while it was reconnecting to the silent
 * source needs STOP's signal to end that connect, then waits out its semi-sync connect to the same source (up to
 * rpl_semi_sync_slave_kill_conn_timeout; MariaDB signals again only every 2 s). Killed, it receives nothing more: the
 * plan opens writes beside it and detaches after (STOP SQL_THREAD, STOP and RESET would wait for it).
 */
async function ioThreadAtPlan(ctx: TransitionContext, io: EarlyIoStop | undefined, signal: AbortSignal): Promise<{ ioThreadExiting?: true }> {
  if (io === undefined) return {};
  const sent = await io.sent;
  if (sent === undefined || sent.killed === 0 || !sent.mariadb) {
    await io.done;
    return {};
  }
  const grace = scope(signal);
  const returned = await Promise.race([io.done.then(() => true), ctx.ports.clock.sleep(IO_EXIT_GRACE_MS, grace.signal).then(() => false, () => false)])
    .finally(grace.cancel);
  throwIfAborted(signal, 'the plan');
  if (returned) return {};
  ctx.ports.log.warn(`the killed replication IO thread is still on its way out (its semi-sync connect to ${ctx.config.peer.name}): ` +
    'opening writes beside it, STOP and RESET after');
  return { ioThreadExiting: true };
}
// A STOP that reaches the killed thread in its semi-sync connect returns within milliseconds; one that is still waiting
// after this costs the promotion nothing more (it usually settled during the witness's 500 ms).
const IO_EXIT_GRACE_MS = 10;

// A refused promotion leaves this node a replica: its IO thread runs again, reconnecting when the link returns.
async function restartIoThread(ctx: TransitionContext): Promise<void> {
  const signal = AbortSignal.timeout(ctx.config.mysql.connectTimeoutMs + 2 * ctx.config.mysql.queryTimeoutMs);
  try {
    const local = await connectLocal(ctx, signal);
    try {
      await ctx.steps.sql(local, 'start-io-thread', 'local', [startReplicaIoThread(await detectDialect(local, signal))], signal);
    } finally {
      local.close();
    }
  } catch (err) {
    ctx.ports.log.error(`could not restart the replication IO thread after the refusal: ${describeError(err)}`);
  }
}

// Alive but its MySQL is silent (hung): it cannot be fenced now; the marker keeps it out of the race, its own check
// fails while it hangs, and its STOP/FAULT fences it when it resumes.
async function markHung(ctx: TransitionContext, files: PeerFiles | undefined, localTerm: TermRecord | undefined, how: string,
  signal: AbortSignal): Promise<number> {
  const peerTerm = files ? await termOf(ctx, files, signal) : undefined;
  const term = await raiseTerm(ctx, localTerm, peerTerm);
  await markStale(ctx, files, term, how, signal);
  return term;
}

function refuseIfStale(localTerm: TermRecord | undefined, peer: PeerStanding | undefined, marker: StepDownRecord | undefined): void {
  const standing = promotionStanding(localTerm?.term ?? 0, peer, marker);
  if (standing.kind === 'stale') throw new AppError('PROMOTION_REFUSED', `not promoting: ${standing.why}`);
}

async function termOf(ctx: TransitionContext, files: PeerFiles, signal: AbortSignal): Promise<TermRecord | undefined> {
  try {
    return await readPeerTerm(ctx, files, signal);
  } catch (err) {
    ctx.ports.log.warn(`cannot read ${ctx.config.peer.name}'s term: ${describeError(err)}`);
    return undefined;
  }
}

// On disk before anything opens writes: after a heal the higher term is the newer master.
async function raiseTerm(ctx: TransitionContext, local: TermRecord | undefined, peer: TermRecord | undefined): Promise<number> {
  const { config, ports } = ctx;
  const term = nextTerm(local, peer);
  await ports.recordStartupRole('master', `MASTER at term ${term}`);
  await ports.state.writeTerm({ term, node: config.node.name, since: new Date(ports.clock.now()).toISOString(), transitionId: ctx.transitionId });
  ports.log.info(`promotion term ${term} (this node had ${local?.term ?? 0}, ${config.peer.name} ${peer?.term ?? 'unknown'})`);
  await recordAsyncStart(ctx, term);
  return term;
}

// The new master commits asynchronously until a replica attaches: that span opens in the switch log before writes do.
async function recordAsyncStart(ctx: TransitionContext, term: number): Promise<void> {
  const { config, ports } = ctx;
  const client = await connectLocal(ctx, AbortSignal.timeout(config.mysql.queryTimeoutMs + config.mysql.connectTimeoutMs));
  try {
    const v = guardVariables();
    const vars = new Map((await client.query<Row>(v.sql, v.params)).map((x) => [String(x['Variable_name']).toLowerCase(), String(x['Value'])]));
    ports.state.recordAsyncSwitch({ at: new Date(ports.clock.now()).toISOString(), node: config.node.name, gtidBinlogPos: vars.get('gtid_binlog_pos') ?? vars.get('gtid_executed') ?? '',
      reason: `promoted at term ${term} with no replica attached: commits are asynchronous until ${config.peer.name} replicates again` });
  } finally {
    client.close();
  }
}

async function markStale(ctx: TransitionContext, files: PeerFiles | undefined, term: number, how: string, signal: AbortSignal): Promise<void> {
  const { config, ports } = ctx;
  if (!files) {
    ports.log.error(`cannot mark ${config.peer.name} stepped down (no SSH through the witness): it may keep the VIP until its check fails`);
    return;
  }
  await markPeerSteppedDown(ctx, files, { by: config.node.name, term, at: new Date(ports.clock.now()).toISOString(),
    reason: `${how} by ${config.node.name}, promoted at term ${term} while the link between the nodes was cut` }, signal)
    .catch((err: unknown) => ports.log.error(`could not mark ${config.peer.name} stepped down: ${describeError(err)}; it may keep the VIP until its check fails`));
}

/** The dry-run print of the phases around a plan: what they would decide before the plan's own steps. */
export function phaseLines(state: 'MASTER' | 'BACKUP' | 'STOP' | 'FAULT', config: Config): string[] {
  if (state === 'MASTER') {
    return [
      '  [before-master] refuse if this node carries a step-down marker, or the peer is a writable master at a newer term or holding less than this node',
      ...(config.witness ? [`  [before-master] if ${config.peer.name}'s MySQL is silent: reach it through the witness ${config.witness.host}; ` +
        'refuse if the witness proves nothing; if it answers there: fence it there, read its state, mark it stepped down (stepdown.json over SFTP)'] : []),
      `  [before-master] if ${config.peer.name}'s MySQL is silent: KILL this node's replication IO thread, STOP it 100 ms later; ` +
        'a MariaDB IO thread still on its way out when the plan begins (its semi-sync connect to the silent source) gets no wait: ' +
        'the plan below KILLs the SQL thread instead of STOP SQL_THREAD, opens writes, then STOPs and detaches',
      '  [before-master] raise the promotion term (term.json) and record the asynchronous start in semisync-async.jsonl, before writes open',
    ];
  }
  if (state === 'BACKUP') {
    return ['  [before-backup] if this node and the peer are both writable and this node holds the newer term: fence the peer, mark it stepped down, keep writes (no plan below)'];
  }
  return [];
}

/** After MASTER: the witness session (kept for the tail recovery) is closed. */
export function afterMaster(route: MasterRoute): void {
  route.via?.close();
}

/**
 * Before BACKUP on a writable node: VRRP priority may pick the stale master after a heal. When this node holds the
 * newer term, it keeps its writes, fences the peer and marks it stepped down; otherwise the usual demotion runs.
 */
export async function beforeBackup(ctx: TransitionContext, signal: AbortSignal): Promise<'kept-writes' | 'demote'> {
  const { config, ports } = ctx;
  const local = await connectLocal(ctx, signal);
  let localWritable: boolean;
  try {
    const r = await readLocalGuard(local, signal);
    localWritable = r !== undefined && !r.readOnly;
  } finally {
    local.close();
  }
  if (!localWritable) return 'demote';
  const direct = await peerDirect(ctx, signal);
  if (direct.kind !== 'answered') return 'demote';
  try {
    const { files, term: peerTerm } = await peerTermVia(ctx, undefined, signal);
    try {
      const localTerm = ports.state.term()?.term ?? 0;
      if (healRole(true, localTerm, { writable: !direct.state.readOnly, ...(peerTerm ? { term: peerTerm.term } : {}) }) === 'demote') return 'demote';
      const why = `this node is a writable master at term ${localTerm}, ${config.peer.name} at term ${peerTerm?.term ?? '?'}` +
        `${direct.state.readOnly ? ' (fenced)' : ' (writable too)'}: the newer master keeps its writes whatever the VRRP priority`;
      ports.log.warn(`heal: ${why}; ${config.peer.name} is fenced and marked stepped down so it leaves the VRRP race`);
      const step = fence(config, direct.dialect, 'fence-stale-peer', `stale master ${config.peer.name}`);
      await ctx.steps.run(step.name, step.budgetMs, signal, (s) => fenceOn(ctx, direct.client, step, s));
      if (files) {
        await markPeerSteppedDown(ctx, files, { by: config.node.name, term: localTerm, reason: `fenced at the heal by the newer master ${config.node.name}: ${why}`,
          at: new Date(ports.clock.now()).toISOString() }, signal);
      }
      return 'kept-writes';
    } finally {
      files?.close();
    }
  } finally {
    direct.client.close();
  }
}

/** After a successful BACKUP: learn the master's term and drop this node's step-down marker (it replicates now). */
export async function afterBackup(ctx: TransitionContext, signal: AbortSignal): Promise<void> {
  const { config, ports } = ctx;
  const files = await peerFilesVia(ctx, undefined, signal);
  try {
    const peerTerm = files ? await readPeerTerm(ctx, files, signal).catch(() => undefined) : undefined;
    const local = ports.state.term();
    if (peerTerm && peerTerm.term > (local?.term ?? 0)) await ports.state.writeTerm(peerTerm);
  } finally {
    files?.close();
  }
  if (ports.state.stepDown() !== undefined) {
    ports.state.clearStepDown();
    ports.log.warn('replicating from the newer master: step-down marker cleared, this node re-enters the VRRP race as BACKUP');
  }
}

/** REJOIN (asked by check-mysql once the peer is in sight again): replicate from a newer master, or re-enter the race when there is none. */
export async function rejoin(ctx: TransitionContext, signal: AbortSignal, backup: () => Promise<void>): Promise<void> {
  const { config, ports } = ctx;
  const marker = ports.state.stepDown();
  if (marker === undefined) {
    ports.log.info('no step-down marker: nothing to rejoin');
    return;
  }
  const direct = await peerDirect(ctx, signal);
  if (direct.kind !== 'answered') {
    throw new AppError('PEER_UNREACHABLE', `${config.peer.name}'s MySQL does not answer (${direct.reason}): staying stepped down`);
  }
  const writable = !direct.state.readOnly;
  direct.client.close();
  if (!writable) {
    ports.state.clearStepDown();
    ports.log.warn(`${config.peer.name} is not a writable master: no newer master exists, step-down marker cleared (${marker.reason})`);
    return;
  }
  ports.log.info(`${config.peer.name} is a writable master: rejoining it as a replica`);
  await backup();
}
