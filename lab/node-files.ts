import { LabError } from './exec.js';
import { WITHOUT_WITNESS, type Profile, type Setting, type Wiring } from './settings.js';
import { HOSTS, NOTIFY_FIFO, SUBNET_PREFIX, VIP, VRID, WITNESS_SSH_PORT, peerOf, type DbHostId } from './topology.js';

// What each lab host is configured with, as pure functions of the documented files: the node config is
// templates/config.example.json and keepalived's values are keepalived/node-<a|b>.values.json, with only
// site values (names, addresses, paths) replaced. Every tuning value stays as documented.

type Json = Record<string, unknown>;

function section(o: Json, key: string, file: string): Json {
  const v = o[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new LabError(`${file}: no "${key}" section`);
  return v as Json;
}

/** rpl_semi_sync_master_timeout for templates/my.cnf.tmpl: the backstop its comment recommends (the README states none). */
const SEMI_SYNC_TIMEOUT_MS = 3_600_000;

export function myCnfValues(h: DbHostId): Record<string, string | number> {
  return { nodeName: HOSTS[h].hostname, serverId: HOSTS[h].serverId, semiSyncTimeoutMs: SEMI_SYNC_TIMEOUT_MS };
}

/** The lab's mysqld is no systemd unit: a pid file and a detached mariadbd, as lab.ts starts it. */
const MYSQLD_STOP = ['sh', '-c', 'p=$(cat /run/mysqld/mysqld.pid) && kill "$p" && while kill -0 "$p" 2>/dev/null; do sleep 0.2; done'];
const MYSQLD_START = ['sh', '-c', 'setsid /usr/sbin/mariadbd --defaults-file=/etc/mysql/my.cnf </dev/null >>/var/log/mysql/error.log 2>&1 &'];

/** The node config of DB host `h` under `setting`, from the parsed example config. */
export function nodeConfig(example: Json, h: DbHostId, setting: Setting): Json {
  const file = 'templates/config.example.json';
  const cfg = structuredClone(example);
  const me = HOSTS[h];
  const peer = HOSTS[peerOf(h)];
  section(cfg, 'node', file)['name'] = me.hostname;
  const peerIn = section(cfg, 'peer', file);
  peerIn['name'] = peer.hostname;
  peerIn['host'] = peer.ip;
  // How this host runs mysqld and where its files are (the example's are systemd's and Debian's).
  if (cfg['heal'] !== undefined) Object.assign(section(cfg, 'heal', file), { vip: VIP, mysqldStop: MYSQLD_STOP, mysqldStart: MYSQLD_START });
  if (cfg['doctor'] !== undefined) section(cfg, 'doctor', file)['myCnf'] = '/etc/mysql/my.cnf';
  // The lab has no alerting: the example's alert command does not exist here.
  delete cfg['alerts'];
  const check = section(cfg, 'check', file);
  // The gateway guard, where configured, is the client host's sshd: the one endpoint clients and both nodes share.
  const gatewayAt = (gw: Json): Json => ({ ...gw, host: HOSTS.c.ip, port: WITNESS_SSH_PORT });
  const withoutWitness = WITHOUT_WITNESS[setting];
  if (withoutWitness === undefined) {
    section(cfg, 'witness', file)['host'] = HOSTS.c.ip;
    if (check['gateway'] !== undefined) check['gateway'] = gatewayAt(section(check, 'gateway', `${file} check`));
  } else {
    delete cfg['witness'];
    // Without a witness the gateway guard is required: the example's, or the shape it documents beside it.
    const documented = check['gateway'] === undefined ? '//gatewayExample' : 'gateway';
    check['gateway'] = gatewayAt(section(check, documented, `${file} check`));
    delete check['//gatewayExample'];
    cfg['partition'] = { ...(cfg['partition'] as Json | undefined), withoutWitness };
  }
  return cfg;
}

export interface KeepalivedFiles {
  template: 'keepalived.conf.tmpl' | 'keepalived-fifo.conf.tmpl' | 'keepalived-fast.conf.tmpl';
  values: Record<string, string | number>;
}

/** The documented sample values of DB host `h` under `profile` (keepalived/node-<a|b>[-fast].values.json). */
export function keepalivedSampleFile(h: DbHostId, profile: Profile): string {
  return profile === 'fast' ? `keepalived/node-${h}-fast.values.json` : `keepalived/node-${h}.values.json`;
}

/** keepalived.conf's template and values for DB host `h`, from the documented sample values of that node. */
export function keepalivedFiles(sample: Json, h: DbHostId, wiring: Wiring, binDir: string, profile: Profile): KeepalivedFiles {
  const values: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(sample)) {
    if (k.startsWith('//')) continue;
    if (typeof v !== 'string' && typeof v !== 'number') throw new LabError(`keepalived sample values: ${k} is not a string or number`);
    values[k] = v;
  }
  Object.assign(values, {
    nodeName: HOSTS[h].hostname, binDir, interface: 'eth0', virtualRouterId: VRID, priority: HOSTS[h].priority, vip: VIP, vipPrefix: SUBNET_PREFIX,
  });
  if (profile === 'fast') {
    if (wiring === 'script') throw new LabError('--profile fast is the notify FIFO wiring (templates/keepalived-fast.conf.tmpl): drop --wiring script');
    return { template: 'keepalived-fast.conf.tmpl', values: { ...values, notifyFifo: NOTIFY_FIFO } };
  }
  if (wiring === 'script') return { template: 'keepalived.conf.tmpl', values };
  return { template: 'keepalived-fifo.conf.tmpl', values: { ...values, notifyFifo: NOTIFY_FIFO } };
}

/**
 * The witness's authorized_keys: each DB host's root key may only forward ports, and only to the two nodes'
 * MySQL and SSH (the second path to a peer that the direct link no longer reaches).
 */
export function witnessAuthorizedKeys(userKeys: readonly string[]): string {
  const opens = ([HOSTS.a, HOSTS.b] as const).flatMap((x) => [`permitopen="${x.ip}:3306"`, `permitopen="${x.ip}:22"`]);
  // `restrict` still lets a key run commands: the forced command leaves it nothing but forwarding.
  const options = ['restrict', 'port-forwarding', 'command="/bin/false"', ...opens].join(',');
  return userKeys.map((k) => `${options} ${k.trim()}\n`).join('');
}

/** A known_hosts line for `host` from its `ssh-keygen` public host key file. */
export function knownHostsLine(ip: string, hostname: string, hostKeyPub: string): string {
  return `${ip},${hostname} ${hostKeyPub.trim().split(' ').slice(0, 2).join(' ')}\n`;
}
