import type { Config } from '../config/schema.js';
import { AppError, describeError, isAppError } from '../errors.js';
import type { Logger } from '../log/types.js';
import { showStatement, type Statement } from '../mysql/queries.js';
import type { BinlogApplier, SqlClient, SqlConnector } from '../mysql/types.js';
import type { TcpAnswer } from '../platform/tcp-probe.js';
import type { Clock } from '../platform/clock.js';
import { deadline } from '../platform/deadline.js';
import type { PeerFilesConnector, WitnessConnector } from '../ssh/types.js';
import type { NodeStateFiles } from '../state/files.js';
import type { StepName } from './plan.js';
import type { PositionRecord } from './position-record.js';

/** Every side effect notify has, as small ports; the CLI passes real adapters, unit tests literals. */
export interface FailoverPorts {
  readonly sql: SqlConnector;
  /** SSH access to the peer's files; undefined in a dry run and in tests without SSH (logged where needed). */
  readonly peerFiles?: PeerFilesConnector;
  /** SSH to the witness host (port forwarding only); used when config.witness is set. */
  readonly witness?: WitnessConnector;
  /** Applies the old master's recovered binlog events locally; undefined: a found gap cannot be recovered. */
  readonly binlogApplier?: BinlogApplier;
  readonly clock: Clock;
  readonly log: Logger;
  /** A bare TCP connect to host:port (no protocol): tells a hung server on a live host from a host that is gone. */
  tcpAnswer(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<TcpAnswer>;
  /** Atomic write of this node's position.json into paths.stateDir. */
  writePosition(record: PositionRecord): Promise<void>;
  /** term.json, stepdown.json and the semi-sync switch log of this node. */
  readonly state: NodeStateFiles;
  /**
   * How mysqld starts next (init-rpl-role). Only MASTER is written: SLAVE truncates an un-acknowledged tail at a crash
   * restart, but the drill old-master-errant showed the peer may hold that tail and a local write then reuses its GTID.
   */
  recordStartupRole(role: 'master', reason: string): Promise<void>;
  /** BACKUP found errant transactions: save and discard them and replicate, only when no client can have been acknowledged for them. */
  healErrant(signal: AbortSignal): Promise<void>;
  /** True when a request newer than this transition's is waiting (latest wins): long waits end early. */
  readonly newerRequestPending?: () => Promise<boolean>;
}

/** Names of the reads before a plan is made, and of the sub-steps inside compound plan steps. */
export type ReadStepName =
  | 'connect-local' | 'detect-dialect' | 'reconnect-local' | 'reach-old-master' | 'stop-io-thread' | 'stop-sql-thread'
  | 'read-old-master-tail' | 'allow-admin-writes' | 'apply-old-master-tail';

export interface StepTiming {
  readonly step: string;
  readonly durationMs: number;
  readonly ok: boolean;
}

/** Runs named steps under their own deadline inside the transition's, logging each with its duration. */
export class StepRunner {
  readonly timings: StepTiming[] = [];
  constructor(private readonly ports: Pick<FailoverPorts, 'clock' | 'log'>) {}

  async run<T>(step: StepName | ReadStepName, budgetMs: number, parent: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const started = this.ports.clock.now();
    const signal = deadline(budgetMs, parent);
    try {
      const value = await fn(signal);
      const durationMs = this.ports.clock.now() - started;
      this.timings.push({ step, durationMs, ok: true });
      this.ports.log.info(`step ${step} done`, { step, durationMs });
      return value;
    } catch (err) {
      const durationMs = this.ports.clock.now() - started;
      this.timings.push({ step, durationMs, ok: false });
      const level = isAppError(err) && err.code === 'SUPERSEDED' ? 'info' : 'error';
      this.ports.log[level](`step ${step} ${level === 'info' ? 'cut short' : 'failed'}: ${describeError(err)}`, { step, durationMs, code: isAppError(err) ? err.code : undefined });
      if (!isAppError(err) && signal.aborted) {
        throw new AppError('DEADLINE_EXCEEDED', `step ${step} exceeded its ${budgetMs} ms deadline`, { cause: err });
      }
      throw err;
    }
  }

  // Executes statements in order, each logged (secrets masked).
  async sql(client: SqlClient, step: string, where: string, statements: readonly Statement[], signal: AbortSignal, timeoutMs?: number): Promise<void> {
    for (const s of statements) {
      this.ports.log.debug(`sql ${where}: ${showStatement(s)}`, { step });
      await client.execute(s.sql, s.params, { signal, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    }
  }
}

export interface TransitionContext {
  readonly config: Config;
  readonly ports: FailoverPorts;
  readonly transitionId: string;
  readonly steps: StepRunner;
}

/** What a fence needs of a transition: a switchover fences with it too. */
export type FenceContext = Pick<TransitionContext, 'config' | 'steps'> & { readonly ports: Pick<FailoverPorts, 'log' | 'clock'> };
