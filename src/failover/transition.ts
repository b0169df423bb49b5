/** The state keepalived (or an operator) asks this node to take. */
export type TargetState = 'MASTER' | 'BACKUP' | 'STOP' | 'FAULT' | 'REJOIN';

export interface Transition {
  readonly state: TargetState;
  /** 'keepalived': `INSTANCE|GROUP name STATE priority`; 'manual': `master|backup|stop|fault`. */
  readonly origin: 'keepalived' | 'manual';
  readonly instance?: { readonly kind: 'INSTANCE' | 'GROUP'; readonly name: string; readonly priority: number };
}
