import { writeFileAtomic } from '../platform/atomic-write.js';

/**
 * The role mysqld starts with, as a small option file that my.cnf includes (`!include`; an absent file is
 * ignored). MariaDB 10.6.19+/10.11.9+ with init-rpl-role=SLAVE rolls back the transactions that were prepared
 * but not committed in the engine at a crash (with AFTER_SYNC: written to the binlog, waiting for the ack, so
 * never acknowledged) and truncates them from the binlog (MDEV-21117, MDEV-33465). A node that lost the VIP
 * must start that way; a master must not: its peer may hold those transactions (it received them before the
 * crash), and a master that truncated them would reuse their GTIDs for other transactions.
 */
export type StartupRole = 'master' | 'replica';

export function startupRoleText(role: StartupRole, reason: string, at: Date): string {
  return [
    `# Written by keepalived-mysql at ${at.toISOString()}: ${reason.replace(/\n/g, ' ')}`,
    '[mariadbd]',
    `init-rpl-role=${role === 'replica' ? 'SLAVE' : 'MASTER'}`,
    '',
  ].join('\n');
}

/** Records the role the next mysqld start takes; call it before the transition it follows takes effect. */
export async function writeStartupRole(path: string, role: StartupRole, reason: string, at: Date): Promise<void> {
  await writeFileAtomic(path, startupRoleText(role, reason, at), 0o644);
}
