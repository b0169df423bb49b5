// How a failed connection or query bears on "is mysqld alive?".
export type FailureKind =
  /** The server answered, with an error that proves it is running (wrong password, too many connections…). */
  | 'alive-but-refusing'
  /** Nothing answered: refused, reset, no route, no socket. */
  | 'unreachable'
  /** Something accepted the connection but did not answer in time (a hung or overloaded mysqld). */
  | 'timeout'
  /** Connected, and a query failed for another reason. */
  | 'query-failed';

// Server errors that only a running mysqld can send, after MHA's list of "alive" errors.
export const ALIVE_ERROR_NUMBERS: ReadonlyMap<number, string> = new Map([
  [1040, 'ER_CON_COUNT_ERROR (too many connections)'],
  [1044, 'ER_DBACCESS_DENIED_ERROR'],
  [1045, 'ER_ACCESS_DENIED_ERROR (wrong user or password)'],
  [1129, 'ER_HOST_IS_BLOCKED'],
  [1130, 'ER_HOST_NOT_PRIVILEGED'],
  [1203, 'ER_TOO_MANY_USER_CONNECTIONS'],
  [1226, 'ER_USER_LIMIT_REACHED'],
  [1251, 'ER_NOT_SUPPORTED_AUTH_MODE'],
  [1698, 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR'],
  [3118, 'ER_ACCOUNT_HAS_BEEN_LOCKED'],
  [4151, 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR (MariaDB account locked)'],
]);

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EADDRNOTAVAIL',
  'PROTOCOL_CONNECTION_LOST', 'ENOTFOUND', 'EAI_AGAIN',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'PROTOCOL_SEQUENCE_TIMEOUT', 'DEADLINE_EXCEEDED', 'ABORT_ERR']);

// Classifies a mysql2 (or socket) error by its code and errno.
export function classifyMysqlError(err: unknown): FailureKind {
  const e = err as { code?: unknown; errno?: unknown; name?: unknown };
  if (typeof e?.errno === 'number' && ALIVE_ERROR_NUMBERS.has(e.errno)) return 'alive-but-refusing';
  const code = typeof e?.code === 'string' ? e.code : '';
  if (UNREACHABLE_CODES.has(code)) return 'unreachable';
  if (TIMEOUT_CODES.has(code) || e?.name === 'AbortError' || e?.name === 'TimeoutError') return 'timeout';
  if (typeof e?.errno === 'number' && e.errno >= 1000) return 'query-failed';
  return 'unreachable';
}

// The server's error name and number, or the socket code, for a log line.
export function describeMysqlError(err: unknown): string {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown };
  const msg = typeof e?.message === 'string' ? e.message.split('\n')[0] : String(err);
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const errno = typeof e?.errno === 'number' && e.errno >= 1000 ? e.errno : undefined;
  return [code, errno !== undefined ? `#${errno}` : undefined, msg].filter(Boolean).join(' ');
}
