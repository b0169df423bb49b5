import type { WithoutWitness } from '../config/schema.js';

// Who may switch a master to asynchronous commits. MySQL/MariaDB's own semi-sync timeout would do it blindly, so
// the recommended my.cnf makes it never fire; check-mysql on the master does it only once it has proved that the
// replica is not promoting (an isolated node never promotes: its own isolation guard fails its check first).

/** What the local server said, read on the check's connection right after it answered. */
export interface LocalReading {
  readonly readOnly: boolean;
  /** Sessions waiting ≥ 1 s for a semi-sync acknowledgement. */
  readonly stuckCommits: number;
  /** Binlog dump threads: replicas connected to this server. */
  readonly replicas: number;
  /** The semi-sync master switch by its server name; undefined without the plugin. */
  readonly semiSync?: { readonly variable: string; readonly enabled: boolean };
  readonly gtidBinlogPos: string;
}

export type GuardStep =
  | { readonly kind: 'none' }
  | { readonly kind: 'enable-semi-sync'; readonly variable: string; readonly why: string }
  | { readonly kind: 'prove-replica-lost'; readonly variable: string; readonly why: string };

export function guardStep(r: LocalReading | undefined): GuardStep {
  if (r === undefined || r.readOnly || r.semiSync === undefined) return { kind: 'none' };
  const { variable, enabled } = r.semiSync;
  if (!enabled && r.replicas > 0) {
    return { kind: 'enable-semi-sync', variable, why: `${r.replicas} replica(s) connected: commits wait for an acknowledgement again` };
  }
  if (enabled && r.stuckCommits > 0) {
    return { kind: 'prove-replica-lost', variable, why: `${r.stuckCommits} commit(s) waiting ≥ 1 s for the replica's acknowledgement` };
  }
  return { kind: 'none' };
}

/** How a vantage point saw the peer's MySQL port. */
export type PeerSight = 'read-only' | 'writable' | 'refused' | 'silent';

export interface Proof {
  readonly direct: PeerSight;
  /** Through the witness; undefined when there is none, 'no-witness' when the witness itself does not answer. */
  readonly viaWitness?: PeerSight | 'no-witness';
}

export type GuardDecision =
  | { readonly kind: 'async'; readonly why: string }
  | { readonly kind: 'keep-waiting'; readonly why: string }
  | { readonly kind: 'step-down'; readonly why: string };

export function decideReplicaLost(p: Proof, withoutWitness: WithoutWitness): GuardDecision {
  const seen = (s: PeerSight, where: string): GuardDecision | undefined => {
    if (s === 'read-only') return { kind: 'async', why: `the replica answers ${where} and is read-only: a promotion of it would fence this master first` };
    if (s === 'refused') return { kind: 'async', why: `the replica's host ${where} refuses its MySQL port: mysqld is down and cannot promote` };
    if (s === 'writable') return { kind: 'step-down', why: `the peer answers ${where} and is WRITABLE: it was promoted; this master is stale` };
    return undefined;
  };
  const direct = seen(p.direct, 'directly');
  if (direct) return direct;
  if (p.viaWitness === 'no-witness') {
    return { kind: 'keep-waiting', why: 'neither the replica nor the witness answers: this node is the isolated one (its check fails)' };
  }
  if (p.viaWitness !== undefined) {
    const via = seen(p.viaWitness, 'through the witness');
    if (p.viaWitness === 'read-only') {
      return { kind: 'keep-waiting', why: 'the link between the nodes is cut but the replica answers through the witness: it may promote and fence this master there' };
    }
    return via ?? { kind: 'async', why: 'the witness cannot reach the replica either: it is dead or isolated, and an isolated node never promotes' };
  }
  return withoutWitness === 'async'
    ? { kind: 'async', why: 'the replica does not answer and no witness is configured: partition.withoutWitness is "async" (acknowledged writes may be lost if it is alive behind a cut)' }
    : { kind: 'step-down', why: 'the replica does not answer and no witness can tell whether it is alive: partition.withoutWitness is "fence", this master steps down rather than risk two masters' };
}
