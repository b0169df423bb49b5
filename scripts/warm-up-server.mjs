// A stand-in MySQL server for the build's warm-up run, made of mysql2's own server side (no protocol written here).
// It answers the handshake and "SELECT 1" so that check-mysql's healthy path runs once before its code cache is saved.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mysql = require('mysql2');

export function startWarmUpServer() {
  const server = mysql.createServer((conn) => {
    conn.on('error', () => {});
    conn.serverHandshake({
      protocolVersion: 10,
      serverVersion: '10.11.0-MariaDB-warm-up',
      connectionId: 1,
      statusFlags: 2,
      characterSet: 45,
      capabilityFlags: 0xf7ff,
      authCallback: (_params, cb) => {
        cb(null);
        conn.sequenceId = 0;
      },
    });
    conn.on('query', () => {
      // A reply starts at sequence 1 after the client's command (mysql2's server side does not reset it itself).
      conn.sequenceId = 1;
      conn.writeTextResult([{ 1: '1' }], [{ catalog: 'def', schema: '', table: '', orgTable: '', name: '1', orgName: '', characterSet: 63, columnLength: 1, columnType: 8, flags: 129, decimals: 0 }]);
      // The client's next command on this connection starts at 0 again (the check's guard read follows its SELECT 1).
      conn.sequenceId = 0;
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ port: server._server.address().port, close: () => server.close() }));
  });
}
