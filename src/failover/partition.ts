import { describeError } from '../errors.js';
import { describeDialect, detectDialect, type Dialect } from '../mysql/dialect.js';
import { describeMysqlError } from '../mysql/errors.js';
import type { SqlClient } from '../mysql/types.js';
import type { PeerFiles, Witness } from '../ssh/types.js';
import { parseTerm, STEPDOWN_FILE, stepDownText, TERM_FILE, type StepDownRecord, type TermRecord } from '../state/files.js';
import { readServerState, type ServerState } from './server-state.js';
import type { TransitionContext } from './steps.js';

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
}

export type Standing =
  | { readonly kind: 'may-lead' }
  | { readonly kind: 'stale'; readonly why: string };

// MASTER: a node whose peer is a writable master at the same or a newer term must not open writes beside it.
export function promotionStanding(localTerm: number, peer: PeerStanding | undefined, marker: StepDownRecord | undefined): Standing {
  if (marker !== undefined) {
    return { kind: 'stale', why: `this node was stepped down by ${marker.by} at ${marker.at || '?'} (${marker.reason}); it must rejoin before it can lead` };
  }
  if (peer === undefined || !peer.writable) return { kind: 'may-lead' };
  if (peer.term === undefined) return { kind: 'stale', why: 'the peer is a writable master and its term cannot be read: not opening writes beside it' };
  if (peer.term >= localTerm) return { kind: 'stale', why: `the peer is a writable master at term ${peer.term} (this node: ${localTerm})` };
  return { kind: 'may-lead' };
}

// BACKUP on a writable node: VRRP priority chose the peer, but if this node holds the newer term the data stays here.
export function healRole(localWritable: boolean, localTerm: number, peer: PeerStanding | undefined): 'keep-writes' | 'demote' {
  if (!localWritable || peer === undefined || !peer.writable || peer.term === undefined) return 'demote';
  return localTerm > peer.term ? 'keep-writes' : 'demote';
}

export function readTermText(text: string | undefined, where: string): TermRecord | undefined {
  return text === undefined ? undefined : parseTerm(text, where);
}

/** The peer's MySQL reached through the witness, with the witness session to close afterwards. */
export type WitnessRoute =
  | { readonly kind: 'answered'; readonly witness: Witness; readonly client: SqlClient; readonly dialect: Dialect; readonly state: ServerState }
  /** The witness answers but cannot reach the peer either: the peer is dead or isolated. */
  | { readonly kind: 'peer-unreachable'; readonly witness: Witness; readonly reason: string }
  /** No witness configured, or it does not answer: this node may be the isolated one. */
  | { readonly kind: 'no-witness'; readonly reason: string };

export async function reachPeerViaWitness(ctx: TransitionContext, signal: AbortSignal): Promise<WitnessRoute> {
  const { config, ports } = ctx;
  if (config.witness === undefined || ports.witness === undefined) return { kind: 'no-witness', reason: 'no witness configured' };
  let witness: Witness;
  try {
    witness = await ports.witness.connect(config.witness, signal);
  } catch (err) {
    return { kind: 'no-witness', reason: `the witness ${config.witness.host} does not answer: ${describeError(err)}` };
  }
  try {
    const stream = await witness.forward(config.peer.host, config.peer.mysqlPort, signal);
    const client = await ports.sql.connect({
      host: config.peer.host, port: config.peer.mysqlPort, user: config.mysql.user, password: config.mysql.password,
      connectTimeoutMs: config.witness.ssh.connectTimeoutMs, queryTimeoutMs: Math.min(config.mysql.queryTimeoutMs, 2000), stream,
    }, signal);
    try {
      const dialect = await detectDialect(client, signal);
      const state = await readServerState(client, dialect, signal);
      ports.log.warn(`peer ${config.peer.name} answers through the witness ${witness.where}: ${describeDialect(dialect)}, read_only=${state.readOnly ? 1 : 0}`);
      return { kind: 'answered', witness, client, dialect, state };
    } catch (err) {
      client.close();
      throw err;
    }
  } catch (err) {
    return { kind: 'peer-unreachable', witness, reason: describeMysqlError(err) };
  }
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
