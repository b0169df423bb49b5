import type { FailureKind } from '../mysql/errors.js';
import type { GroupMember } from '../mysql/group-queries.js';
import type { IsolationFinding } from './evaluate.js';

// Seeds 000/001's stages 1-4 for one keepalived instance, as a pure function: probes in, verdict out.

/** write: the PRIMARY; read: an ONLINE SECONDARY; member: either (a read VIP that falls back to the primary). */
export type GroupRole = 'write' | 'read' | 'member';
export const GROUP_ROLES: readonly GroupRole[] = ['write', 'read', 'member'];

/** What the local server said about itself and its group. */
export interface GroupView {
  readonly serverUuid: string;
  readonly superReadOnly: boolean;
  readonly members: readonly GroupMember[];
  /** MySQL 5.7 only (no MEMBER_ROLE column): group_replication_primary_member, '' when there is no single primary. */
  readonly primaryUuid?: string;
}

export type MemberProbe =
  | { readonly ok: true; readonly view: GroupView; readonly ms: number }
  | { readonly ok: false; readonly kind: FailureKind; readonly detail: string; readonly ms: number };

export interface GroupProbes {
  readonly role: GroupRole;
  readonly member: MemberProbe;
  readonly gateway?: IsolationFinding;
  /** Only looked at when mysqld refuses the account: this role's VIPs that are on this node now. */
  readonly vipsHeld?: readonly string[];
}

export type GroupDownReason =
  | 'mysql-unreachable' | 'query-failed' | 'refusing-without-vip' | 'not-in-group' | 'member-not-online'
  | 'minority' | 'no-single-primary' | 'wrong-role' | 'super-read-only' | 'gateway-silent';

export type GroupVerdict =
  | { readonly status: 'healthy'; readonly how: 'answered' | 'alive-but-refusing'; readonly summary: string }
  | { readonly status: 'down'; readonly reason: GroupDownReason; readonly summary: string };

const down = (reason: GroupDownReason, summary: string): GroupVerdict => ({ status: 'down', reason, summary });

export function evaluateGroupMember(probes: GroupProbes): GroupVerdict {
  const verdict = memberVerdict(probes);
  // Stage 4: a member that cannot see its gateway is the isolated one, whatever its group says.
  if (verdict.status === 'healthy' && probes.gateway !== undefined && !probes.gateway.answered) {
    return down('gateway-silent', `${verdict.summary}, but the gateway does not answer (${probes.gateway.detail}): this node is the isolated one`);
  }
  return verdict;
}

function memberVerdict({ role, member, vipsHeld }: GroupProbes): GroupVerdict {
  if (!member.ok) {
    // Stage 2 counts a password error as alive; the group state is then unknown, so the VIP stays where it is.
    if (member.kind === 'alive-but-refusing') {
      const held = vipsHeld ?? [];
      return held.length > 0
        ? { status: 'healthy', how: 'alive-but-refusing', summary: `mysqld is alive but refuses the monitor account (${member.detail}); the group state is unknown, so this node keeps ${held.join(', ')} (fix the account)` }
        : down('refusing-without-vip', `mysqld is alive but refuses the monitor account (${member.detail}); the group state is unknown, so this node does not take a ${role} VIP (fix the account)`);
    }
    return down(member.kind === 'query-failed' ? 'query-failed' : 'mysql-unreachable', `MySQL: ${member.kind}: ${member.detail}`);
  }

  const { view } = member;
  const local = view.members.find((m) => m.id === view.serverUuid);
  if (local === undefined) {
    return down('not-in-group', `this server (${view.serverUuid || 'no server_uuid'}) is not a member of a group (${view.members.length} member row(s))`);
  }
  if (local.state !== 'ONLINE') return down('member-not-online', `this member is ${local.state}, not ONLINE`);

  const online = view.members.filter((m) => m.state === 'ONLINE').length;
  const total = view.members.length;
  const others = view.members.filter((m) => m.state !== 'ONLINE').map((m) => `${m.host}:${m.port} ${m.state}`);
  if (online * 2 <= total) {
    return down('minority', `only ${online} of ${total} members are ONLINE from here (${others.join(', ')}): this member is in a minority`);
  }

  const memberRole = roleOf(local, view);
  if (memberRole === undefined) return down('no-single-primary', 'the group reports no single primary (multi-primary mode?): only single-primary mode is supported');
  const quorum = `${online} of ${total} ONLINE`;
  if (role === 'write') {
    if (memberRole !== 'PRIMARY') return down('wrong-role', `this member is ${memberRole}, the write VIP belongs on the PRIMARY (${quorum})`);
    // A new primary keeps super_read_only until it has applied its backlog: not writable yet.
    if (view.superReadOnly) return down('super-read-only', `this member is PRIMARY but super_read_only is still ON (${quorum})`);
    return { status: 'healthy', how: 'answered', summary: `PRIMARY and writable (${quorum})` };
  }
  if (role === 'read' && memberRole !== 'SECONDARY') return down('wrong-role', `this member is ${memberRole}, a read VIP belongs on an ONLINE SECONDARY (${quorum})`);
  if (memberRole !== 'PRIMARY' && memberRole !== 'SECONDARY') return down('wrong-role', `this member's role is ${memberRole || 'empty'} (${quorum})`);
  return { status: 'healthy', how: 'answered', summary: `ONLINE ${memberRole} (${quorum})` };
}

// 8.0.2+: MEMBER_ROLE; 5.7: the local uuid against group_replication_primary_member.
function roleOf(local: GroupMember, view: GroupView): string | undefined {
  if (local.role !== undefined) return local.role;
  if (!view.primaryUuid) return undefined;
  return view.primaryUuid === local.id ? 'PRIMARY' : 'SECONDARY';
}

/**
 * Runs that write no log: a plain healthy answer, and a member that simply has the other role (two of three
 * nodes fail the write check every second, forever; keepalived logs the instance's state change, notify the VIP move).
 */
export function isQuietGroupVerdict(v: GroupVerdict): boolean {
  return v.status === 'healthy' ? v.how === 'answered' : v.reason === 'wrong-role';
}
