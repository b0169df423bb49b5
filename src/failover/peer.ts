import { AppError, describeError } from '../errors.js';
import { describeDialect, detectDialect, type Dialect } from '../mysql/dialect.js';
import { describeMysqlError } from '../mysql/errors.js';
import { fenceWrites, killConnection } from '../mysql/queries.js';
import type { SqlClient } from '../mysql/types.js';
import { deadline, withSignal } from '../platform/deadline.js';
import type { BinlogTail, BinlogWalkHint, PeerFiles } from '../ssh/types.js';
import { clientConnectionsToKill } from './plans.js';
import type { PositionRecord } from './position-record.js';
import { readProcessList, readServerState, type ServerState } from './server-state.js';
import { peerTarget, type TransitionContext } from './steps.js';

/** The peer's MySQL as one step found it. */
export type PeerMysql =
  | { readonly reachable: true; readonly client: SqlClient; readonly dialect: Dialect; readonly state: ServerState }
  | { readonly reachable: false; readonly reason: string };

// Connects to the peer's MySQL (short timeouts) and reads its state; an unreachable peer is a value, not a throw.
export async function openPeerMysql(ctx: TransitionContext, step: string, signal: AbortSignal): Promise<PeerMysql> {
  const { config, ports, steps } = ctx;
  const target = peerTarget(config);
  try {
    return await steps.run(step, target.connectTimeoutMs + 2 * target.queryTimeoutMs, signal, async (s) => {
      const client = await ports.sql.connect(target, s);
      try {
        const dialect = await detectDialect(client, s);
        const state = await readServerState(client, dialect, s);
        ports.log.info(`peer ${config.peer.name} answers: ${describeDialect(dialect)}, read_only=${state.readOnly ? 1 : 0}`,
          { peer: config.peer.host, binlog: state.binlog, gtid: state.gtidBinlogPos ?? state.gtidExecuted });
        return { reachable: true as const, client, dialect, state };
      } catch (err) {
        client.close();
        throw err;
      }
    });
  } catch (err) {
    const reason = describeMysqlError(err);
    ports.log.warn(`peer ${config.peer.name} MySQL unreachable: ${reason}`, { peer: `${target.host}:${target.port}` });
    return { reachable: false, reason };
  }
}

// Fences a server read-only and (by config) kills its client sessions so pools reconnect through the VIP.
export async function fenceServer(ctx: TransitionContext, client: SqlClient, d: Dialect, where: string,
  step: string, killClients: boolean, signal: AbortSignal): Promise<void> {
  // A commit waiting for its semi-sync ack blocks SET read_only=1: killing the client sessions first releases it.
  if (killClients) await killClientConnections(ctx, client, where, step, signal);
  // Bounded above the semi-sync timeout, so the fence outlasts any commit still waiting for an ack.
  await ctx.steps.write(client, step, where, fenceWrites(d), signal, fenceTimeoutMs(ctx, d));
  // Sessions that connected between the first kill and the fence: read-only now, but pools must move to the VIP.
  if (killClients) await killClientConnections(ctx, client, where, step, signal);
}

/** The longest a fence statement may wait: a commit blocked on a semi-sync ack ends by the semi-sync timeout. */
export function fenceTimeoutMs(ctx: TransitionContext, d: Dialect): number {
  return Math.max(ctx.config.mysql.queryTimeoutMs, d.semiSync.timeoutMs + 1000);
}

/** Step budget for fenceServer: the fence itself plus two rounds of kills. */
export function fenceBudgetMs(ctx: TransitionContext, d: Dialect): number {
  return fenceTimeoutMs(ctx, d) + 2 * ctx.config.mysql.queryTimeoutMs + 1000;
}

async function killClientConnections(ctx: TransitionContext, client: SqlClient, where: string, step: string,
  signal: AbortSignal): Promise<void> {
  const { config, steps, ports } = ctx;
  const ids = clientConnectionsToKill(await readProcessList(client, signal), {
    ownThreadId: client.threadId, users: [config.mysql.user, config.replication.user],
  });
  if (ids.length === 0) return;
  ports.log.info(`killing ${ids.length} client connection(s) on ${where}`, { step, ids });
  for (const id of ids) {
    try {
      await steps.write(client, step, where, [killConnection(id)], signal);
    } catch (err) {
      // ER_NO_SUCH_THREAD: the session ended by itself between the list and the kill.
      if ((err as { errno?: number }).errno !== 1094) throw err;
    }
  }
}

// A failed SSH step is a warning (the peer's host may be down); a rejected host key is an error and is rethrown.
function reportSshFailure(ctx: TransitionContext, what: string, err: unknown): void {
  const code = err instanceof AppError ? err.code : undefined;
  const level = code === 'SSH_HOST_KEY_REJECTED' ? 'error' : 'warn';
  ctx.ports.log[level](`cannot ${what} over SSH: ${describeError(err)}`, { code });
  if (code === 'SSH_HOST_KEY_REJECTED') throw err;
}

/** An SSH session to the peer, or undefined (logged) when no adapter is wired or the connection fails. */
export async function connectPeerFiles(ctx: TransitionContext, what: string, signal: AbortSignal): Promise<PeerFiles | undefined> {
  const { config, ports } = ctx;
  const connector = ports.peerFiles;
  if (!connector) {
    ports.log.warn(`no SSH adapter available: cannot ${what}`);
    return undefined;
  }
  try {
    return await withSignal(connector.connect(config.peer.host, config.peer.ssh, signal), signal, `SSH connect to ${config.peer.host}`);
  } catch (err) {
    reportSshFailure(ctx, what, err);
    return undefined;
  }
}

/** SSH to the peer, or undefined (logged) when no adapter is wired or the connection is refused. */
export async function withPeerFiles<T>(ctx: TransitionContext, what: string, signal: AbortSignal,
  fn: (files: PeerFiles, signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
  const files = await connectPeerFiles(ctx, what, signal);
  if (!files) return undefined;
  try {
    return await fn(files, signal);
  } catch (err) {
    reportSshFailure(ctx, what, err);
    return undefined;
  } finally {
    files.close();
  }
}

// The old master's real binlog end (index from its recorded position.json, else config, else its MySQL's answer).
export async function readPeerBinlogTail(ctx: TransitionContext, peerLogBinIndex: string | undefined,
  hint: BinlogWalkHint | undefined, signal: AbortSignal): Promise<BinlogTail | undefined> {
  const { config } = ctx;
  const bounded = deadline(config.peer.ssh.connectTimeoutMs + 2 * config.peer.ssh.commandTimeoutMs, signal);
  return withPeerFiles(ctx, "read the old master's binlog tail", bounded, async (files, s) => {
    const recorded = await files.readPositionRecord(config.peer.stateDir, s).catch(() => undefined);
    const index = recorded?.binlogIndexFile ?? config.peer.binlogIndexFile ?? peerLogBinIndex;
    if (!index) {
      ctx.ports.log.warn('no binlog index file known for the old master (no position.json, peer.binlogIndexFile unset)');
      return undefined;
    }
    return files.readBinlogTail(index, s, hint);
  }).catch(() => undefined);
}

export async function readPeerPositionRecord(ctx: TransitionContext, signal: AbortSignal): Promise<PositionRecord | undefined> {
  const { config } = ctx;
  const budget = config.peer.ssh.connectTimeoutMs + config.peer.ssh.commandTimeoutMs;
  return ctx.steps.run('read-peer-position-record', budget, signal, (s) =>
    withPeerFiles(ctx, "read the peer's position.json", s, (files, s2) => files.readPositionRecord(config.peer.stateDir, s2)));
}

