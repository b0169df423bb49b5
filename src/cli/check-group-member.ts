import type { GroupReplicationConfig } from '../config/schema.js';
import { AppError, isAppError } from '../errors.js';
import { checkGroupMember, type GroupCheckDeps, type GroupCheckRun } from '../health/group-check.js';
import { isQuietGroupVerdict, type GroupRole } from '../health/group-evaluate.js';
import type { Logger } from '../log/types.js';
import { mysqlTarget } from '../mysql/targets.js';
import { canonicalIp } from '../platform/ip.js';
import { EXIT, type ExitCode } from './exit-codes.js';

export interface GroupCheckIo {
  readonly stdout: (text: string) => void;
  /** Opens the file log, writes, and flushes within the run's deadline (check-mysql-main's writeLog). */
  readonly writeLog: (write: (log: Logger) => void) => Promise<void>;
}

// check-mysql in mode group-replication: one verdict for one keepalived instance's role; never signals keepalived.
export async function checkGroupMemberOnce(
  config: GroupReplicationConfig,
  args: { readonly role?: GroupRole; readonly explain: boolean },
  deps: GroupCheckDeps,
  io: GroupCheckIo,
  run: { readonly signal: AbortSignal },
): Promise<ExitCode> {
  const role = args.role;
  if (role === undefined) throw new AppError('USAGE', 'mode group-replication needs --role write|read|member (the role of the keepalived instance this check tracks)');
  const vipRole = role === 'write' ? 'write' : 'read';
  const roleVips = config.groupReplication.instances.filter((i) => i.role === vipRole).map((i) => canonicalIp(i.vip));
  let result: GroupCheckRun;
  try {
    result = await checkGroupMember(mysqlTarget(config), role, roleVips, deps, run);
  } catch (err) {
    if (!isAppError(err) || err.code !== 'DEADLINE_EXCEEDED') throw err;
    if (args.explain) io.stdout(`verdict: none, ${err.message} (exit ${EXIT.DEADLINE})\n`);
    await io.writeLog((log) => log.error(`--role ${role}: no verdict: deadline passed`, { error: err.message, deadlineMs: config.check.deadlineMs }));
    throw err;
  }
  const code = result.verdict.status === 'healthy' ? EXIT.OK : EXIT.DOWN;
  if (args.explain) io.stdout(explainGroupRun(config, result, code));
  if (!isQuietGroupVerdict(result.verdict)) await io.writeLog((log) => logGroupRun(log, result, code));
  return code;
}

function logGroupRun(log: Logger, { probes, verdict }: GroupCheckRun, code: ExitCode): void {
  const fields = { role: probes.role, exit: code, ms: probes.member.ms };
  if (!probes.member.ok) {
    const level = probes.member.kind === 'alive-but-refusing' ? 'error' : 'warn';
    log[level](`--role ${probes.role}: MySQL ${probes.member.kind}: ${probes.member.detail}`, { ...fields, vipsHeld: probes.vipsHeld });
  } else {
    const { view } = probes.member;
    log.info(`--role ${probes.role}: group as seen from ${view.serverUuid}`, {
      ...fields, superReadOnly: view.superReadOnly, primaryUuid: view.primaryUuid,
      members: view.members.map((m) => `${m.host}:${m.port} ${m.state} ${m.role ?? ''}`.trim()),
    });
  }
  if (probes.gateway) log.info(`gateway: ${probes.gateway.detail}`, { answered: probes.gateway.answered, ms: probes.gateway.ms });
  // A VIP is about to move (or stay only because the account is broken): both are errors an operator must see.
  if (verdict.status === 'down') log.error(`verdict: down (${verdict.reason}): ${verdict.summary}`, fields);
  else log.error(`verdict: healthy, but ${verdict.summary}`, fields);
}

// For a human at a terminal: what the member saw, the verdict, the exit code.
function explainGroupRun(config: GroupReplicationConfig, { probes, verdict }: GroupCheckRun, code: ExitCode): string {
  const m = config.mysql;
  const where = m.socketPath !== undefined ? `socket ${m.socketPath}` : `${m.host}:${m.port}`;
  const lines = [`check-mysql --role ${probes.role} (mode group-replication): ${where} as ${m.user}, deadline ${config.check.deadlineMs} ms`];
  if (probes.member.ok) {
    const { view } = probes.member;
    lines.push(`  this server: ${view.serverUuid}, super_read_only ${view.superReadOnly ? 'ON' : 'OFF'}${view.primaryUuid !== undefined ? `, primary (5.7 status) ${view.primaryUuid || 'none'}` : ''}`);
    for (const mem of view.members) {
      lines.push(`  member ${mem.id === view.serverUuid ? '*' : ' '} ${mem.host}:${mem.port} ${mem.state}${mem.role !== undefined ? ` ${mem.role}` : ''}`);
    }
  } else {
    lines.push(`  MySQL: ${probes.member.kind} after ${probes.member.ms} ms: ${probes.member.detail}`);
    if (probes.vipsHeld) lines.push(`  this role's VIPs on this node: ${probes.vipsHeld.join(', ') || 'none'}`);
  }
  if (probes.gateway) lines.push(`  gateway: ${probes.gateway.answered ? 'answers' : 'SILENT'} in ${probes.gateway.ms} ms: ${probes.gateway.detail}`);
  lines.push(verdict.status === 'down' ? `verdict: DOWN (${verdict.reason}): ${verdict.summary}` : `verdict: healthy: ${verdict.summary}`);
  lines.push(`exit: ${code}`);
  return `${lines.join('\n')}\n`;
}
