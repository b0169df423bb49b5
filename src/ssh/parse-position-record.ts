import { AppError } from '../errors.js';
import type { PositionRecord } from '../failover/position-record.js';

const ROLES: readonly PositionRecord['role'][] = ['master', 'replica', 'fenced', 'stopped'];

/** Parses and checks a position.json text; every problem is named in one AppError (SSH_FAILED: the peer's file is unusable). */
export function parsePositionRecord(text: string, where: string): PositionRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AppError('SSH_FAILED', `position record ${where} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new AppError('SSH_FAILED', `position record ${where} is not a JSON object`);
  }
  const o = raw as Record<string, unknown>;
  const problems: string[] = [];
  const need = (key: string, ok: boolean, expected: string): void => {
    if (!ok) problems.push(`${key}: expected ${expected}, got ${JSON.stringify(o[key]) ?? 'nothing'}`);
  };
  const optional = (obj: Record<string, unknown>, prefix: string, key: string, kind: 'string' | 'position'): void => {
    const v = obj[key];
    if (v === undefined) return;
    const ok = kind === 'string' ? typeof v === 'string' : Number.isSafeInteger(v) && (v as number) >= 0;
    if (!ok) problems.push(`${prefix}${key}: expected ${kind === 'string' ? 'a string' : 'a non-negative integer'}, got ${JSON.stringify(v)}`);
  };

  need('node', typeof o['node'] === 'string' && o['node'] !== '', 'a node name');
  need('role', ROLES.includes(o['role'] as PositionRecord['role']), ROLES.join('|'));
  need('recordedAt', typeof o['recordedAt'] === 'string' && !Number.isNaN(Date.parse(o['recordedAt'])), 'an ISO timestamp');
  need('transitionId', typeof o['transitionId'] === 'string', 'a string');
  for (const key of ['binlogFile', 'gtidBinlogPos', 'binlogIndexFile']) optional(o, '', key, 'string');
  optional(o, '', 'binlogPos', 'position');
  const replica = o['replica'];
  if (replica !== undefined) {
    if (typeof replica !== 'object' || replica === null || Array.isArray(replica)) {
      problems.push(`replica: expected an object, got ${JSON.stringify(replica)}`);
    } else {
      const r = replica as Record<string, unknown>;
      for (const key of ['sourceHost', 'relayMasterLogFile', 'gtidSlavePos']) optional(r, 'replica.', key, 'string');
      optional(r, 'replica.', 'execMasterLogPos', 'position');
    }
  }
  if (problems.length > 0) {
    throw new AppError('SSH_FAILED', `position record ${where} is malformed: ${problems.join('; ')}`);
  }
  return o as unknown as PositionRecord;
}
