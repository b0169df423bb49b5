import { AppError } from '../errors.js';
import { classifyMysqlError, describeMysqlError } from '../mysql/errors.js';
import {
  groupMembers, memberIdentity, primaryMemberStatus, readGroupMembers, readMemberIdentity, readPrimaryMember,
} from '../mysql/group-queries.js';
import type { Statement } from '../mysql/queries.js';
import type { MysqlTarget, Row, SqlClient, SqlConnector } from '../mysql/types.js';
import type { Clock } from '../platform/clock.js';
import { withSignal } from '../platform/deadline.js';
import type { IsolationProber } from './check.js';
import { evaluateGroupMember, type GroupProbes, type GroupRole, type GroupVerdict, type GroupView, type MemberProbe } from './group-evaluate.js';

export interface GroupCheckDeps {
  readonly connector: SqlConnector;
  readonly clock: Clock;
  readonly gateway?: IsolationProber;
  /** Addresses on this host's interfaces now (canonical); asked only when mysqld refuses the account. */
  readonly localAddresses: () => readonly string[];
}

export interface GroupCheckRun {
  readonly probes: GroupProbes;
  readonly verdict: GroupVerdict;
}

// One connection, two or three read-only queries, the gateway probe alongside; no retries: keepalived's
// `fall 2` is the seeds' second check before a VIP moves.
export async function checkGroupMember(
  target: MysqlTarget,
  role: GroupRole,
  /** The VIPs of this role's instances (canonical), for the alive-but-refusing rule. */
  roleVips: readonly string[],
  deps: GroupCheckDeps,
  run: { readonly signal: AbortSignal },
): Promise<GroupCheckRun> {
  const gatewayPending = deps.gateway?.(run.signal);
  gatewayPending?.catch(() => {});
  const member = await probeMember(target, deps, run.signal);
  const gateway = gatewayPending ? await withSignal(gatewayPending, run.signal, 'the gateway probe') : undefined;
  const vipsHeld = !member.ok && member.kind === 'alive-but-refusing'
    ? roleVips.filter((v) => deps.localAddresses().includes(v))
    : undefined;
  const probes: GroupProbes = { role, member, ...(gateway ? { gateway } : {}), ...(vipsHeld ? { vipsHeld } : {}) };
  return { probes, verdict: evaluateGroupMember(probes) };
}

async function probeMember(target: MysqlTarget, deps: GroupCheckDeps, signal: AbortSignal): Promise<MemberProbe> {
  const started = deps.clock.now();
  let client: SqlClient | undefined;
  try {
    client = await withSignal(deps.connector.connect(target, signal), signal, 'connecting to MySQL');
    const view = await readGroupView(client, target.queryTimeoutMs, signal);
    return { ok: true, view, ms: deps.clock.now() - started };
  } catch (err) {
    if (signal.aborted) throw new AppError('DEADLINE_EXCEEDED', 'check.deadlineMs passed before a verdict', { cause: err });
    return { ok: false, kind: classifyMysqlError(err), detail: describeMysqlError(err), ms: deps.clock.now() - started };
  } finally {
    client?.close();
  }
}

export async function readGroupView(client: SqlClient, timeoutMs: number, signal: AbortSignal): Promise<GroupView> {
  const ask = (s: Statement): Promise<Row[]> => withSignal(client.query<Row>(s.sql, s.params, { signal, timeoutMs }), signal, s.sql);
  const [identityRows, memberRows] = await Promise.all([ask(memberIdentity()), ask(groupMembers())]);
  const identity = readMemberIdentity(identityRows[0]);
  const { members, hasRoleColumn } = readGroupMembers(memberRows);
  // Only a 5.7 member row lacks MEMBER_ROLE; with no member row there is no role to find.
  const primaryUuid = hasRoleColumn || members.length === 0 ? undefined : readPrimaryMember(await ask(primaryMemberStatus()));
  return {
    serverUuid: identity.serverUuid,
    superReadOnly: identity.superReadOnly,
    members,
    ...(primaryUuid !== undefined ? { primaryUuid } : {}),
  };
}
