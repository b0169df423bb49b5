import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { namespaceSkipReason } from './namespaces.js';

export const KEEPALIVED = '/usr/sbin/keepalived';

export function keepalivedSkipReason(): string | undefined {
  return namespaceSkipReason('keepalived test', 'network and PID', [KEEPALIVED, '/usr/bin/unshare', '/usr/bin/nsenter', '/usr/sbin/ip', '/usr/bin/sleep']);
}

// One VRRP instance on a veth pair inside the namespace: nothing leaves it (192.0.2.0/24 is TEST-NET-1).
export const KEEPALIVED_CONF = `global_defs {
  router_id km_check_test
}
vrrp_instance VI_T {
  state BACKUP
  interface km0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.200/32 dev km0
  }
}
`;

export interface Keepalived {
  /** The process we spawned: keepalived itself (net only), or unshare (net + pid). */
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly pidFile: string;
}

export function startKeepalived(dir: string, name: string, pidNamespace: boolean, confText = KEEPALIVED_CONF): Keepalived {
  const conf = join(dir, `${name}.conf`);
  writeFileSync(conf, confText);
  const pidFile = join(dir, `${name}.pid`);
  const files = `-p ${pidFile} -r ${join(dir, `${name}-vrrp.pid`)} -c ${join(dir, `${name}-checkers.pid`)}`;
  const script = `ip link set lo up && ip link add km0 type veth peer name km1 && ip link set km0 up && ip link set km1 up && exec ${KEEPALIVED} -n -l -D -f ${conf} ${files}`;
  const ns = pidNamespace ? ['--net', '--pid', '--fork', '--mount-proc'] : ['--net'];
  const child = spawn('unshare', [...ns, 'sh', '-c', script], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, exited, pidFile };
}

// True while keepalived has not exited (checked for 300 ms).
export async function running(k: Keepalived): Promise<boolean> {
  return Promise.race([k.exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 300))]);
}
