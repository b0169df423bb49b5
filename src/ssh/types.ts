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
  /** GTID of the last transaction in the file: MariaDB "domain-server-seq" or MySQL "uuid:gno", when present. */
  readonly lastGtid?: string;
}

/** Read-only file access to the peer host over SSH (ssh2, key auth, host key checked). */
export interface PeerFiles {
  /** Reads the index file and walks the last binlog's event headers; bounded by the signal. */
  readBinlogTail(indexFile: string, signal: AbortSignal): Promise<BinlogTail>;
  /** The peer's recorded position.json from its state dir; undefined when it has none. */
  readPositionRecord(stateDir: string, signal: AbortSignal): Promise<PositionRecord | undefined>;
  close(): void;
}

export interface PeerFilesConnector {
  /** Connects with key auth; refuses an unknown or changed host key (AppError SSH_HOST_KEY_REJECTED). */
  connect(host: string, ssh: SshSettings, signal: AbortSignal): Promise<PeerFiles>;
}
