import type { Config } from '../config/schema.js';
import { AppError, describeError, isAppError } from '../errors.js';
import type { Logger } from '../log/types.js';
import { showStatement, type Statement } from '../mysql/queries.js';
import type { BinlogApplier, MysqlTarget, SqlClient, SqlConnector } from '../mysql/types.js';
import type { Clock } from '../platform/clock.js';
import { deadline } from '../platform/deadline.js';
import type { PeerFilesConnector, WitnessConnector } from '../ssh/types.js';
import type { PositionRecord } from './position-record.js';

/** Every side effect notify has, as small ports; the CLI passes real adapters, unit tests literals. */
export interface FailoverPorts {
  readonly sql: SqlConnector;
  /** SSH access to the peer's files; undefined when no adapter is available (logged, steps skipped). */
  readonly peerFiles?: PeerFilesConnector;
  /** SSH to the witness host (port forwarding only); used when config.witness is set. */
  readonly witness?: WitnessConnector;
  /** Applies the old master's recovered binlog events locally; undefined: a found gap cannot be recovered. */
  readonly binlogApplier?: BinlogApplier;
  readonly clock: Clock;
  readonly log: Logger;
  /** Atomic write of this node's position.json into paths.stateDir. */
  writePosition(record: PositionRecord): Promise<void>;
  /** True when a request newer than this transition's is waiting (latest wins): long waits end early. */
  readonly newerRequestPending?: () => Promise<boolean>;
  /** Dry run: each planned write goes here as a line, and nothing is executed. */
  readonly plan?: (line: string) => void;
}

export interface StepTiming {
  readonly step: string;
  readonly durationMs: number;
  readonly ok: boolean;
}

/** Runs named steps under their own deadline inside the transition's, logging each with its duration. */
export class StepRunner {
  readonly timings: StepTiming[] = [];
  constructor(private readonly ports: FailoverPorts) {}

  get dryRun(): boolean {
    return this.ports.plan !== undefined;
  }

  async run<T>(step: string, budgetMs: number, parent: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
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

  // Executes writes in order; in a dry run prints them (secrets masked) and executes nothing.
  async write(client: SqlClient | undefined, step: string, where: string, statements: readonly Statement[],
    signal: AbortSignal, timeoutMs?: number): Promise<void> {
    for (const s of statements) {
      const shown = showStatement(s);
      if (this.ports.plan) {
        this.ports.plan(`  [${step}] ${where}: ${shown}`);
        continue;
      }
      if (!client) throw new AppError('INTERNAL', `no connection for ${where} in step ${step}`);
      this.ports.log.debug(`sql ${where}: ${shown}`, { step });
      await client.execute(s.sql, s.params, { signal, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    }
  }

  note(line: string): void {
    this.ports.plan?.(`  ${line}`);
  }
}

export interface TransitionContext {
  readonly config: Config;
  readonly ports: FailoverPorts;
  readonly transitionId: string;
  readonly steps: StepRunner;
}

export function localTarget(config: Pick<Config, 'mysql'>): MysqlTarget {
  const m = config.mysql;
  return {
    host: m.host, port: m.port, user: m.user, password: m.password,
    connectTimeoutMs: m.connectTimeoutMs, queryTimeoutMs: m.queryTimeoutMs,
    ...(m.socketPath !== undefined ? { socketPath: m.socketPath } : {}),
  };
}

// The old/new master through its MySQL port with our admin account; short timeouts: a dead peer is the common case.
export function peerTarget(config: Config): MysqlTarget {
  return {
    host: config.peer.host, port: config.peer.mysqlPort,
    user: config.mysql.user, password: config.mysql.password,
    connectTimeoutMs: Math.min(config.mysql.connectTimeoutMs, 1000),
    queryTimeoutMs: Math.min(config.mysql.queryTimeoutMs, 2000),
  };
}

/** Bounds for steps, derived from config so a slow setting slows everything consistently. */
export function stepBudgets(config: Config): { connect: number; query: number; stopReplica: number; verify: number } {
  return {
    connect: config.mysql.connectTimeoutMs + 500,
    query: config.mysql.queryTimeoutMs + 500,
    // STOP SLAVE can block ~2 s on a hung master's socket; give it a little more, then fall back.
    stopReplica: Math.max(3000, config.mysql.queryTimeoutMs),
    verify: 10_000,
  };
}
