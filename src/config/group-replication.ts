import { isIP } from 'node:net';

/** Which members may hold an instance's VIP: the PRIMARY (write) or an ONLINE SECONDARY (read). */
export type VipRole = 'write' | 'read';

/** One keepalived vrrp_instance of a Group Replication node and the VIP it moves. */
export interface VipInstance {
  /** The vrrp_instance name keepalived passes to notify (`INSTANCE <name> <STATE> <priority>`). */
  readonly name: string;
  readonly role: VipRole;
  /** The virtual IP address, without prefix length. */
  readonly vip: string;
}

export interface GroupReplicationSettings {
  readonly instances: readonly VipInstance[];
}

type Json = Record<string, unknown>;

// keepalived instance names become log fields and FIFO-line matches: no spaces or quotes.
const INSTANCE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

// `groupReplication` of a config in mode "group-replication": { "instances": { "<vrrp_instance>": { "role", "vip" } } }.
export function parseGroupReplicationSection(input: unknown, problems: string[]): GroupReplicationSettings {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    problems.push('groupReplication: expected an object with "instances" (mode "group-replication" needs one VIP per keepalived instance)');
    return { instances: [] };
  }
  const section = input as Json;
  for (const key of Object.keys(section)) {
    if (key !== 'instances' && !key.startsWith('//')) problems.push(`groupReplication.${key}: unknown key`);
  }
  const raw = section['instances'];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || Object.keys(raw).filter((k) => !k.startsWith('//')).length === 0) {
    problems.push('groupReplication.instances: expected an object of vrrp_instance name → { "role": "write"|"read", "vip": "<IP>" }, with at least one');
    return { instances: [] };
  }
  const instances: VipInstance[] = [];
  for (const [name, value] of Object.entries(raw as Json)) {
    if (name.startsWith('//')) continue;
    const path = `groupReplication.instances.${name}`;
    if (!INSTANCE_NAME.test(name)) {
      problems.push(`${path}: an instance name is letters, digits and _.- (at most 64)`);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`${path}: expected an object { "role", "vip" }`);
      continue;
    }
    const v = value as Json;
    for (const key of Object.keys(v)) {
      if (key !== 'role' && key !== 'vip' && !key.startsWith('//')) problems.push(`${path}.${key}: unknown key`);
    }
    const role = v['role'];
    const vip = v['vip'];
    if (role !== 'write' && role !== 'read') problems.push(`${path}.role: expected "write" or "read"`);
    if (typeof vip !== 'string' || isIP(vip) === 0) problems.push(`${path}.vip: expected an IPv4 or IPv6 address without prefix length`);
    if ((role === 'write' || role === 'read') && typeof vip === 'string' && isIP(vip) !== 0) instances.push({ name, role, vip });
  }
  const seen = new Set<string>();
  for (const i of instances) {
    if (seen.has(i.vip)) problems.push(`groupReplication.instances.${i.name}.vip: ${i.vip} is already another instance's VIP`);
    seen.add(i.vip);
  }
  return { instances };
}
