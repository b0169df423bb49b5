import { existsSync } from 'node:fs';
import { mysql2Connector } from '../src/mysql/mysql2-client.js';
import type { SqlClient } from '../src/mysql/types.js';

// The client's writer: sequential ids through the VIP with autocommit, one JSON line per event on stdout.
// {"e":"ack","id":N,"at":ms,"sid":11}  {"e":"conn","at":ms,"server":"db1","sid":11}  {"e":"err","at":ms,"msg":"..."}
// sid is the @@server_id of the connection that acknowledged: a connection stays with one server, so after a VIP
// move an ack still names the server that took it.
// Every attempt uses a new id: an attempt that failed may still have committed, and is simply not acknowledged.

const host = process.env['KM_WRITER_HOST'] ?? '10.213.0.100';
const user = process.env['KM_WRITER_USER'] ?? 'app';
const password = process.env['KM_WRITER_PASSWORD'] ?? '';
const pauseMs = Number(process.env['KM_WRITER_PAUSE_MS'] ?? '5');
const stopFile = process.env['KM_WRITER_STOP_FILE'] ?? '/run/writer.stop';
const maxMs = Number(process.env['KM_WRITER_MAX_MS'] ?? '600000');
const startedAt = Date.now();
let stopping = false;
// Stops on a stop file (the drill runner cannot signal through nsenter) and never outlives its deadline.
const poll = setInterval(() => {
  if (existsSync(stopFile) || Date.now() - startedAt > maxMs) stopping = true;
}, 50);
process.on('SIGTERM', () => {
  stopping = true;
});
process.on('SIGINT', () => {
  stopping = true;
});

const out = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  let id = 0;
  let conn: SqlClient | undefined;
  let sid = 0;
  let lastErr = '';
  while (!stopping) {
    if (conn === undefined) {
      try {
        conn = await mysql2Connector.connect({ host, port: 3306, user, password, connectTimeoutMs: 300, queryTimeoutMs: 1000 });
        const rows = await conn.query<{ h: string; sid: number | string }>('SELECT @@hostname AS h, @@server_id AS sid', [], { timeoutMs: 500 });
        sid = Number(rows[0]?.sid ?? 0);
        out({ e: 'conn', at: Date.now(), server: rows[0]?.h ?? '?', sid });
        lastErr = '';
      } catch (err) {
        conn?.close();
        conn = undefined;
        const msg = (err as Error).message.split('\n')[0] ?? '';
        if (msg !== lastErr) out({ e: 'err', at: Date.now(), msg });
        lastErr = msg;
        await sleep(20);
        continue;
      }
    }
    id += 1;
    const sent = Date.now();
    try {
      await conn.execute('INSERT INTO drill.writes (id, at_ms) VALUES (?, ?)', [id, sent], { timeoutMs: 1000 });
      out({ e: 'ack', id, at: Date.now(), sid });
    } catch (err) {
      const msg = (err as Error).message.split('\n')[0] ?? '';
      if (msg !== lastErr) out({ e: 'err', at: Date.now(), msg, id });
      lastErr = msg;
      conn.close();
      conn = undefined;
      continue;
    }
    if (pauseMs > 0) await sleep(pauseMs);
  }
  clearInterval(poll);
  conn?.close();
  out({ e: 'end', at: Date.now(), lastId: id });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`writer: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
