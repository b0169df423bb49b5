import type { Statement } from './queries.js';

// MariaDB statements the healing (rejoin) path needs beside src/mysql/queries.ts.

const stmt = (sql: string, params: readonly unknown[] = []): Statement => ({ sql, params });

/** Settings that decide whether a rewind is possible and whether semi-sync could have fallen back by itself. */
export const readHealSettings = (): Statement => stmt(
  'SELECT @@GLOBAL.binlog_format AS binlogFormat, @@GLOBAL.gtid_strict_mode AS gtidStrictMode, ' +
  '@@GLOBAL.rpl_semi_sync_master_enabled AS semiEnabled, @@GLOBAL.rpl_semi_sync_master_wait_point AS semiWaitPoint, ' +
  '@@GLOBAL.rpl_semi_sync_master_wait_no_slave AS semiWaitNoSlave, @@GLOBAL.rpl_semi_sync_master_timeout AS semiTimeoutMs, ' +
  '@@GLOBAL.log_bin_basename AS logBinBasename, @@GLOBAL.datadir AS datadir');

export const readNoAckCommits = (): Statement => stmt("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_no_tx'");

/** Empties the binlog: only after the transactions it alone holds were saved (the manifest says so). */
export const resetMaster = (): Statement => stmt('RESET MASTER');

/** Allowed only on an empty binlog (after RESET MASTER): the state both nodes share. */
export const setGtidBinlogState = (state: string): Statement => stmt('SET GLOBAL gtid_binlog_state = ?', [state]);

/** Sessions whose commit waits for a semi-sync ack right now. */
export const countWaitingForAck = (): Statement => stmt(
  "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for semi-sync ACK%'");
