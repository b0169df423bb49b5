import type { AppError } from '../errors.js';
import type { Dialect } from '../mysql/dialect.js';
import { changeSource, showStatement, type ReplicaStatus, type SourceSpec, type Statement } from '../mysql/queries.js';
import type { BinlogWalkHint } from '../ssh/types.js';
import type { ErrantCheck } from './gtid.js';
import type { PositionRecord } from './position-record.js';
import type { ServerState } from './server-state.js';
import type { TailOutcome } from './tail-recovery.js';

// A transition is a plan: an ordered list of typed steps and decision points, built by a pure function from what
// was read (src/failover/plans.ts), then either executed (execute.ts) or rendered for --dry-run (renderPlan).

/**
 * Which server a step talks to. 'peer' is the other node's MySQL over the route the read phase (or a reach step)
 * opened: directly, or through a witness host's port forwarding; the step's `where` names the route for the print.
 */
export type Server = 'local' | 'peer';

/** Every step name, written once: logs, timings (bench) and the dry-run print use these. */
export type StepName =
  | 'fence-old-master' | 'fence-local' | 'fence-old-master-via-witness' | 'fence-stale-peer' | 'stay-fenced' | 'connect-old-master-ssh' | 'start-sql-thread' | 'start-io-thread'
  | 'catch-up' | 'kill-io-thread' | 'kill-sql-thread' | 'stop-replication' | 'read-at-stop' | 'recover-tail' | 'detach-replication'
  | 'durable-commits' | 'semi-sync-master' | 'open-writes' | 'record-position' | 'compare-old-master-tail'
  | 'reach-new-master' | 'wait-peer-writable' | 'read-local' | 'read-peer-position-record' | 'errant-check' | 'semi-sync-replica' | 'restart-io-thread' | 'change-source-timers'
  | 'set-gtid-slave-pos' | 'change-source' | 'start-replication' | 'verify-replication';

/** Where the new master stands, from its MySQL or, failing that, its recorded position.json. */
export interface PeerPosition {
  readonly source: 'peer-mysql' | 'position-record';
  readonly binlog?: { readonly file: string; readonly pos: number };
  readonly gtidBinlogPos?: string;
  readonly gtidBinlogState?: string;
  readonly gtidExecuted?: string;
}

export interface CatchUpResult {
  readonly caughtUp: boolean;
  readonly target: string;
  readonly detail: string;
}

/** What the executor learns mid-way; decision nodes test these, never a flag of their own. */
export interface Facts {
  /** The fence step on the old master finished (its GTIDs, if any, were read after it). */
  oldMasterFenced?: boolean;
  /** The fenced old master's GTIDs: everything it will ever have (undefined when GTIDs are off). */
  oldMasterGtids?: string;
  catchUp?: CatchUpResult;
  /** Replica coordinates and server state right after replication stopped (exact: the SQL thread is drained). */
  atStop?: { readonly replica: ReplicaStatus | undefined; readonly state: ServerState };
  tail?: TailOutcome;
  /** BACKUP: the local state read after the fence (a killed session may have committed in between). */
  local?: ServerState;
  /** That state shows both threads running from the peer's host and port. */
  replicatingFromNewMaster?: boolean;
  /** Replicating from the new master with the configured timers, acknowledging as a semi-sync replica. */
  replicationCurrent?: boolean;
  newMaster?: PeerPosition;
  /** Why the recorded position the new master was learned from may be stale (an errant verdict cannot rest on it). */
  newMasterRecordStale?: string;
  /** The new master's MySQL answered (its session is open). */
  peerAnswered?: boolean;
  /** Why the new master's position could not be learned (an error to end the transition with). */
  newMasterUnknown?: AppError;
  errant?: ErrantCheck;
  replication?: ReplicaStatus;
}

/** A decision point: a question answered by a fact learned mid-way. */
export type Condition =
  | 'old-master-fenced' | 'caught-up' | 'tail-gap' | 'peer-answered' | 'new-master-known' | 'errant' | 'replicating-from-new-master'
  | 'replication-current'
  | 'replicating' | 'sql-thread-running';

const QUESTIONS: Readonly<Record<Condition, string>> = {
  'old-master-fenced': 'was the old master fenced?',
  'caught-up': 'did the replica apply everything within the catch-up timeout?',
  'tail-gap': "does the old master's binlog hold transactions this node lacks?",
  'peer-answered': "does the new master's MySQL answer?",
  'new-master-known': "is the new master's position known?",
  'replicating-from-new-master': 'is this node already replicating from the new master?',
  'replication-current': 'does it already run with the configured timers and as a semi-sync replica?',
  errant: 'does this node hold GTIDs the new master lacks?',
  replicating: 'are both replication threads running?',
  'sql-thread-running': 'is the SQL thread running?',
};

// Pure: the answer to a decision point from the facts in hand.
export function holds(c: Condition, f: Facts): boolean {
  switch (c) {
    case 'old-master-fenced': return f.oldMasterFenced === true;
    case 'caught-up': return f.catchUp?.caughtUp === true;
    case 'tail-gap': return f.tail?.kind === 'gap';
    case 'peer-answered': return f.peerAnswered === true;
    case 'new-master-known': return f.newMaster !== undefined;
    case 'replicating-from-new-master': return f.replicatingFromNewMaster === true;
    case 'replication-current': return f.replicationCurrent === true;
    case 'errant': return f.errant !== undefined && (f.errant.errant.length > 0 || f.errant.unproven.length > 0);
    case 'replicating': return f.replication?.ioRunning === 'Yes' && f.replication.sqlRunning === 'Yes';
    case 'sql-thread-running': return f.replication?.sqlRunning === 'Yes';
  }
}

/** What the catch-up waits for. */
export type CatchUpTarget =
  /** A GTID set known when planning (what the replica received). */
  | { readonly kind: 'gtids'; readonly gtids: string }
  /** The fenced old master's GTIDs, read right after its fence. */
  | { readonly kind: 'old-master-gtids' }
  /** No GTIDs: poll until the relay log is applied (MHA's rule). */
  | { readonly kind: 'relay' };

interface Named {
  readonly name: StepName;
  /** The step's own deadline (inside the transition's). */
  readonly budgetMs: number;
}

export type Step =
  /** Statements in order on one server. */
  | Named & { readonly kind: 'sql'; readonly on: Server; readonly where: string; readonly statements: readonly Statement[]; readonly timeoutMs?: number }
  /**
   * Kill client sessions (a commit waiting for its semi-sync ack blocks read_only), fence, kill late arrivals.
   * On the old master a failure is a fact ('old-master-fenced' false), not the end of the transition.
   */
  | Named & { readonly kind: 'fence'; readonly on: Server; readonly where: string; readonly statements: readonly Statement[];
      readonly timeoutMs: number; readonly killClients: boolean }
  /** Open the SSH session to the old master now, in the background (its handshake off the critical path). */
  | Named & { readonly kind: 'connect-ssh' }
  | Named & { readonly kind: 'catch-up'; readonly target: CatchUpTarget; readonly timeoutMs: number; readonly status: ReplicaStatus }
  /** The source is unreachable: stop the SQL thread, then KILL the IO thread (STOP would wait on its socket). */
  | Named & { readonly kind: 'kill-io-thread'; readonly statements: readonly Statement[] }
  /**
   * The IO thread is killed but not gone yet (MariaDB: its semi-sync connect to the dead source), and STOP SQL_THREAD
   * would wait for it: KILL the SQL thread instead (all it received is applied) and wait until it has stopped.
   */
  | Named & { readonly kind: 'kill-sql-thread'; readonly boundMs: number }
  /** STOP, bounded; when it does not finish, reconnect and stop the threads one by one. */
  | Named & { readonly kind: 'stop-replication'; readonly statement: Statement; readonly fallback: readonly Statement[]; readonly timeoutMs: number }
  /** Reads the exact coordinates after STOP; refuses to go on while the IO thread still runs ('killed': runs un-killed). */
  | Named & { readonly kind: 'read-at-stop'; readonly ioThread: 'stopped' | 'killed' }
  /** Recover the unfenced old master's binlog tail over SSH; sets the 'tail' fact. */
  | Named & { readonly kind: 'recover-tail'; readonly recover: boolean; readonly appliedNow: string; readonly indexFile?: string }
  /** After writes open, read the fenced old master's binlog end for the log. */
  | Named & { readonly kind: 'compare-old-master-tail'; readonly indexFile?: string; readonly hint?: BinlogWalkHint }
  | Named & { readonly kind: 'record-position'; readonly role: PositionRecord['role']; readonly replicaAtStop: boolean; readonly bestEffort: boolean }
  | Named & { readonly kind: 'wait-peer-writable'; readonly boundMs: number }
  | Named & { readonly kind: 'read-local' }
  /** Connect to the new master's MySQL (short timeouts): an unreachable peer is a fact, not an error. */
  | Named & { readonly kind: 'reach-peer' }
  /** The new master's recorded position.json over SSH (its MySQL did not tell). */
  | Named & { readonly kind: 'read-peer-position-record' }
  | Named & { readonly kind: 'errant-check' }
  /** MariaDB: gtid_slave_pos = max(gtid_binlog_pos, gtid_slave_pos) of the state read after the fence. */
  | Named & { readonly kind: 'set-gtid-slave-pos' }
  | Named & { readonly kind: 'change-source'; readonly dialect: Dialect; readonly spec: Omit<SourceSpec, 'position'>; readonly byGtid: boolean }
  | Named & { readonly kind: 'verify-replication'; readonly boundMs: number };

export type Node =
  | Step
  /** A line in the log (and the dry-run print); text may use facts learned so far. */
  | { readonly kind: 'note'; readonly level: 'info' | 'warn' | 'error'; readonly shown: string; readonly text?: (f: Facts) => string }
  | { readonly kind: 'if'; readonly test: Condition; readonly then: Plan; readonly else: Plan }
  /** Ends the transition with this error. */
  | { readonly kind: 'fail'; readonly shown: string; readonly error: (f: Facts) => AppError };

export type Plan = readonly Node[];

const isStep = (n: Node): n is Step => n.kind !== 'note' && n.kind !== 'if' && n.kind !== 'fail';

/** Pure: the steps a plan runs (and the error it ends with) when the decision points meet these facts. */
export function trace(plan: Plan, facts: Facts): { steps: Step[]; fails?: AppError } {
  const steps: Step[] = [];
  const walk = (p: Plan): AppError | undefined => {
    for (const n of p) {
      if (n.kind === 'if') {
        const failed = walk(holds(n.test, facts) ? n.then : n.else);
        if (failed) return failed;
      } else if (n.kind === 'fail') {
        return n.error(facts);
      } else if (isStep(n)) {
        steps.push(n);
      }
    }
    return undefined;
  };
  const fails = walk(plan);
  return fails ? { steps, fails } : { steps };
}

// One line per statement or action; the dry-run print and the plan the tests read.
function describeStep(s: Step): string[] {
  const at = (where: string, statements: readonly Statement[]): string[] => statements.map((x) => `[${s.name}] ${where}: ${showStatement(x)}`);
  switch (s.kind) {
    case 'sql': return at(s.where, s.statements);
    case 'fence': return [
      ...(s.killClients ? [`[${s.name}] ${s.where}: KILL each client session (process list; keeps replication, system and toolkit accounts)`] : []),
      ...at(s.where, s.statements).map((l) => `${l} (waits up to ${s.timeoutMs} ms)`),
      ...(s.killClients ? [
        `[${s.name}] ${s.where}: on a lock wait timeout (a commit that began after the kill), KILL again and retry, up to ${s.timeoutMs} ms`,
        `[${s.name}] ${s.where}: KILL client sessions that connected meanwhile`,
      ] : []),
    ];
    case 'connect-ssh': return [`[${s.name}] open an SSH session to the old master in the background`];
    case 'catch-up': return [`[${s.name}] local: wait up to ${s.timeoutMs} ms for ${
      s.target.kind === 'gtids' ? `GTIDs ${s.target.gtids}` : s.target.kind === 'old-master-gtids' ? "the fenced old master's GTIDs"
        : 'the relay log to be applied (polling)'}`];
    case 'kill-io-thread': return [...at('local', s.statements), `[${s.name}] local: KILL CONNECTION <replication IO thread>`];
    case 'stop-replication': return [...at('local', [s.statement]).map((l) => `${l} (${s.timeoutMs} ms; else ${s.fallback.map(showStatement).join(', ')} on a new connection)`)];
    case 'kill-sql-thread': return [`[${s.name}] local: KILL CONNECTION <replication SQL thread>, then wait up to ${s.boundMs} ms until it has stopped`];
    case 'read-at-stop': return [`[${s.name}] local: read the replica's coordinates; refuse if the IO thread still runs${
      s.ioThread === 'killed' ? ' un-killed' : ''}`];
    case 'recover-tail': return [`[${s.name}] would read the old master's binlogs over SSH from ${s.appliedNow} ` +
      (s.recover ? 'and apply its complete missing transactions locally (mariadb-binlog | mariadb) before opening writes'
        : '(recoverOldMasterTail=false: a gap is decided by onCatchUpTimeout)')];
    case 'compare-old-master-tail': return [`[${s.name}] read the old master's binlog end over SSH and compare it with what was applied`];
    case 'record-position': return [`[${s.name}] write position.json (role ${s.role})`];
    case 'wait-peer-writable': return [`[${s.name}] peer: wait up to ${s.boundMs} ms until it is writable (ends early when a newer request waits)`];
    case 'read-local': return [`[${s.name}] local: read its state after the fence`];
    case 'reach-peer': return [`[${s.name}] peer: connect to its MySQL and read its state`];
    case 'read-peer-position-record': return [`[${s.name}] peer: read its position.json over SSH`];
    case 'errant-check': return [`[${s.name}] compare this node's GTIDs with the new master's`];
    case 'set-gtid-slave-pos': return [`[${s.name}] local: SET GLOBAL gtid_slave_pos = <per domain the higher of gtid_binlog_pos and gtid_slave_pos>`];
    case 'change-source': return s.byGtid ? at('local', [changeSource(s.dialect, { ...s.spec, position: { kind: 'gtid' } })])
      : at('local', [changeSource(s.dialect, { ...s.spec, position: { kind: 'file', file: 'FILE', pos: 0 } })])
        .map((l) => `${l} (FILE and 0: the new master's coordinates as read)`);
    case 'verify-replication': return [`[${s.name}] local: wait up to ${s.boundMs} ms for both replication threads to run`];
  }
}

/** The dry-run print: every step and decision point, branches indented. */
export function renderPlan(plan: Plan, describe: (s: Step) => string[] = describeStep, indent = '  '): string[] {
  const lines: string[] = [];
  for (const n of plan) {
    if (n.kind === 'if') {
      lines.push(`${indent}decide: ${QUESTIONS[n.test]}`);
      lines.push(`${indent}  yes:`, ...renderBranch(n.then, describe, `${indent}    `));
      lines.push(`${indent}  no:`, ...renderBranch(n.else, describe, `${indent}    `));
    } else if (n.kind === 'fail') {
      lines.push(`${indent}stop: ${n.shown}`);
    } else if (n.kind === 'note') {
      lines.push(`${indent}${n.level}: ${n.shown}`);
    } else {
      lines.push(...describe(n).map((l) => `${indent}${l}`));
    }
  }
  return lines;
}

const renderBranch = (p: Plan, describe: (s: Step) => string[], indent: string): string[] =>
  p.length === 0 ? [`${indent}(go on)`] : renderPlan(p, describe, indent);
