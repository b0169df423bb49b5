import type { Config } from '../config/schema.js';
import type { MysqlTarget } from './types.js';

/** This node's MySQL with the admin account (check-mysql, notify and the binlog applier). */
export function mysqlTarget(config: Pick<Config, 'mysql'>): MysqlTarget {
  const m = config.mysql;
  return {
    host: m.host, port: m.port, user: m.user, password: m.password,
    connectTimeoutMs: m.connectTimeoutMs, queryTimeoutMs: m.queryTimeoutMs,
    ...(m.socketPath !== undefined ? { socketPath: m.socketPath } : {}),
  };
}

// The peer's MySQL port with our admin account; short timeouts: a dead peer is the common case. A probe gives its own.
export function peerMysqlTarget(config: Config, timeoutMs?: number): MysqlTarget {
  return {
    host: config.peer.host, port: config.peer.mysqlPort,
    user: config.mysql.user, password: config.mysql.password,
    connectTimeoutMs: timeoutMs ?? Math.min(config.mysql.connectTimeoutMs, 1000),
    queryTimeoutMs: timeoutMs ?? Math.min(config.mysql.queryTimeoutMs, 2000),
  };
}
