import { CHECK_RESERVE_MS } from '../config/check-budget.js';
import type { Config } from '../config/schema.js';
import type { MysqlTarget } from '../mysql/types.js';
import type { StepDownRecord } from '../state/files.js';
import { checkHealth, type HealthDeps, type HealthRun } from './check.js';
import { evaluate, type RetryPolicy } from './evaluate.js';
import { runGuard, type GuardOutcome, type GuardPorts } from './guard.js';

// One check round, the same for keepalived's one-shot check-mysql and the resident watcher (fast profile):
// the step-down marker, the health check with its retries and isolation guard, then the semi-sync guard.

export interface StepDownPorts {
  read(config: Config): StepDownRecord | undefined;
  /** Whether the peer's MySQL port answers (connect or refusal): the newer master is in sight again. */
  peerInSight(config: Config, signal: AbortSignal): Promise<boolean>;
  /** Asks notify to rejoin (it clears the marker once this node replicates, or finds no newer master); rate-limited. */
  requestRejoin(config: Config, configPath: string): 'requested' | 'recently-requested';
}

export interface RoundIo {
  readonly health: (config: Config) => HealthDeps;
  readonly guard: (config: Config) => GuardPorts;
  readonly stepDown: StepDownPorts;
}

export interface RoundRun {
  readonly signal: AbortSignal;
  readonly startedAt: number;
  readonly deadlineAt: number;
}

export interface Round {
  readonly health: HealthRun;
  readonly guard: GuardOutcome;
  readonly rejoin?: 'requested' | 'recently-requested';
}

export function retryPolicy(config: Config): RetryPolicy {
  return {
    retries: config.check.retries,
    retryIntervalMs: config.check.retryIntervalMs,
    attemptBudgetMs: config.mysql.connectTimeoutMs + config.mysql.queryTimeoutMs,
    reserveMs: CHECK_RESERVE_MS,
  };
}

/** Throws DEADLINE_EXCEEDED when check.deadlineMs passes before a verdict; the semi-sync guard runs on a healthy verdict when act() says so. */
export async function checkRound(config: Config, configPath: string, target: MysqlTarget, io: RoundIo, run: RoundRun, act: () => boolean): Promise<Round> {
  const marker = await stepDownState(config, configPath, io.stepDown, run.signal);
  let health = withStepDown(await checkHealth(target, retryPolicy(config), io.health(config), run), marker.steppedDown);
  const guard = health.verdict.status === 'healthy' && act()
    ? await runGuard(config, health.local, target, io.guard(config), run.signal)
    : { action: 'none' as const, detail: '' };
  if (guard.action === 'stepped-down') health = withStepDown(health, guard.detail);
  return { health, guard, ...(marker.rejoin !== undefined ? { rejoin: marker.rejoin } : {}) };
}

// A node a newer master fenced stays out of the VRRP race until that master is in sight again, then rejoins as BACKUP.
async function stepDownState(config: Config, configPath: string, ports: StepDownPorts, signal: AbortSignal): Promise<{ steppedDown?: string; rejoin?: 'requested' | 'recently-requested' }> {
  const marker = ports.read(config);
  if (marker === undefined) return {};
  const summary = `stepped down at ${marker.at || '?'} by ${marker.by}${marker.term > 0 ? ` (term ${marker.term})` : ''}: ${marker.reason}`;
  if (!(await ports.peerInSight(config, signal))) {
    return { steppedDown: `${summary}; out of the VRRP race until ${config.peer.name}'s MySQL is in sight` };
  }
  return { steppedDown: `${summary}; out of the VRRP race until a rejoin clears the marker`, rejoin: ports.requestRejoin(config, configPath) };
}

function withStepDown(h: HealthRun, steppedDown: string | undefined): HealthRun {
  if (steppedDown === undefined) return h;
  const probes = { ...h.probes, steppedDown };
  return { ...h, probes, verdict: evaluate(probes) };
}
