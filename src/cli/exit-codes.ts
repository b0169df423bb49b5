import type { ErrorCode } from '../errors.js';

// The exit-code table of every command; README.md "Exit codes" is written from it (a unit test keeps them equal).
export const EXIT = {
  OK: 0,
  /** check-mysql: MySQL is down (this node left the VRRP race). notify: a step failed. status: DEGRADED (Nagios WARNING). */
  DOWN: 1,
  /** status: DANGER (Nagios CRITICAL): both writable, VIP on neither, errant transactions on the replica… */
  CRITICAL: 2,
  /** notify BACKUP: this node holds transactions the new master lacks; it stays fenced read-only. status: UNKNOWN (Nagios). */
  ERRANT: 3,
  /** notify MASTER: the replica could not apply its relay log in time and policy says refuse; it stays fenced. rejoin, switchover: refused (see its one line); switchover: rolled back, the old master is the master again. */
  REFUSED: 4,
  USAGE: 64,
  /** notify: the local MySQL or the peer could not be reached for a step that needs it. */
  UNAVAILABLE: 69,
  INTERNAL: 70,
  /** The command's own deadline passed (a hung server, a lock held too long). */
  DEADLINE: 75,
  CONFIG: 78,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** `status` speaks the Nagios plugin convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) with this table's codes. */
export const STATUS_EXIT = { OK: EXIT.OK, DEGRADED: EXIT.DOWN, DANGER: EXIT.CRITICAL, UNKNOWN: EXIT.ERRANT } as const satisfies Record<string, ExitCode>;

const EXIT_FOR_ERROR: Record<ErrorCode, ExitCode> = {
  USAGE: EXIT.USAGE,
  CONFIG_INVALID: EXIT.CONFIG,
  CONFIG_MISSING: EXIT.CONFIG,
  MYSQL_UNREACHABLE: EXIT.UNAVAILABLE,
  MYSQL_QUERY_FAILED: EXIT.DOWN,
  DEADLINE_EXCEEDED: EXIT.DEADLINE,
  LOCK_BUSY: EXIT.DEADLINE,
  SSH_FAILED: EXIT.UNAVAILABLE,
  SSH_HOST_KEY_REJECTED: EXIT.UNAVAILABLE,
  PEER_UNREACHABLE: EXIT.UNAVAILABLE,
  ERRANT_TRANSACTIONS: EXIT.ERRANT,
  PROMOTION_REFUSED: EXIT.REFUSED,
  REJOIN_REFUSED: EXIT.REFUSED,
  SWITCHOVER_REFUSED: EXIT.REFUSED,
  SWITCHOVER_ROLLED_BACK: EXIT.REFUSED,
  FAILOVER_STEP_FAILED: EXIT.DOWN,
  KEEPALIVED_STOP_FAILED: EXIT.DOWN,
  SUPERSEDED: EXIT.OK,
  STATE_CORRUPT: EXIT.DOWN,
  INTERNAL: EXIT.INTERNAL,
};

export function exitCodeForError(code: ErrorCode): ExitCode {
  return EXIT_FOR_ERROR[code];
}
