import type { Statement } from './queries.js';
import type { Row } from './types.js';

// Group Replication (MySQL 5.7.17+, 8.x) as SQL data plus readers; the statements take no input at all.

/** This server's identity and write fence, one row. */
export const memberIdentity = (): Statement => ({
  sql: 'SELECT @@server_uuid AS serverUuid, @@GLOBAL.super_read_only AS superReadOnly',
  params: [],
});

/**
 * The group as this member sees it. `*` on purpose: MEMBER_ROLE exists from 8.0.2 only, and which columns come
 * back tells 5.7 apart without trusting a version string (as PROBED_VARIABLES does for the dialect).
 */
export const groupMembers = (): Statement => ({
  sql: 'SELECT * FROM performance_schema.replication_group_members',
  params: [],
});

/** MySQL 5.7 (no MEMBER_ROLE): the primary's server_uuid, '' in multi-primary mode. */
export const primaryMemberStatus = (): Statement => ({
  sql: 'SHOW GLOBAL STATUS WHERE Variable_name = ?',
  params: ['group_replication_primary_member'],
});

export type MemberState = 'ONLINE' | 'RECOVERING' | 'OFFLINE' | 'ERROR' | 'UNREACHABLE' | string;

export interface GroupMember {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly state: MemberState;
  /** PRIMARY / SECONDARY from MEMBER_ROLE; undefined when the server has no such column (5.7). */
  readonly role?: string;
}

export interface MemberIdentity {
  readonly serverUuid: string;
  readonly superReadOnly: boolean;
}

export function readMemberIdentity(row: Row | undefined): MemberIdentity {
  return {
    serverUuid: String(row?.['serverUuid'] ?? ''),
    superReadOnly: isOn(row?.['superReadOnly']),
  };
}

export function readGroupMembers(rows: readonly Row[]): { members: GroupMember[]; hasRoleColumn: boolean } {
  const hasRoleColumn = rows.some((r) => 'MEMBER_ROLE' in r);
  const members = rows
    // 8.0 without the plugin started shows one row with an empty MEMBER_ID: that is no member at all.
    .filter((r) => String(r['MEMBER_ID'] ?? '') !== '')
    .map((r) => ({
      id: String(r['MEMBER_ID']),
      host: String(r['MEMBER_HOST'] ?? ''),
      port: Number(r['MEMBER_PORT'] ?? 0),
      state: String(r['MEMBER_STATE'] ?? '').toUpperCase(),
      ...(hasRoleColumn ? { role: String(r['MEMBER_ROLE'] ?? '').toUpperCase() } : {}),
    }));
  return { members, hasRoleColumn };
}

/** SHOW GLOBAL STATUS answers with Variable_name/Value (or VARIABLE_NAME/VARIABLE_VALUE from performance_schema). */
export function readPrimaryMember(rows: readonly Row[]): string {
  const row = rows[0];
  return String(row?.['Value'] ?? row?.['VARIABLE_VALUE'] ?? '');
}

function isOn(v: unknown): boolean {
  return v === 1 || v === '1' || v === true || (typeof v === 'string' && v.toUpperCase() === 'ON');
}
