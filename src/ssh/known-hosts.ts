import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

// Host key checking against an OpenSSH known_hosts file or a pinned fingerprint. Pure: the caller reads the file.
// Hand-written: no small, well-kept npm package matches known_hosts (hashed entries included); sshpk parses keys only.

/** Outcome of checking a received host key. */
export type HostKeyVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'unknown' | 'changed' | 'revoked' };

interface KnownHostLine {
  readonly marker?: '@revoked' | '@cert-authority';
  readonly hosts: string;
  readonly keyType: string;
  readonly keyBase64: string;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `SHA256:<base64 without padding>` of a public key blob, as `ssh-keygen -lf` prints it. */
export function sha256Fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** True when the pin (`SHA256:...`, trailing `=` optional) names this key blob. */
export function fingerprintMatches(pin: string, keyBlob: Buffer): boolean {
  return pin.trim().replace(/=+$/, '') === sha256Fingerprint(keyBlob);
}

/** The key type inside an SSH wire-format public key blob (its first string), e.g. `ssh-ed25519`. */
export function sshKeyType(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return '';
  const len = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

/** Key types known for this host (first-seen order), so the client can offer only those host key algorithms. */
export function knownKeyTypes(knownHostsText: string, host: string, port: number): string[] {
  const name = knownHostsName(host, port).toLowerCase();
  const types: string[] = [];
  for (const line of parseLines(knownHostsText)) {
    if (line.marker === undefined && hostsMatch(line.hosts, name) && !types.includes(line.keyType)) types.push(line.keyType);
  }
  return types;
}

/**
 * Checks a received host key the way OpenSSH does: a matching `@revoked` line refuses it; a plain line
 * with the same type and base64 accepts it; lines for the host with other keys mean it changed.
 */
export function verifyHostKey(knownHostsText: string, host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const name = knownHostsName(host, port).toLowerCase();
  const keyType = sshKeyType(keyBlob);
  const keyBase64 = keyBlob.toString('base64');
  let sawHost = false;
  let matched = false;
  for (const line of parseLines(knownHostsText)) {
    // Certificates are not supported: a CA line never vouches for a plain key.
    if (line.marker === '@cert-authority') continue;
    const sameKey = line.keyType === keyType && line.keyBase64 === keyBase64;
    if (line.marker === '@revoked') {
      if (sameKey) return { ok: false, reason: 'revoked' };
      continue;
    }
    if (!hostsMatch(line.hosts, name)) continue;
    sawHost = true;
    if (sameKey) matched = true;
  }
  if (matched) return { ok: true };
  return { ok: false, reason: sawHost ? 'changed' : 'unknown' };
}

function parseLines(text: string): KnownHostLine[] {
  const out: KnownHostLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostLine['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostLine['marker'];
    const [hosts, keyType, keyBase64] = fields;
    if (hosts === undefined || keyType === undefined || keyBase64 === undefined) continue;
    out.push({ ...(marker !== undefined ? { marker } : {}), hosts, keyType, keyBase64 });
  }
  return out;
}

// A host field: one hashed name, or comma-separated patterns where a matching `!pattern` vetoes the line.
function hostsMatch(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) return hashedMatch(hosts, name);
  let positive = false;
  for (const pattern of hosts.toLowerCase().split(',')) {
    if (pattern.startsWith('!')) {
      if (globMatch(pattern.slice(1), name)) return false;
    } else if (globMatch(pattern, name)) {
      positive = true;
    }
  }
  return positive;
}

// `|1|<base64 salt>|<base64 HMAC-SHA1(salt, name)>`, as written by `ssh-keygen -H` / HashKnownHosts.
function hashedMatch(field: string, name: string): boolean {
  const [, , saltB64, hashB64] = field.split('|');
  if (saltB64 === undefined || hashB64 === undefined) return false;
  const expected = Buffer.from(hashB64, 'base64');
  const actual = createHmac('sha1', Buffer.from(saltB64, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

// OpenSSH pattern: `*` any run, `?` one character, everything else literal.
function globMatch(pattern: string, name: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === name;
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name);
}
