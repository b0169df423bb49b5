// The one error type of the toolkit: a stable string code for logs and tests, a message for humans.
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'CONFIG_MISSING'
  | 'MYSQL_UNREACHABLE'
  | 'MYSQL_QUERY_FAILED'
  | 'DEADLINE_EXCEEDED'
  | 'LOCK_BUSY'
  | 'SSH_FAILED'
  | 'SSH_HOST_KEY_REJECTED'
  | 'PEER_UNREACHABLE'
  | 'ERRANT_TRANSACTIONS'
  | 'PROMOTION_REFUSED'
  | 'REJOIN_REFUSED'
  | 'SWITCHOVER_REFUSED'
  | 'SWITCHOVER_ROLLED_BACK'
  | 'FAILOVER_STEP_FAILED'
  | 'KEEPALIVED_STOP_FAILED'
  | 'SUPERSEDED'
  | 'STATE_CORRUPT'
  | 'INTERNAL';

export class AppError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

// One line for a human: the message of an AppError, or the message of anything else thrown.
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    return err.message.split('\n')[0] ?? err.name;
  }
  return String(err);
}
