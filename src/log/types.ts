export type LogFields = Record<string, unknown>;

/** Structured logger port: a message plus fields, never format strings. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Returns a logger that adds these fields to every line. */
  child(fields: LogFields): Logger;
  /** Flushes buffered lines; resolves within timeoutMs even if the sink is stuck. */
  close(timeoutMs?: number): Promise<void>;
}
