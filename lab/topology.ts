import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

// Names, addresses and paths of the lab. Everything lives in these namespaces and under LAB_DIR only.

/** Repository root (dist/lab/ → ../..). */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LAB_DIR = process.env['KM_LAB_DIR'] ?? '/tmp/km-lab';
export const SWITCH_NS = 'km-sw';
export const SUBNET_PREFIX = 24;
export const VIP = '10.213.0.100';
export const VRID = 51;

export type DbHostId = 'a' | 'b';
export type HostId = DbHostId | 'c';

export interface HostSpec {
  readonly id: HostId;
  readonly ns: string;
  readonly hostname: string;
  readonly ip: string;
  readonly serverId: number;
  readonly priority: number;
  readonly port: string;
}

export const HOSTS: Readonly<Record<HostId, HostSpec>> = {
  a: { id: 'a', ns: 'km-a', hostname: 'db1', ip: '10.213.0.11', serverId: 11, priority: 250, port: 'p-a' },
  b: { id: 'b', ns: 'km-b', hostname: 'db2', ip: '10.213.0.12', serverId: 12, priority: 249, port: 'p-b' },
  c: { id: 'c', ns: 'km-c', hostname: 'client', ip: '10.213.0.50', serverId: 0, priority: 0, port: 'p-c' },
};
export const DB_HOSTS: readonly DbHostId[] = ['a', 'b'];
export const peerOf = (h: DbHostId): DbHostId => (h === 'a' ? 'b' : 'a');

/** Host-side paths as seen from the machine (the host sees them at the mount point in HOST_MOUNTS). */
export const hostDir = (h: HostId): string => join(LAB_DIR, h);
export const rootPath = (h: HostId, pathInHost: string): string => {
  for (const [src, target] of HOST_MOUNTS) {
    if (pathInHost === target || pathInHost.startsWith(`${target}/`)) return join(hostDir(h), src, pathInHost.slice(target.length));
  }
  throw new Error(`${pathInHost} is not private to a lab host`);
};

/** Per-host directories bind-mounted over the machine's, in mount order (/tmp last: LAB_DIR lives there). */
export const HOST_MOUNTS: ReadonlyArray<readonly [string, string]> = [
  ['etc', '/etc'],
  ['run', '/run'],
  ['varlib', '/var/lib'],
  ['log', '/var/log'],
  ['root', '/root'],
  ['tmp', '/tmp'],
];

export const USERS = {
  admin: 'keepalived',
  repl: 'repl',
  app: 'app',
} as const;
export const PASSWORDS = {
  admin: 'km-admin-pw',
  repl: 'km-repl-pw',
  app: 'km-app-pw',
} as const;

/** Where the repository is mounted inside every host: a root-owned path, as an installed package would be. */
export const REPO_IN_HOST = '/opt/keepalived-mysql';
export const BIN_DIR_IN_HOST = `${REPO_IN_HOST}/bin`;
export const MYSQL_SOCKET = '/run/mysqld/mysqld.sock';
export const KEEPALIVED_PID = '/run/keepalived.pid';
/** The fast profile's watcher (keepalived-mysql watch): the lab writes its pid here as it starts it, as systemd would track it. */
export const WATCH_PID = '/run/keepalived-mysql-watch.pid';
export const CONFIG_PATH = '/etc/keepalived-mysql/config.json';
/** The notify FIFO where the README's recommended wiring puts it. */
export const NOTIFY_FIFO = '/run/keepalived-mysql/notify.fifo';
/** The client host's sshd: the witness, and the gateway guard's endpoint where one is configured. */
export const WITNESS_SSH_PORT = 22;
