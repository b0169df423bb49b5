import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sessionsThroughVip, type SessionRow } from '../../../src/failover/vip-sessions.js';
import type { TcpConnection } from '../../../src/platform/tcp-table.js';

const conn = (local: string, remote: string): TcpConnection => {
  const [lip = '', lport = ''] = local.split(/:(?=\d+$)/);
  const [rip = '', rport = ''] = remote.split(/:(?=\d+$)/);
  return { local: { ip: lip, port: Number(lport) }, remote: { ip: rip, port: Number(rport) } };
};
const session = (id: number, user: string, host: string, command = 'Sleep'): SessionRow => ({ id, user, host, command });
const keep = { ownThreadId: 1, users: ['keepalived'] };

describe('sessionsThroughVip', () => {
  const connections = [
    conn('192.0.2.100:3306', '10.0.0.50:40001'), // app through the write VIP
    conn('10.0.0.11:3306', '10.0.0.50:40002'), // app straight to the node address
    conn('192.0.2.100:3306', '10.0.0.51:40003'), // a session of the toolkit's own account, through the VIP
    conn('192.0.2.101:3306', '10.0.0.52:40004'), // through the read VIP
  ];
  const sessions = [
    session(1, 'keepalived', '127.0.0.1:39999', 'Query'),
    session(10, 'app', '10.0.0.50:40001'),
    session(11, 'app', '10.0.0.50:40002'),
    session(12, 'keepalived', '10.0.0.51:40003'),
    session(13, 'app', '10.0.0.52:40004', 'Query'),
    session(14, 'system user', '', 'Connect'),
    session(15, 'repl', '10.0.0.12:50000', 'Binlog Dump GTID'),
    session(16, 'app', 'localhost'),
  ];

  it('when the write VIP is lost then only the client sessions whose socket is local to that VIP are ended', () => {
    const plan = sessionsThroughVip({ vip: '192.0.2.100', mysqlPort: 3306, connections, sessions, keep });
    assert.deepEqual(plan.kill.map((k) => k.id), [10]);
    assert.match(plan.kill[0]?.why ?? '', /192\.0\.2\.100:3306 ← 10\.0\.0\.50:40001/);
    assert.deepEqual(plan.unattributed, []);
  });

  it('when the read VIP is lost then the write VIP\'s sessions stay', () => {
    assert.deepEqual(sessionsThroughVip({ vip: '192.0.2.101', mysqlPort: 3306, connections, sessions, keep }).kill.map((k) => k.id), [13]);
  });

  it('when HOST is a resolved name then its client port decides, and only if no other socket shares that port', () => {
    const named = [session(20, 'app', 'app1.example:40001'), session(21, 'app', 'app2.example:41000')];
    const shared = [...connections, conn('192.0.2.100:3306', '10.0.0.60:41000'), conn('10.0.0.11:3306', '10.0.0.61:41000')];
    const plan = sessionsThroughVip({ vip: '192.0.2.100', mysqlPort: 3306, connections: shared, sessions: named, keep });
    assert.deepEqual(plan.kill.map((k) => k.id), [20]);
    assert.deepEqual(plan.unattributed.map((s) => s.id), [21]);
  });

  it('when mysqld listens on :: then v4-mapped clients and an IPv6 VIP still match', () => {
    const v6 = [conn('2001:db8::100:3306', '2001:db8::50:40010')];
    const plan = sessionsThroughVip({ vip: '2001:DB8::100', mysqlPort: 3306, connections: v6, sessions: [session(30, 'app', '2001:db8::50:40010')], keep });
    assert.deepEqual(plan.kill.map((k) => k.id), [30]);
  });
});
