// Records test/fixtures/binlog/*.bin from a real mariadbd (the harness in mariadb.ts), with a sidecar JSON
// holding what the server itself reported (SHOW MASTER STATUS, @@gtid_binlog_pos, version).
// Run from the repository root: npx tsc -p tsconfig.json && node dist/test/helpers/record-binlog-fixtures.js
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MariaDbFarm } from './mariadb.js';

const OUT = join('test', 'fixtures', 'binlog');

// A mix of event groups: DDL (standalone GTID), InnoDB row transactions (XID), a MyISAM statement-format
// write (BEGIN … COMMIT query events) and a multi-row transaction.
const WORKLOAD = [
  'CREATE DATABASE fx',
  'CREATE TABLE fx.t (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB',
  'CREATE TABLE fx.m (id INT PRIMARY KEY) ENGINE=MyISAM',
  "INSERT INTO fx.t VALUES (1, 'one')",
  'BEGIN',
  "INSERT INTO fx.t VALUES (2, 'two'), (3, 'three')",
  "UPDATE fx.t SET note = 'uno' WHERE id = 1",
  'COMMIT',
  'SET SESSION binlog_format = STATEMENT',
  'INSERT INTO fx.m VALUES (1)',
  'SET SESSION binlog_format = ROW',
  "INSERT INTO fx.t VALUES (4, 'four')",
];

async function record(name: string, extraArgs: string[]): Promise<void> {
  const farm = new MariaDbFarm();
  try {
    const s = await farm.start({ name, serverId: 7, domainId: 3, extraArgs });
    await s.sql('SET GLOBAL read_only = 0', ...WORKLOAD);
    const [status] = await s.sql<{ File: string; Position: number }>('SHOW MASTER STATUS');
    const [vars] = await s.sql<{ gtid: string; version: string; checksum: string }>(
      'SELECT @@gtid_binlog_pos AS gtid, @@version AS version, @@binlog_checksum AS checksum');
    if (status === undefined || vars === undefined) throw new Error('no master status');
    // Copied while the server runs: a clean shutdown would append a STOP event past the reported position.
    mkdirSync(OUT, { recursive: true });
    copyFileSync(join(s.datadir, status.File), join(OUT, `${name}.bin`));
    writeFileSync(join(OUT, `${name}.json`), `${JSON.stringify({
      recordedWith: 'test/helpers/record-binlog-fixtures.ts',
      serverVersion: vars.version,
      binlogChecksum: vars.checksum,
      masterStatusPosition: Number(status.Position),
      gtidBinlogPos: vars.gtid,
    }, null, 2)}\n`);
  } finally {
    await farm.cleanup();
  }
}

await record('mariadb-crc32', []);
await record('mariadb-nochecksum', ['--binlog-checksum=NONE']);
