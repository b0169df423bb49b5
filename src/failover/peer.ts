import { AppError, describeError } from '../errors.js';
import { withSignal } from '../platform/deadline.js';
import type { BinlogTail, BinlogWalkHint, PeerFiles } from '../ssh/types.js';
import type { PositionRecord } from './position-record.js';
import type { TransitionContext } from './steps.js';

// SSH to the peer's files: a failed connection is a logged fact (its host may be down), a rejected host key an error.

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
async function withPeerFiles<T>(ctx: TransitionContext, what: string, signal: AbortSignal,
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

/** The old master's binlog index: from its recorded position.json, else config, else what its MySQL said. Looked up once here. */
export async function peerBinlogIndex(ctx: TransitionContext, files: PeerFiles, fromMysql: string | undefined, signal: AbortSignal): Promise<string | undefined> {
  const recorded = await files.readPositionRecord(ctx.config.peer.stateDir, signal).catch(() => undefined);
  const index = recorded?.binlogIndexFile ?? ctx.config.peer.binlogIndexFile ?? fromMysql;
  if (!index) ctx.ports.log.warn('no binlog index file known for the old master (no position.json, peer.binlogIndexFile unset)');
  return index;
}

// The old master's real binlog end, for the log after a promotion that fenced it.
export async function readPeerBinlogTail(ctx: TransitionContext, indexFromMysql: string | undefined,
  hint: BinlogWalkHint | undefined, signal: AbortSignal): Promise<BinlogTail | undefined> {
  return withPeerFiles(ctx, "read the old master's binlog tail", signal, async (files, s) => {
    const index = await peerBinlogIndex(ctx, files, indexFromMysql, s);
    return index === undefined ? undefined : files.readBinlogTail(index, s, hint);
  }).catch(() => undefined);
}

export async function readPeerPositionRecord(ctx: TransitionContext, signal: AbortSignal): Promise<PositionRecord | undefined> {
  return withPeerFiles(ctx, "read the peer's position.json", signal, (files, s) => files.readPositionRecord(ctx.config.peer.stateDir, s));
}
