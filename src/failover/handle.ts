import { demote, fenceAndRecord } from './demote.js';
import { afterBackup, afterMaster, beforeBackup, beforeMaster, rejoin } from './partition.js';
import { promote } from './promote.js';
import type { TransitionContext } from './steps.js';
import type { TargetState } from './transition.js';

// One transition: MASTER promotes, BACKUP demotes and rejoins, STOP and FAULT fence and record, REJOIN ends a step-down.
export async function handleTransition(state: TargetState, ctx: TransitionContext, signal: AbortSignal): Promise<void> {
  switch (state) {
    case 'MASTER': return master(ctx, signal);
    case 'BACKUP': return backup(ctx, signal);
    case 'STOP': return fenceAndRecord(ctx, 'stopped', signal);
    case 'FAULT': return fenceAndRecord(ctx, 'fenced', signal);
    case 'REJOIN': return rejoin(ctx, signal, () => backup(ctx, signal));
  }
}

async function master(ctx: TransitionContext, signal: AbortSignal): Promise<void> {
  if (ctx.steps.dryRun) return promote(ctx, signal);
  const route = await beforeMaster(ctx, signal);
  // The old master fenced through the witness: its binlog tail is read through the witness too.
  const routed = route.via && ctx.ports.peerFiles
    ? { ...ctx, ports: { ...ctx.ports, peerFiles: { connect: (h: string, s: Parameters<NonNullable<typeof ctx.ports.peerFiles>['connect']>[1], sig: AbortSignal) => ctx.ports.peerFiles!.connect(h, s, sig, route.via) } } }
    : ctx;
  try {
    await promote(routed, signal);
  } catch (err) {
    route.via?.close();
    throw err;
  }
  await afterMaster(ctx, route, signal);
}

async function backup(ctx: TransitionContext, signal: AbortSignal): Promise<void> {
  if (ctx.steps.dryRun) return demote(ctx, signal);
  if (await beforeBackup(ctx, signal) === 'kept-writes') return;
  await demote(ctx, signal);
  await afterBackup(ctx, signal);
}
