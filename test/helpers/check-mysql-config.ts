import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACCOUNTS, writePrivate } from './mariadb.js';

// Small timeouts so a hung server is judged in about a second: 3 retries 100 ms apart, 300 ms per attempt phase.
export const FAST = { connectTimeoutMs: 300, queryTimeoutMs: 300, retries: 3, retryIntervalMs: 100, deadlineMs: 3000 };

export interface ConfigOptions {
  port: number;
  password?: string;
  socketPath?: string;
  mysqldPidFile?: string;
  keepalivedPidFile?: string;
  onDown?: 'exit' | 'stop-keepalived';
  gateway?: { host: string; port: number; timeoutMs: number };
  /** The peer's MySQL port, the isolation guard's other vantage point (default: a closed port, which answers). */
  peerPort?: number;
  withoutWitness?: 'fence' | 'async';
}

export function writeCheckConfig(dir: string, o: ConfigOptions): string {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writePrivate(path, JSON.stringify({
    node: { name: 'it' },
    mysql: {
      host: '127.0.0.1', port: o.port, user: ACCOUNTS.admin.user, password: o.password ?? ACCOUNTS.admin.password,
      connectTimeoutMs: FAST.connectTimeoutMs, queryTimeoutMs: FAST.queryTimeoutMs,
      ...(o.socketPath ? { socketPath: o.socketPath } : {}),
    },
    replication: { user: ACCOUNTS.repl.user, password: ACCOUNTS.repl.password },
    peer: { host: '127.0.0.1', mysqlPort: o.peerPort ?? 9, ssh: { knownHostsFile: '/dev/null' } },
    paths: {
      logDir: join(dir, 'log'), stateDir: dir, keepalivedPidFile: o.keepalivedPidFile ?? join(dir, 'no-keepalived.pid'),
      ...(o.mysqldPidFile ? { mysqldPidFile: o.mysqldPidFile } : {}),
    },
    ...(o.withoutWitness ? { partition: { withoutWitness: o.withoutWitness } } : {}),
    check: {
      retries: FAST.retries, retryIntervalMs: FAST.retryIntervalMs, deadlineMs: FAST.deadlineMs, onDown: o.onDown ?? 'exit',
      gateway: o.gateway ?? { host: '127.0.0.1', port: 9, timeoutMs: 300 },
    },
  }));
  return path;
}

/** Today's check-mysql log in dir/log, or '' when none was written. */
export function readCheckLog(dir: string): string {
  const logDir = join(dir, 'log');
  if (!existsSync(logDir)) return '';
  return readdirSync(logDir).filter((f) => /^check-mysql-\d{4}-\d{2}-\d{2}\.log$/.test(f))
    .map((f) => readFileSync(join(logDir, f), 'utf8')).join('');
}

