import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkGroupMember, readGroupView, type GroupCheckDeps } from '../../../src/health/group-check.js';
import {
  evaluateGroupMember, isQuietGroupVerdict, type GroupProbes, type GroupRole, type GroupVerdict, type GroupView,
} from '../../../src/health/group-evaluate.js';
import { groupMembers, memberIdentity, primaryMemberStatus } from '../../../src/mysql/group-queries.js';
import type { Row, SqlClient, SqlConnector } from '../../../src/mysql/types.js';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/mysql-recorded/', import.meta.url));

interface Scenario {
  description: string;
  memberIdentity: Row[];
  groupMembers: Row[];
  primaryMemberStatus?: Row[];
}

function recorded(name: string): Record<string, Scenario> {
  const f = JSON.parse(readFileSync(`${FIXTURES}${name}.json`, 'utf8')) as { label: string; scenarios: Record<string, Scenario> };
  assert.match(f.label, /^(RECORDED|TRANSCRIBED) server answers/, `${name} says where its answers come from`);
  return f.scenarios;
}

// A connection that answers each statement of src/mysql/group-queries.ts with the recorded rows, and nothing else.
function recordedClient(s: Scenario, asked: string[] = []): SqlClient {
  const answers = new Map<string, Row[] | undefined>([
    [memberIdentity().sql, s.memberIdentity],
    [groupMembers().sql, s.groupMembers],
    [primaryMemberStatus().sql, s.primaryMemberStatus],
  ]);
  return {
    threadId: 9,
    ping: async () => {},
    async query<T extends Row = Row>(sql: string): Promise<T[]> {
      asked.push(sql);
      const rows = answers.get(sql);
      if (rows === undefined) throw Object.assign(new Error(`no recorded answer for ${sql}`), { errno: 1146 });
      return rows as T[];
    },
    async execute() {
      throw new Error('a check never writes');
    },
    close() {},
  };
}

async function viewOf(s: Scenario, asked?: string[]): Promise<GroupView> {
  return readGroupView(recordedClient(s, asked), 1000, new AbortController().signal);
}

const verdictOf = async (s: Scenario, role: GroupRole): Promise<GroupVerdict> =>
  evaluateGroupMember({ role, member: { ok: true, view: await viewOf(s), ms: 1 } });

const short = (v: GroupVerdict): string => (v.status === 'healthy' ? 'healthy' : v.reason);

// Per scenario: the verdict for --role write, read, member.
const EXPECTED_8X: Record<string, [string, string, string]> = {
  primary: ['healthy', 'wrong-role', 'healthy'],
  secondary: ['wrong-role', 'healthy', 'healthy'],
  recovering: ['member-not-online', 'member-not-online', 'member-not-online'],
  'minority-partition': ['minority', 'minority', 'minority'],
  'majority-partition': ['wrong-role', 'healthy', 'healthy'],
  error: ['member-not-online', 'member-not-online', 'member-not-online'],
  'primary-change-old-primary': ['wrong-role', 'healthy', 'healthy'],
  'primary-change-new-primary-applying': ['super-read-only', 'wrong-role', 'healthy'],
  'primary-change-new-primary': ['healthy', 'wrong-role', 'healthy'],
  offline: ['member-not-online', 'member-not-online', 'member-not-online'],
  'failover-after-expel': ['healthy', 'wrong-role', 'healthy'],
  'not-a-member': ['not-in-group', 'not-in-group', 'not-in-group'],
};

describe('Group Replication verdicts from recorded server answers', () => {
  for (const server of ['group-replication-mysql-8.0.36', 'group-replication-mysql-8.4.3']) {
    for (const [name, s] of Object.entries(recorded(server))) {
      const want = EXPECTED_8X[name];
      it(`when ${server} answers as "${name}" then write/read/member are ${want?.join('/')}`, async () => {
        assert.ok(want, `no expectation for scenario ${name}`);
        const got = await Promise.all((['write', 'read', 'member'] as const).map(async (r) => short(await verdictOf(s, r))));
        assert.deepEqual(got, want, s.description);
      });
    }
  }

  it('when 8.0 has MEMBER_ROLE then the 5.7 status variable is never asked', async () => {
    const asked: string[] = [];
    await viewOf(recorded('group-replication-mysql-8.0.36')['primary'] as Scenario, asked);
    assert.equal(asked.includes(primaryMemberStatus().sql), false);
  });

  const EXPECTED_57: Record<string, [string, string, string]> = {
    primary: ['healthy', 'wrong-role', 'healthy'],
    secondary: ['wrong-role', 'healthy', 'healthy'],
    'minority-partition': ['minority', 'minority', 'minority'],
    'primary-change-new-primary': ['healthy', 'wrong-role', 'healthy'],
    'multi-primary': ['no-single-primary', 'no-single-primary', 'no-single-primary'],
  };
  for (const [name, s] of Object.entries(recorded('group-replication-mysql-5.7.44'))) {
    it(`when MySQL 5.7 (no MEMBER_ROLE) answers as "${name}" then the primary comes from group_replication_primary_member`, async () => {
      const asked: string[] = [];
      const view = await viewOf(s, asked);
      assert.ok(asked.includes(primaryMemberStatus().sql));
      const got = (['write', 'read', 'member'] as const).map((role) => short(evaluateGroupMember({ role, member: { ok: true, view, ms: 1 } })));
      assert.deepEqual(got, EXPECTED_57[name], s.description);
    });
  }

  it('when a primary change is replayed then the write VIP leaves db1 before db2 may take it, and never sits on both', async () => {
    const s = recorded('group-replication-mysql-8.0.36');
    const steps = [
      { db1: s['primary'], db2: s['secondary'] },
      { db1: s['primary-change-old-primary'], db2: s['primary-change-new-primary-applying'] },
      { db1: s['primary-change-old-primary'], db2: s['primary-change-new-primary'] },
    ];
    const writable: string[][] = [];
    for (const step of steps) {
      const holders: string[] = [];
      for (const [node, sc] of Object.entries(step)) {
        if ((await verdictOf(sc as Scenario, 'write')).status === 'healthy') holders.push(node);
      }
      writable.push(holders);
    }
    assert.deepEqual(writable, [['db1'], [], ['db2']]);
  });
});

describe('evaluateGroupMember: the rules around the group view', () => {
  const view = (over: Partial<GroupView> = {}): GroupView => ({
    serverUuid: 'u1', superReadOnly: false,
    members: [{ id: 'u1', host: 'db1', port: 3306, state: 'ONLINE', role: 'PRIMARY' }, { id: 'u2', host: 'db2', port: 3306, state: 'ONLINE', role: 'SECONDARY' }],
    ...over,
  });
  const ok = (v: GroupView = view()): GroupProbes['member'] => ({ ok: true, view: v, ms: 2 });

  it('when the gateway is silent then even the PRIMARY fails: it is the isolated one (seed stage 4)', () => {
    const v = evaluateGroupMember({ role: 'write', member: ok(), gateway: { answered: false, detail: '10.0.0.1:22 did not answer within 500 ms', ms: 500 } });
    assert.equal(short(v), 'gateway-silent');
    assert.match(v.summary, /isolated/);
    assert.equal(short(evaluateGroupMember({ role: 'write', member: ok(), gateway: { answered: true, detail: 'ok', ms: 1 } })), 'healthy');
  });

  it('when two of four members are ONLINE then it is not a majority (ties lose)', () => {
    const members = [...view().members, { id: 'u3', host: 'db3', port: 3306, state: 'UNREACHABLE', role: 'SECONDARY' },
      { id: 'u4', host: 'db4', port: 3306, state: 'UNREACHABLE', role: 'SECONDARY' }];
    assert.equal(short(evaluateGroupMember({ role: 'write', member: ok(view({ members })) })), 'minority');
  });

  it('when mysqld refuses the account then this node keeps a VIP it holds and takes none it does not, logged at error', () => {
    const refused = { ok: false as const, kind: 'alive-but-refusing' as const, detail: 'ER_ACCESS_DENIED_ERROR #1045', ms: 3 };
    const keep = evaluateGroupMember({ role: 'write', member: refused, vipsHeld: ['192.0.2.100'] });
    assert.deepEqual([keep.status, keep.status === 'healthy' && keep.how], ['healthy', 'alive-but-refusing']);
    assert.match(keep.summary, /keeps 192\.0\.2\.100/);
    assert.equal(isQuietGroupVerdict(keep), false);
    assert.equal(short(evaluateGroupMember({ role: 'write', member: refused, vipsHeld: [] })), 'refusing-without-vip');
  });

  it('when MySQL does not answer then the check fails as unreachable; a failed query as query-failed', () => {
    assert.equal(short(evaluateGroupMember({ role: 'read', member: { ok: false, kind: 'unreachable', detail: 'ECONNREFUSED', ms: 1 } })), 'mysql-unreachable');
    assert.equal(short(evaluateGroupMember({ role: 'read', member: { ok: false, kind: 'timeout', detail: 'ETIMEDOUT', ms: 1 } })), 'mysql-unreachable');
    assert.equal(short(evaluateGroupMember({ role: 'read', member: { ok: false, kind: 'query-failed', detail: '#1142', ms: 1 } })), 'query-failed');
  });

  it('when a member simply has the other role then the run is quiet; any other failure is logged', () => {
    assert.equal(isQuietGroupVerdict(evaluateGroupMember({ role: 'read', member: ok() })), true);
    assert.equal(isQuietGroupVerdict(evaluateGroupMember({ role: 'write', member: ok() })), true);
    assert.equal(isQuietGroupVerdict(evaluateGroupMember({ role: 'write', member: ok(view({ superReadOnly: true })) })), false);
  });
});

describe('checkGroupMember: probes over ports', () => {
  const deps = (connect: SqlConnector['connect'], addresses: string[] = []): GroupCheckDeps => ({
    connector: { connect }, clock: { now: () => 0, sleep: async () => {} }, localAddresses: () => addresses,
  });
  const target = { host: '127.0.0.1', port: 3306, user: 'k', password: 'p', connectTimeoutMs: 100, queryTimeoutMs: 100 };
  const run = { signal: new AbortController().signal };

  it('when the password is refused then only this role\'s VIPs on this node count', async () => {
    const refuse = async (): Promise<SqlClient> => { throw Object.assign(new Error('Access denied'), { errno: 1045, code: 'ER_ACCESS_DENIED_ERROR' }); };
    const r = await checkGroupMember(target, 'write', ['192.0.2.100'], deps(refuse, ['10.0.0.11', '192.0.2.101']), run);
    assert.deepEqual(r.probes.vipsHeld, []);
    assert.equal(short(r.verdict), 'refusing-without-vip');
    const held = await checkGroupMember(target, 'write', ['192.0.2.100'], deps(refuse, ['10.0.0.11', '192.0.2.100']), run);
    assert.equal(held.verdict.status, 'healthy');
  });

  it('when the recorded primary answers then the runner reaches the same verdict as the pure function, with the gateway probed', async () => {
    const s = recorded('group-replication-mysql-8.4.3')['primary'] as Scenario;
    const r = await checkGroupMember(target, 'write', [], { ...deps(async () => recordedClient(s)), gateway: async () => ({ answered: true, detail: 'gw', ms: 1 }) }, run);
    assert.equal(short(r.verdict), 'healthy');
    assert.equal(r.probes.gateway?.answered, true);
  });
});
