import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

// One spelling per address, so a VIP from config, a /proc/net/tcp entry and a PROCESSLIST host compare equal:
// IPv4-mapped IPv6 becomes IPv4, IPv6 becomes WHATWG URL's compressed lower-case form, brackets go.
export function canonicalIp(text: string): string {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIP(bare) !== 6) return bare;
  const mappedDotted = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare);
  if (mappedDotted) return mappedDotted[1] ?? bare;
  const canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mappedHex) return canonical;
  const hi = parseInt(mappedHex[1] ?? '0', 16);
  const lo = parseInt(mappedHex[2] ?? '0', 16);
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}

/** Every address assigned to this host's interfaces now (where keepalived puts a VIP), canonical. */
export function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => canonicalIp(a.address)));
}
