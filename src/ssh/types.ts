import type { SshSettings } from '../config/schema.js';
import type { PositionRecord } from '../failover/position-record.js';

/** Where the peer's binlog really ends, found by walking event headers over SFTP. */
export interface BinlogTail {
  /** Absolute path of the last binlog named in the index file. */
  readonly file: string;
  /** Offset just past the last complete event (what a replica would have to have read). */
  readonly endPos: number;
  /** Bytes after the last complete event (a torn write at crash time). */
  readonly tornBytes: number;
  /** Timestamp (unix s) of the last complete event. */
  readonly lastEventTimestamp?: number;
  /**
   * GTID of the last transaction whose commit is complete in the file (a group torn mid-way does not count):
   * MariaDB "domain-server-seq" or MySQL "uuid:gno". Absent when that group has no GTID, or (after a `from` hint)
   * when no group completed after the hint.
   */
  readonly lastGtid?: string;
  /** Offset the walk started at: 4, or the caller's `from` hint when it named this file and checked out as an event start. */
  readonly walkedFrom?: number;
}

/** A known event start in the peer's binlog (e.g. the replica's Read_Master_Log_Pos), so the walk skips what is before it. */
export interface BinlogWalkHint {
  /** Binlog file name (a base name like `mysql-bin.000003`, or a full path). */
  readonly file: string;
  readonly pos: number;
}

/** Read-only file access to the peer host over SSH (ssh2, key auth, host key checked). */
export interface PeerFiles {
  /**
   * Reads the index file and walks the last binlog's event headers; bounded by the signal and ssh.commandTimeoutMs.
   * A walk from offset 4 reads the whole file's headers (about 20 MB/s on loopback); pass `from` when a
   * replica's coordinates in that file are known, so only the tail after them is walked.
   */
  readBinlogTail(indexFile: string, signal: AbortSignal, from?: BinlogWalkHint): Promise<BinlogTail>;
  /** The peer's recorded position.json from its state dir; undefined when it has none. */
  readPositionRecord(stateDir: string, signal: AbortSignal): Promise<PositionRecord | undefined>;
  close(): void;
}

export interface PeerFilesConnector {
  /** Connects with key auth; refuses an unknown or changed host key (AppError SSH_HOST_KEY_REJECTED). */
  connect(host: string, ssh: SshSettings, signal: AbortSignal): Promise<PeerFiles>;
}
