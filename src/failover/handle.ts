import { demote, fenceAndRecord } from './demote.js';
import { promote } from './promote.js';
import type { TransitionContext } from './steps.js';
import type { TargetState } from './transition.js';

// One transition: MASTER promotes, BACKUP demotes and rejoins, STOP and FAULT fence and record.
export async function handleTransition(state: TargetState, ctx: TransitionContext, signal: AbortSignal): Promise<void> {
  switch (state) {
    case 'MASTER': return promote(ctx, signal);
    case 'BACKUP': return demote(ctx, signal);
    case 'STOP': return fenceAndRecord(ctx, 'stopped', signal);
    case 'FAULT': return fenceAndRecord(ctx, 'fenced', signal);
  }
}
