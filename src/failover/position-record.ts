/** What a node records about itself after each transition (state dir `position.json`), for the peer to read. */
export interface PositionRecord {
  readonly node: string;
  readonly role: 'master' | 'replica' | 'fenced' | 'stopped';
  readonly recordedAt: string;
  readonly transitionId: string;
  /** SHOW MASTER STATUS / SHOW BINARY LOG STATUS of this node. */
  readonly binlogFile?: string;
  readonly binlogPos?: number;
  /** MariaDB @@gtid_binlog_pos, or MySQL @@gtid_executed. */
  readonly gtidBinlogPos?: string;
  /**
   * MariaDB @@gtid_binlog_state (last GTID of every server in every domain): lets the peer run an exact
   * errant-transaction check from this file when this node's MySQL cannot be asked. Absent on MySQL.
   */
  readonly gtidBinlogState?: string;
  /** @@log_bin_index (absolute), so the peer can find this node's binlogs over SFTP when MySQL is down. */
  readonly binlogIndexFile?: string;
  /** Replica-side coordinates when this node was replicating. */
  readonly replica?: {
    readonly sourceHost?: string;
    readonly relayMasterLogFile?: string;
    readonly execMasterLogPos?: number;
    readonly gtidSlavePos?: string;
  };
}

export const POSITION_RECORD_FILE = 'position.json';
