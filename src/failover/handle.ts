import { AppError, describeError, isAppError } from '../errors.js';
import { classifyMysqlError } from '../mysql/errors.js';
import { pollUntil } from '../platform/poll.js';
import { closeRuntime, executePlan, type Runtime } from './execute.js';
import { renderPlan, type Plan } from './plan.js';
import { afterBackup, afterMaster, beforeBackup, beforeMaster, phaseLines, rejoin, type MasterRoute } from './partition.js';
import { hasReplication, planDemotion, planFenceAndRecord, planPromotion, stepBudgets } from './plans.js';
import { openLocal, openPeer, type LocalSession } from './read.js';
import { readServerState } from './server-state.js';
import type { TransitionContext } from './steps.js';
import type { TargetState } from './transition.js';

/** Execute the plan, or (--dry-run) print it: the same plan either way. */
export type Mode = { readonly kind: 'execute' } | { readonly kind: 'print'; readonly print: (line: string) => void };

// One transition: read, plan (pure), then execute or print. MASTER promotes, BACKUP demotes and rejoins, STOP and FAULT
// fence and record, REJOIN ends a step-down. The partition phases (partition.ts) run around MASTER and BACKUP.
export async function handleTransition(state: TargetState, ctx: TransitionContext, signal: AbortSignal,
  mode: Mode = { kind: 'execute' }): Promise<void> {
  if (state === 'REJOIN') return rejoin(ctx, signal, () => handleTransition('BACKUP', ctx, signal, mode));
  const execute = mode.kind === 'execute';
  if (execute && state === 'BACKUP' && await beforeBackup(ctx, signal) === 'kept-writes') return;
  const route = execute && state === 'MASTER' ? await beforeMaster(ctx, signal) : undefined;
  try {
    await runPlan(state, routedThrough(ctx, route), signal, mode, route);
  } catch (err) {
    route?.via?.close();
    if (!(execute && state === 'BACKUP' && isAppError(err) && err.code === 'ERRANT_TRANSACTIONS')) throw err;
    await healOrStayFenced(ctx, err, signal);
  }
  if (route) afterMaster(route);
  if (mode.kind === 'execute' && state === 'BACKUP') await afterBackup(ctx, signal);
}

// Errant transactions: the automatic heal runs only when no client can have been acknowledged for them; else stay fenced.
async function healOrStayFenced(ctx: TransitionContext, errant: AppError, signal: AbortSignal): Promise<void> {
  try {
    await ctx.ports.healErrant(signal);
    ctx.ports.log.warn(`healed: ${errant.message.split(';')[0]}: saved, discarded and replicating from the new master`);
  } catch (err) {
    throw new AppError('ERRANT_TRANSACTIONS', `${errant.message}; automatic heal refused: ${describeError(err)}`, { cause: err });
  }
}

// An old master fenced through the witness has its binlog tail read through the witness too.
function routedThrough(ctx: TransitionContext, route: MasterRoute | undefined): TransitionContext {
  const via = route?.via;
  const files = ctx.ports.peerFiles;
  if (via === undefined || files === undefined) return ctx;
  return { ...ctx, ports: { ...ctx.ports, peerFiles: { connect: (host, ssh, s) => files.connect(host, ssh, s, via) } } };
}

async function runPlan(state: Exclude<TargetState, 'REJOIN'>, ctx: TransitionContext, signal: AbortSignal, mode: Mode,
  route?: MasterRoute): Promise<void> {
  const { config } = ctx;
  const local = state === 'STOP' || state === 'FAULT' ? await openLocalToFence(ctx, signal) : await openLocal(ctx, signal);
  if (!local) return;
  const rt: Runtime = { ctx, local, facts: {} };
  try {
    let plan: Plan;
    switch (state) {
      case 'MASTER': {
        const before = await ctx.steps.run('read-local', stepBudgets(config).query, signal, (s) => readServerState(local.client, local.dialect, s));
        // Fence the old master first (when it answers): asked only when there is replication to finish.
        // A peer that just stayed silent (or was fenced through the witness) is not waited on a second time.
        if (hasReplication(before.replica)) {
          const silent = route?.peerSilent;
          rt.peer = silent !== undefined
            ? { kind: 'unreachable', reason: silent, ...(route?.peerBinlogIndex ? { binlogIndex: route.peerBinlogIndex } : {}),
              ...(route?.peerHostSilent ? { hostSilent: true } : {}) }
            : await openPeer(ctx, 'reach-old-master', signal);
        }
        plan = planPromotion(config, { dialect: local.dialect, state: before, ...(route?.ioThreadExiting ? { ioThreadExiting: true } : {}) },
          rt.peer ?? { kind: 'not-asked' });
        break;
      }
      case 'BACKUP': plan = planDemotion(config, local.dialect); break;
      case 'STOP': plan = planFenceAndRecord(config, local.dialect, 'stopped'); break;
      case 'FAULT': plan = planFenceAndRecord(config, local.dialect, 'fenced'); break;
    }
    if (mode.kind === 'print') {
      for (const line of [...phaseLines(state, config), ...renderPlan(plan)]) mode.print(line);
      return;
    }
    await executePlan(plan, rt, signal);
  } finally {
    closeRuntime(rt);
  }
}

// STOP / FAULT: mysqld refusing is the usual STOP (check-mysql stopped keepalived; it restarts read-only): nothing to
// fence. A hung mysqld (SIGSTOP, I/O stall) may resume writable without the VIP: keep trying to reach it, bounded.
async function openLocalToFence(ctx: TransitionContext, signal: AbortSignal): Promise<LocalSession | undefined> {
  const { ports } = ctx;
  type Attempt = { readonly session: LocalSession } | { readonly err: unknown; readonly hung: boolean };
  const attempt = async (): Promise<Attempt> => {
    try {
      return { session: await openLocal(ctx, signal) };
    } catch (err) {
      return { err, hung: hungNotDown(err) };
    }
  };
  let last: Attempt | undefined;
  try {
    last = (await pollUntil<Attempt>({
      // Each attempt waits out its connect timeout on a hung mysqld, and the one in flight when it resumes is answered
      // first: short sleeps keep the resumed master writable for milliseconds, not the back-off's second.
      clock: ports.clock, signal, deadlineMs: Infinity, firstDelayMs: 20, maxDelayMs: 20,
      read: async () => (last = await attempt()),
      settled: (a) => 'session' in a || !a.hung || signal.aborted,
      beforeSleep: (a, delayMs) => {
        if ('err' in a) ports.log.warn(`local MySQL accepts but does not answer (${describeError(a.err)}): retrying the fence in ${delayMs} ms`);
      },
    })).value;
  } catch {
    // The deadline fired while waiting to retry: `last` is the hung attempt.
  }
  if (last && 'session' in last) return last.session;
  const hung = last?.hung ?? true;
  const err = last?.err ?? new AppError('DEADLINE_EXCEEDED', 'deadline passed before local MySQL answered');
  ports.log[hung ? 'error' : 'warn'](`local MySQL does not answer (${describeError(err)}): ` +
    (hung ? 'it is hung and could not be fenced before the deadline' : 'nothing to fence or record'));
  if (hung) throw err;
  return undefined;
}



// A connection that timed out (a process that accepts and never answers) rather than one refused (no mysqld).
function hungNotDown(err: unknown): boolean {
  const cause = err instanceof AppError && err.cause !== undefined ? err.cause : err;
  return classifyMysqlError(cause) === 'timeout' || (err instanceof AppError && err.code === 'DEADLINE_EXCEEDED');
}
