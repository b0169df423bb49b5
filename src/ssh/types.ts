import type { Duplex, Writable } from 'node:stream';
import type { SshSettings, WitnessSettings } from '../config/schema.js';
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
  /** Offset just past the format-description event (bytes 4..this are what a tool needs to decode the file's events). */
  readonly formatDescriptionEnd?: number;
  /**
   * Transaction groups whose commit is complete, walked after walkedFrom, in file order (a torn trailing group is
   * not listed). Absent when more than BINLOG_MAX_GROUPS completed (a walk from the file start on a busy master).
   */
  readonly groups?: readonly BinlogGroup[];
}

/** One complete transaction group (GTID event .. commit) in a binlog. */
export interface BinlogGroup {
  /** Offset of the group's first event. */
  readonly start: number;
  /** Offset just past its committing event. */
  readonly end: number;
  /** MariaDB "domain-server-seq" or MySQL "uuid:gno"; absent for anonymous groups. */
  readonly gtid?: string;
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
  /** Walks every binlog the index lists from `from.file` (walked from `from.pos`) to the last one, in index order. */
  readBinlogTails(indexFile: string, from: BinlogWalkHint, signal: AbortSignal): Promise<BinlogTail[]>;
  /** Bytes [from, to) of one binlog (absolute path from a BinlogTail); bounded by the signal and a size cap. */
  readBinlogRange(file: string, from: number, to: number, signal: AbortSignal): Promise<Buffer>;
  /** The peer's recorded position.json from its state dir; undefined when it has none. */
  readPositionRecord(stateDir: string, signal: AbortSignal): Promise<PositionRecord | undefined>;
  /** A small file of the peer's state dir (term.json…); undefined when absent. With tailBytes: only its last tailBytes (a ledger's end). */
  readStateFile(stateDir: string, name: string, signal: AbortSignal, tailBytes?: number): Promise<string | undefined>;
  /** Replaces a file of the peer's state dir atomically (the step-down marker). */
  writeStateFile(stateDir: string, name: string, text: string, signal: AbortSignal): Promise<void>;
  /** When an entry of the peer's state dir (a file or a directory) was last modified, ms since the epoch by the peer's clock, whole seconds; undefined when absent. */
  statStateEntry(stateDir: string, name: string, signal: AbortSignal): Promise<number | undefined>;
  /** The names in a directory of the peer's state dir; undefined when absent. */
  listStateDir(stateDir: string, name: string, signal: AbortSignal): Promise<string[] | undefined>;
  close(): void;
}

export interface PeerFilesConnector {
  /** Connects with key auth, directly or through the witness; refuses an unknown or changed host key (SSH_HOST_KEY_REJECTED). */
  connect(host: string, ssh: SshSettings, signal: AbortSignal, via?: Witness): Promise<PeerFiles>;
}

/** An SSH session to the witness host, used only to open TCP streams from there (port forwarding). */
export interface Witness {
  readonly where: string;
  /** A stream to host:port as seen from the witness; PEER_UNREACHABLE when the witness cannot reach it. */
  forward(host: string, port: number, signal: AbortSignal): Promise<Duplex>;
  close(): void;
}

export interface WitnessConnector {
  connect(witness: WitnessSettings, signal: AbortSignal): Promise<Witness>;
}

/** Commands on the peer host over SSH (same key auth and host-key check as PeerFiles). */
export interface RemoteShell {
  /** Runs argv (each word shell-quoted) on the peer, its stdout piped into `stdout` (not ended); rejects unless it exits 0. */
  run(argv: readonly string[], stdout: Writable, signal: AbortSignal): Promise<void>;
  close(): void;
}

export interface RemoteShellConnector {
  connect(host: string, ssh: SshSettings, signal: AbortSignal): Promise<RemoteShell>;
}
