import { AppError } from '../errors.js';
import { describeDialect, detectDialect, type Dialect } from '../mysql/dialect.js';
import { describeMysqlError } from '../mysql/errors.js';
import { mysqlTarget, peerMysqlTarget } from '../mysql/targets.js';
import type { SqlClient } from '../mysql/types.js';
import type { PeerView } from './plans.js';
import { readServerState, type ServerState } from './server-state.js';
import { stepBudgets } from './plans.js';
import type { TransitionContext } from './steps.js';

// The read phase: what a plan is made from. Reads only; a dry run runs them too.

/** A connection that a timed-out step may have destroyed; steps reconnect through it. */
export interface LocalSession {
  client: SqlClient;
  readonly dialect: Dialect;
  reconnect(signal: AbortSignal): Promise<SqlClient>;
}

// Connects to the local server and learns its dialect; an unreachable local MySQL ends the transition.
export async function openLocal(ctx: TransitionContext, signal: AbortSignal): Promise<LocalSession> {
  const { config, ports, steps } = ctx;
  const b = stepBudgets(config);
  const connect = (s: AbortSignal): Promise<SqlClient> => ports.sql.connect(mysqlTarget(config), s).catch((err: unknown) => {
    if (err instanceof AppError) throw err;
    throw new AppError('MYSQL_UNREACHABLE', `local MySQL does not answer: ${describeMysqlError(err)}`, { cause: err });
  });
  const client = await steps.run('connect-local', b.connect, signal, connect);
  try {
    const dialect = await steps.run('detect-dialect', b.query, signal, (s) => detectDialect(client, s));
    ports.log.info(`local server: ${describeDialect(dialect)}`);
    const session: LocalSession = {
      client, dialect,
      reconnect: async (s) => {
        session.client.close();
        session.client = await steps.run('reconnect-local', b.connect, s, connect);
        return session.client;
      },
    };
    return session;
  } catch (err) {
    client.close();
    throw err;
  }
}

/** The peer's MySQL as a read found it, with its open connection when it answered. */
export type PeerSession =
  | { readonly kind: 'answered'; readonly dialect: Dialect; readonly state: ServerState; readonly client: SqlClient }
  | Extract<PeerView, { kind: 'unreachable' }>;

// Connects to the peer's MySQL (short timeouts) and reads its state; an unreachable peer is a value, not a throw.
export async function openPeer(ctx: TransitionContext, step: 'reach-old-master' | 'reach-new-master', signal: AbortSignal): Promise<PeerSession> {
  const { config, ports, steps } = ctx;
  const target = peerMysqlTarget(config);
  try {
    return await steps.run(step, target.connectTimeoutMs + 2 * target.queryTimeoutMs, signal, async (s) => {
      const client = await ports.sql.connect(target, s);
      try {
        const dialect = await detectDialect(client, s);
        const state = await readServerState(client, dialect, s);
        ports.log.info(`peer ${config.peer.name} answers: ${describeDialect(dialect)}, read_only=${state.readOnly ? 1 : 0}`,
          { peer: config.peer.host, binlog: state.binlog, gtid: state.gtidBinlogPos ?? state.gtidExecuted });
        return { kind: 'answered' as const, client, dialect, state };
      } catch (err) {
        client.close();
        throw err;
      }
    });
  } catch (err) {
    const reason = describeMysqlError(err);
    ports.log.warn(`peer ${config.peer.name} MySQL unreachable: ${reason}`, { peer: `${target.host}:${target.port}` });
    return { kind: 'unreachable', reason };
  }
}
