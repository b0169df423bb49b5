/** One result row, column name → value as mysql2 returns it (strings for text protocol by default). */
export type Row = Record<string, unknown>;

export interface QueryOptions {
  /** Aborting destroys the connection: the query cannot outlive its caller's deadline. */
  signal?: AbortSignal;
  /** Per-query server-side wait bound, enforced by the driver. */
  timeoutMs?: number;
}

/** The subset of a MySQL connection that the toolkit needs. */
export interface SqlClient {
  query<T extends Row = Row>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<T[]>;
  /** Runs a statement that returns no rows (SET, STOP SLAVE, CHANGE MASTER …). */
  execute(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<{ affectedRows: number }>;
  /**
   * COM_PING: whether the server answers on this session, with no statement run and no result set to parse. timeoutMs
   * bounds the whole wait (mysql2's ping has no timeout of its own), and its expiry drops the session.
   */
  ping(opts: { signal: AbortSignal; timeoutMs: number }): Promise<void>;
  /** Server thread id of this connection (to exclude it from KILL loops). */
  readonly threadId: number;
  /** Ends the connection without waiting: a goodbye (COM_QUIT) when it is idle and sound, else a drop. */
  close(): void;
}

export interface MysqlTarget {
  host: string;
  port: number;
  socketPath?: string;
  /** An already open stream to the server (a port forwarded through the witness); host/port then only name it. */
  stream?: import('node:stream').Duplex;
  user: string;
  password: string;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
}

/** Opens connections; the mysql2 adapter in production, a literal in unit tests. */
export interface SqlConnector {
  connect(target: MysqlTarget, signal?: AbortSignal): Promise<SqlClient>;
}

/** Events cut from one of the old master's binlogs: its format description plus whole transaction groups. */
export interface BinlogChunk {
  /** Where the bytes came from (for logs and error messages). */
  readonly sourceFile: string;
  readonly from: number;
  readonly to: number;
  /** The source file's format-description event (bytes 4..end of it), needed to decode its events. */
  readonly formatDescription: Buffer;
  /** Bytes [from, to) of the source file: complete events only. */
  readonly events: Buffer;
}

/** Applies binlog events to the local server with the server's own tools (mariadb-binlog | mariadb); bounded by the signal. */
export interface BinlogApplier {
  apply(chunks: readonly BinlogChunk[], flavor: 'mysql' | 'mariadb', signal: AbortSignal): Promise<void>;
}
