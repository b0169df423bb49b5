import { AppError } from '../errors.js';
import { classifyMysqlError, describeMysqlError } from '../mysql/errors.js';
import type { MysqlTarget, SqlClient, SqlConnector } from '../mysql/types.js';
import type { Clock } from '../platform/clock.js';
import { scope, withSignal } from '../platform/deadline.js';
import type { LocalReading } from './semisync-guard.js';
import {
  answered, evaluate, retryFits, shouldRetry,
  type Attempt, type IsolationFinding, type PortFinding, type ProcessFinding, type Probes, type RetryPolicy, type Verdict,
} from './evaluate.js';

/** Looks at the local mysqld without talking to it. Reads of /proc never block, so these are synchronous. */
export interface MysqldInspector {
  findMysqld(): ProcessFinding;
  listening(): PortFinding;
}

/** Answers whether any other vantage point answers; resolves (never rejects) within its own timeout or when signal fires. */
export type IsolationProber = (signal: AbortSignal) => Promise<IsolationFinding>;

/**
 * What an attempt asks on its connection. check-mysql logs in afresh and runs SELECT 1 (seed 004). The watcher's
 * session is kept, so COM_PING shows its thread answers for less CPU than a result set (no statement parsed by either
 * side); check-mysql's fresh login and SELECT 1 still cover the SQL layer every second beside it.
 */
export type LivenessQuestion = 'SELECT 1' | 'COM_PING';

export interface HealthDeps {
  readonly connector: SqlConnector;
  readonly ask: LivenessQuestion;
  readonly inspector: MysqldInspector;
  readonly clock: Clock;
  readonly isolation?: IsolationProber;
  /** Reads the semi-sync guard's inputs on the connection that just answered; a failure only skips the guard. */
  readonly readLocal?: (client: SqlClient, signal: AbortSignal) => Promise<LocalReading | undefined>;
}

export interface HealthRun {
  readonly probes: Probes;
  readonly verdict: Verdict;
  /** What the answering connection read for the semi-sync guard. */
  readonly local?: LocalReading;
}

// Runs the seed-004 check: one attempt; if it fails, inspect process and port; retry while both are there.
export async function checkHealth(
  target: MysqlTarget,
  policy: RetryPolicy,
  deps: HealthDeps,
  run: { readonly signal: AbortSignal; readonly startedAt: number; readonly deadlineAt: number },
): Promise<HealthRun> {
  const { clock } = deps;
  const since = (): number => clock.now() - run.startedAt;
  const gateway = scope(run.signal);
  // The isolation probe runs alongside the first attempt so a healthy run pays for it in wall time only once.
  const gatewayPending = deps.isolation?.(gateway.signal);
  gatewayPending?.catch(() => {});

  let local: LocalReading | undefined;
  const attempt = async (): Promise<Attempt> => {
    const at = since();
    const started = clock.now();
    const attemptScope = scope(run.signal, policy.attemptBudgetMs, 'a MySQL attempt');
    const attemptSignal = attemptScope.signal;
    let client: SqlClient | undefined;
    try {
      client = await withSignal(deps.connector.connect(target, attemptSignal), attemptSignal, 'connecting to MySQL');
      const bound = { signal: attemptSignal, timeoutMs: target.queryTimeoutMs };
      await withSignal<unknown>(deps.ask === 'COM_PING' ? client.ping(bound) : client.query('SELECT 1', undefined, bound), attemptSignal, deps.ask);
      const ms = clock.now() - started;
      if (deps.readLocal) local = await deps.readLocal(client, attemptSignal).catch(() => undefined);
      return { ok: true, at, ms };
    } catch (err) {
      if (run.signal.aborted) throw deadlinePassed('a MySQL attempt', err);
      return { ok: false, kind: classifyMysqlError(err), detail: describeMysqlError(err), at, ms: clock.now() - started };
    } finally {
      client?.close();
      attemptScope.end();
    }
  };

  try {
    const first = await attempt();
    if (answered(first)) {
      const isolation = gatewayPending ? await withSignal(gatewayPending, run.signal, 'the isolation probe') : undefined;
      const probes: Probes = { first, retries: [], retriesCutShort: false, ...(isolation ? { isolation } : {}) };
      return { probes, verdict: evaluate(probes), ...(local ? { local } : {}) };
    }
    gateway.cancel();

    const process = deps.inspector.findMysqld();
    const port = deps.inspector.listening();
    const retries: Attempt[] = [];
    let retriesCutShort = false;
    if (shouldRetry(process, port)) {
      for (let i = 0; i < policy.retries; i++) {
        if (!retryFits(run.deadlineAt - clock.now(), policy)) {
          retriesCutShort = true;
          break;
        }
        await sleepUntilDeadline(clock, policy.retryIntervalMs, run.signal);
        const next = await attempt();
        retries.push(next);
        if (answered(next)) break;
      }
    }
    const recovered = retries.find(answered) !== undefined;
    const isolation = recovered && deps.isolation ? await withSignal(deps.isolation(run.signal), run.signal, 'the isolation probe') : undefined;
    const probes: Probes = { first, process, port, retries, retriesCutShort, ...(isolation ? { isolation } : {}) };
    return { probes, verdict: evaluate(probes), ...(local ? { local } : {}) };
  } finally {
    gateway.cancel();
  }
}

async function sleepUntilDeadline(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  try {
    await clock.sleep(ms, signal);
  } catch (err) {
    throw deadlinePassed('the wait between retries', err);
  }
}

function deadlinePassed(during: string, cause: unknown): AppError {
  return new AppError('DEADLINE_EXCEEDED', `check.deadlineMs passed during ${during} before a verdict`, { cause });
}
