import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dialectFromAnswers, parseServerVersion, type Dialect, type ServerAnswers } from '../../../src/mysql/dialect.js';
import {
  changeSource, fenceWrites, openWrites, readReplicaStatus, semiSyncFor, showBinlogStatus, showReplicaStatus, showStatement,
  stopReplica, waitForGtids,
} from '../../../src/mysql/queries.js';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/mysql-recorded/', import.meta.url));

interface Fixture {
  label: string;
  answers: ServerAnswers;
  replicaStatusColumns: string[];
}

function fixture(name: string): Fixture {
  const f = JSON.parse(readFileSync(`${FIXTURES}${name}.json`, 'utf8')) as Fixture;
  assert.match(f.label, /^(RECORDED|TRANSCRIBED) server answers/, `${name} says where its answers come from`);
  return f;
}
const dialectOf = (name: string): Dialect => dialectFromAnswers(fixture(name).answers);

const SPEC = {
  host: '10.0.0.2', port: 3306, user: 'repl', password: "it's-secret", connectRetryS: 1, heartbeatPeriodS: 1,
  position: { kind: 'gtid' } as const,
};

describe('dialect detection from server answers', () => {
  const expected: Record<string, Partial<Dialect> & { replicaStatus: string; change: RegExp; semi: string[] }> = {
    'mariadb-10.11': { flavor: 'mariadb', gtid: 'mariadb', superReadOnly: false, replicaStatus: 'SHOW SLAVE STATUS',
      change: /^CHANGE MASTER TO MASTER_HOST = \?.*MASTER_USE_GTID = slave_pos$/, semi: ['SET GLOBAL rpl_semi_sync_master_enabled = 0', 'SET GLOBAL rpl_semi_sync_slave_enabled = 1'] },
    'mysql-5.7.44': { flavor: 'mysql', gtid: 'mysql', superReadOnly: true, replicaStatus: 'SHOW SLAVE STATUS',
      change: /^CHANGE MASTER TO .*MASTER_AUTO_POSITION = 1$/, semi: ['SET GLOBAL rpl_semi_sync_master_enabled = 0', 'SET GLOBAL rpl_semi_sync_slave_enabled = 1'] },
    'mysql-8.0.21': { flavor: 'mysql', replicaStatements: false, replicaStatus: 'SHOW SLAVE STATUS',
      change: /^CHANGE MASTER TO .*MASTER_AUTO_POSITION = 1, GET_MASTER_PUBLIC_KEY = 1$/, semi: ['SET GLOBAL rpl_semi_sync_master_enabled = 0', 'SET GLOBAL rpl_semi_sync_slave_enabled = 1'] },
    'mysql-8.0.22': { replicaStatements: true, changeSourceStatement: false, replicaStatus: 'SHOW REPLICA STATUS',
      change: /^CHANGE MASTER TO .*GET_MASTER_PUBLIC_KEY = 1$/, semi: ['SET GLOBAL rpl_semi_sync_master_enabled = 0', 'SET GLOBAL rpl_semi_sync_slave_enabled = 1'] },
    'mysql-8.0.23': { changeSourceStatement: true, replicaStatus: 'SHOW REPLICA STATUS',
      change: /^CHANGE REPLICATION SOURCE TO SOURCE_HOST = \?.*SOURCE_AUTO_POSITION = 1, GET_SOURCE_PUBLIC_KEY = 1$/, semi: ['SET GLOBAL rpl_semi_sync_master_enabled = 0', 'SET GLOBAL rpl_semi_sync_slave_enabled = 1'] },
    'mysql-8.0.36-legacy-plugins': { replicaStatus: 'SHOW REPLICA STATUS', change: /^CHANGE REPLICATION SOURCE TO/,
      semi: ['SET GLOBAL rpl_semi_sync_master_enabled = 0', 'SET GLOBAL rpl_semi_sync_slave_enabled = 1'] },
    'mysql-8.0.36': { binaryLogStatus: false, replicaStatus: 'SHOW REPLICA STATUS', change: /^CHANGE REPLICATION SOURCE TO/,
      semi: ['SET GLOBAL rpl_semi_sync_source_enabled = 0', 'SET GLOBAL rpl_semi_sync_replica_enabled = 1'] },
    'percona-8.0.35': { flavor: 'mysql', replicaStatus: 'SHOW REPLICA STATUS', change: /^CHANGE REPLICATION SOURCE TO/,
      semi: ['SET GLOBAL rpl_semi_sync_source_enabled = 0', 'SET GLOBAL rpl_semi_sync_replica_enabled = 1'] },
    'mysql-8.4.3': { binaryLogStatus: true, replicaStatus: 'SHOW REPLICA STATUS', change: /^CHANGE REPLICATION SOURCE TO/,
      semi: ['SET GLOBAL rpl_semi_sync_source_enabled = 0', 'SET GLOBAL rpl_semi_sync_replica_enabled = 1'] },
    'mysql-9.1.0-gtid-off-no-semisync': { gtid: 'none', binaryLogStatus: true, replicaStatus: 'SHOW REPLICA STATUS',
      change: /^CHANGE REPLICATION SOURCE TO .*SOURCE_LOG_FILE = \?, SOURCE_LOG_POS = \?, GET_SOURCE_PUBLIC_KEY = 1$/, semi: [] },
  };
  for (const [name, want] of Object.entries(expected)) {
    it(`when the server answers like ${name} then the dialect, statements and semi-sync names follow`, () => {
      const d = dialectOf(name);
      const { replicaStatus, change, semi, ...flags } = want;
      for (const [k, v] of Object.entries(flags)) assert.equal(d[k as keyof Dialect], v, `${name}: ${k}`);
      assert.equal(showReplicaStatus(d).sql, replicaStatus);
      const spec = d.gtid === 'none' ? { ...SPEC, position: { kind: 'file' as const, file: 'binlog.000007', pos: 157 } } : SPEC;
      assert.match(changeSource(d, spec).sql, change);
      assert.deepEqual(semiSyncFor(d, 'replica').map((s) => s.sql), semi);
    });
  }

  it('when MySQL 8.4 is the server then no removed statement is ever built', () => {
    const d = dialectOf('mysql-8.4.3');
    const all = [showReplicaStatus(d), showBinlogStatus(d), stopReplica(d), changeSource(d, SPEC), ...fenceWrites(d), ...openWrites(d)]
      .map((s) => s.sql).join('\n');
    assert.doesNotMatch(all, /SLAVE|CHANGE MASTER|SHOW MASTER STATUS|MASTER_/);
    assert.equal(showBinlogStatus(d).sql, 'SHOW BINARY LOG STATUS');
  });

  it('when MySQL has super_read_only then writes open by clearing super_read_only first and fence by setting it', () => {
    const d = dialectOf('mysql-8.0.36');
    assert.deepEqual(openWrites(d).map((s) => s.sql), ['SET GLOBAL super_read_only = 0', 'SET GLOBAL read_only = 0']);
    assert.deepEqual(fenceWrites(d).map((s) => s.sql), ['SET GLOBAL super_read_only = 1', 'SET GLOBAL read_only = 1']);
    assert.deepEqual(fenceWrites(dialectOf('mariadb-10.11')).map((s) => s.sql), ['SET GLOBAL read_only = 1']);
  });

  it('when a server waits for GTIDs then MariaDB uses MASTER_GTID_WAIT and MySQL WAIT_FOR_EXECUTED_GTID_SET', () => {
    assert.equal(waitForGtids(dialectOf('mariadb-10.11'), '0-1-5', 1.5).sql, 'SELECT MASTER_GTID_WAIT(?, ?) AS result');
    assert.deepEqual(waitForGtids(dialectOf('mysql-8.4.3'), 'uuid:1-5', 2).params, ['uuid:1-5', 2]);
  });

  for (const name of ['mariadb-10.11', 'mysql-5.7.44', 'mysql-8.0.22', 'mysql-8.4.3']) {
    it(`when SHOW … STATUS has ${name}'s column set then it reads to the same replica status`, () => {
      const cols = fixture(name).replicaStatusColumns;
      const row: Record<string, unknown> = Object.fromEntries(cols.map((c) => [c, '']));
      const set = (old: string, neu: string, v: unknown): void => { row[cols.includes(old) ? old : neu] = v; };
      set('Master_Host', 'Source_Host', 'db-a');
      set('Slave_IO_Running', 'Replica_IO_Running', 'Yes');
      set('Slave_SQL_Running', 'Replica_SQL_Running', 'No');
      set('Read_Master_Log_Pos', 'Read_Source_Log_Pos', '900');
      set('Exec_Master_Log_Pos', 'Exec_Source_Log_Pos', '800');
      set('Relay_Master_Log_File', 'Relay_Source_Log_File', 'bin.000003');
      set('Seconds_Behind_Master', 'Seconds_Behind_Source', null);
      const st = readReplicaStatus(row);
      assert.deepEqual([st?.sourceHost, st?.ioRunning, st?.sqlRunning, st?.readSourceLogPos, st?.execSourceLogPos, st?.relaySourceLogFile, st?.secondsBehind],
        ['db-a', 'Yes', 'No', 900, 800, 'bin.000003', undefined]);
    });
  }
});

describe('statement values are never formatted into SQL', () => {
  it('when CHANGE MASTER is built then host, user and password are placeholders and the password is masked when shown', () => {
    const s = changeSource(dialectOf('mariadb-10.11'), SPEC);
    assert.ok(!s.sql.includes('10.0.0.2') && !s.sql.includes('secret'));
    assert.deepEqual(s.params.slice(0, 4), ['10.0.0.2', 3306, 'repl', "it's-secret"]);
    assert.match(showStatement(s), /MASTER_PASSWORD = '\*\*\*'/);
    assert.doesNotMatch(showStatement(s), /secret/);
  });

  it("when a host or user could smuggle SQL (the seed's master_host='{0}' bug) then building the statement is refused", () => {
    const d = dialectOf('mariadb-10.11');
    assert.throws(() => changeSource(d, { ...SPEC, host: "x', MASTER_USER='root" }), /refusing host/);
    assert.throws(() => changeSource(d, { ...SPEC, user: "repl'--" }), /refusing user/);
  });

  it('when the version string has MariaDB\'s 5.5.5- prefix then the real version is read', () => {
    assert.deepEqual(parseServerVersion('5.5.5-10.6.12-MariaDB-log'), { major: 10, minor: 6, patch: 12 });
    assert.throws(() => parseServerVersion('garbage'), /cannot read a server version/);
  });
});
