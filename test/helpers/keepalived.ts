import { existsSync } from 'node:fs';

export const KEEPALIVED = '/usr/sbin/keepalived';

// Why keepalived cannot be started in namespaces here; undefined when it can. Under CI=true that is a failure.
export function keepalivedSkipReason(): string | undefined {
  const missing = [KEEPALIVED, '/usr/bin/unshare', '/usr/bin/nsenter', '/usr/sbin/ip', '/usr/bin/sleep'].filter((p) => !existsSync(p) && !existsSync(p.replace('/usr', '')));
  const why = process.getuid?.() !== 0 ? 'needs root for network and PID namespaces' : missing.length > 0 ? `missing ${missing.join(', ')}` : undefined;
  if (why !== undefined && process.env['CI'] === 'true') throw new Error(`keepalived test cannot run under CI=true: ${why}`);
  return why;
}
