import type { FailureKind } from '../mysql/errors.js';

// The check algorithm of seed 004 as plain functions: probe results in, verdict out. No I/O here.

/** One attempt: connect, then SELECT 1 or COM_PING (HealthDeps.ask). `at` is ms since the run started. */
export type Attempt =
  | { readonly ok: true; readonly at: number; readonly ms: number }
  | { readonly ok: false; readonly kind: FailureKind; readonly detail: string; readonly at: number; readonly ms: number };

export interface ProcessFinding {
  readonly found: boolean;
  readonly pid?: number;
  /** How it was found or why not: "pid file /run/mysqld.pid → 812 (mariadbd)". */
  readonly detail: string;
}

export interface PortFinding {
  readonly listening: boolean;
  readonly detail: string;
}

/** The isolation guard: did any other vantage point (peer, witness or gateway) answer? */
export interface IsolationFinding {
  readonly answered: boolean;
  readonly detail: string;
  readonly ms: number;
}

/** Everything one run observed, in the order it was observed. */
export interface Probes {
  readonly first: Attempt;
  readonly process?: ProcessFinding;
  readonly port?: PortFinding;
  readonly retries: readonly Attempt[];
  /** The retry loop stopped early because another retry would not have fit before the deadline. */
  readonly retriesCutShort: boolean;
  readonly isolation?: IsolationFinding;
  /** A newer master fenced this node (state dir stepdown.json) and is not reachable yet. */
  readonly steppedDown?: string;
}

export interface RetryPolicy {
  readonly retries: number;
  readonly retryIntervalMs: number;
  /** Longest one attempt can take: connect timeout + query timeout. */
  readonly attemptBudgetMs: number;
  /** Time kept back at the end of the run to log the verdict and stop keepalived. */
  readonly reserveMs: number;
}

export type DownReason = 'process-missing' | 'port-closed' | 'no-answer-after-retries' | 'isolated' | 'stepped-down';

export type Verdict =
  | {
      readonly status: 'healthy';
      /** answered: quiet. recovered (after retries) and alive-but-refusing (a wrong password…) must be logged. */
      readonly how: 'answered' | 'recovered' | 'alive-but-refusing';
      readonly summary: string;
    }
  | { readonly status: 'down'; readonly reason: DownReason; readonly summary: string };

/** mysqld answered: with a result, or with an error only a running server can send. */
export function answered(a: Attempt): boolean {
  return a.ok || a.kind === 'alive-but-refusing';
}

/** After a failed first attempt: retry only while both the process and its port are there. */
export function shouldRetry(process: ProcessFinding, port: PortFinding): boolean {
  return process.found && port.listening;
}

// A retry is started only if its wait and its whole attempt end before the deadline minus the reserve.
export function retryFits(remainingMs: number, policy: RetryPolicy): boolean {
  return policy.retryIntervalMs + policy.attemptBudgetMs + policy.reserveMs <= remainingMs;
}

export function evaluate(probes: Probes): Verdict {
  if (answered(probes.first)) return aliveVerdict(probes, probes.first, 'first attempt');

  const { process, port } = probes;
  if (process === undefined || !process.found) {
    return { status: 'down', reason: 'process-missing', summary: `mysqld process missing: ${process?.detail ?? 'not inspected'}` };
  }
  if (port === undefined || !port.listening) {
    return { status: 'down', reason: 'port-closed', summary: `mysqld not listening: ${port?.detail ?? 'not inspected'}` };
  }
  const recovered = probes.retries.findIndex(answered);
  const hit = probes.retries[recovered];
  if (hit !== undefined) return aliveVerdict(probes, hit, `retry ${recovered + 1}`);

  const last = probes.retries.at(-1) ?? probes.first;
  const cut = probes.retriesCutShort ? ' (retries cut short by the deadline)' : '';
  return {
    status: 'down',
    reason: 'no-answer-after-retries',
    summary: `mysqld process and port are there but it did not answer ${probes.retries.length + 1} attempts${cut}; last: ${describeAttempt(last)}`,
  };
}

function aliveVerdict(probes: Probes, hit: Attempt, which: string): Verdict {
  if (probes.isolation !== undefined && !probes.isolation.answered) {
    return { status: 'down', reason: 'isolated', summary: `MySQL answers but nothing else does (${probes.isolation.detail}): this node is the isolated one` };
  }
  if (probes.steppedDown !== undefined) {
    return { status: 'down', reason: 'stepped-down', summary: probes.steppedDown };
  }
  const recovered = hit !== probes.first;
  if (hit.ok) {
    return recovered
      ? { status: 'healthy', how: 'recovered', summary: `MySQL answered on ${which}` }
      : { status: 'healthy', how: 'answered', summary: 'MySQL answered' };
  }
  return {
    status: 'healthy',
    how: 'alive-but-refusing',
    summary: `mysqld is alive but refuses the monitor account on ${which}: ${hit.detail} (fix the account; this is not a failover)`,
  };
}

/** True for a plain answer: the run that writes nothing to the log. */
export function isQuiet(v: Verdict): boolean {
  return v.status === 'healthy' && v.how === 'answered';
}

export function describeAttempt(a: Attempt): string {
  return a.ok ? `ok in ${a.ms} ms` : `${a.kind} after ${a.ms} ms: ${a.detail}`;
}
