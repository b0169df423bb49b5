import { createRequire } from 'node:module';
import { groupMembers, memberIdentity, primaryMemberStatus } from '../../src/mysql/group-queries.js';
import { processList } from '../../src/mysql/queries.js';
import type { Row } from '../../src/mysql/types.js';

// A stand-in MySQL server that replays recorded answers over the real protocol (mysql2's own server side), for the
// server kinds no package here provides (MySQL Group Replication). Each query's exact SQL text picks its rows.

const require = createRequire(import.meta.url);
const mysql = require('mysql2') as { createServer(handler: (conn: ServerConn) => void): RawServer };

interface RawServer {
  listen(port: number, host: string, cb: () => void): void;
  close(): void;
  _server: { address(): { port: number } };
}
interface ServerConn {
  sequenceId: number;
  on(event: 'query', cb: (sql: string) => void): void;
  on(event: 'error', cb: () => void): void;
  serverHandshake(args: Record<string, unknown>): void;
  writeColumns(columns: Record<string, unknown>[]): void;
  writeTextRow(values: unknown[]): void;
  writeEof(): void;
  writeError(args: { message: string; code: number }): void;
}

export interface RecordedAnswers {
  /** SQL text → rows; a query not listed is answered with ER_NO_SUCH_TABLE. */
  readonly queries: ReadonlyMap<string, readonly Row[]>;
  /** Refuse every login with ER_ACCESS_DENIED_ERROR (a wrong password). */
  readonly refuseLogin?: boolean;
}

export interface RecordedServer {
  readonly port: number;
  /** What the next connections are answered with (a scenario change mid-test). */
  answers: RecordedAnswers;
  close(): void;
}

const LONGLONG = 8;
const VAR_STRING = 253;
const BINARY = 63;
const UTF8MB4 = 45;

function columnsOf(rows: readonly Row[]): Record<string, unknown>[] {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return names.map((name) => {
    const numeric = rows.every((r) => typeof r[name] === 'number');
    return {
      catalog: 'def', schema: '', table: '', orgTable: '', name, orgName: name,
      characterSet: numeric ? BINARY : UTF8MB4, columnLength: numeric ? 21 : 255,
      columnType: numeric ? LONGLONG : VAR_STRING, flags: 0, decimals: 0,
    };
  });
}

export function startRecordedServer(first: RecordedAnswers, opts: { version?: string; port?: number } = {}): Promise<RecordedServer> {
  const version = opts.version ?? '8.0.36';
  const state = { answers: first };
  const server = mysql.createServer((conn) => {
    conn.on('error', () => {});
    conn.serverHandshake({
      protocolVersion: 10, serverVersion: `${version}-recorded`, connectionId: 1, statusFlags: 2, characterSet: UTF8MB4, capabilityFlags: 0xf7ff,
      authCallback: (_params: unknown, cb: (err: null, mysqlError?: { message: string; code: number }) => void) => {
        if (state.answers.refuseLogin) cb(null, { message: "Access denied for user 'keepalived'@'127.0.0.1' (using password: YES)", code: 1045 });
        else cb(null);
        conn.sequenceId = 0;
      },
    });
    conn.on('query', (sql) => {
      // A reply starts at sequence 1 after the client's command (mysql2's server side does not reset it itself).
      conn.sequenceId = 1;
      const rows = state.answers.queries.get(sql);
      if (rows === undefined) {
        conn.writeError({ message: `no recorded answer for: ${sql}`, code: 1146 });
        conn.sequenceId = 0;
        return;
      }
      const columns = columnsOf(rows);
      conn.writeColumns(columns);
      for (const r of rows) conn.writeTextRow(columns.map((c) => r[c['name'] as string] ?? null));
      conn.writeEof();
      // The client's next command starts again at sequence 0.
      conn.sequenceId = 0;
    });
  });
  return new Promise((resolve) => {
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve({
      port: server._server.address().port,
      get answers() { return state.answers; },
      set answers(a: RecordedAnswers) { state.answers = a; },
      close: () => server.close(),
    }));
  });
}

/** The statements check-mysql and notify send in mode group-replication, answered from one fixture scenario. */
export function groupAnswers(scenario: Readonly<Record<string, readonly Row[]>>, processRows: readonly Row[] = []): RecordedAnswers {
  const queries = new Map<string, readonly Row[]>([
    [memberIdentity().sql, scenario['memberIdentity'] ?? []],
    [groupMembers().sql, scenario['groupMembers'] ?? []],
  ]);
  // A result set needs a column: an empty PROCESSLIST is not replayable, so it is simply not answered.
  if (processRows.length > 0) queries.set(processList().sql, processRows);
  const primary = scenario['primaryMemberStatus'];
  if (primary) queries.set(primaryMemberStatus().sql, primary);
  return { queries };
}
