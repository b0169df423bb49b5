import { AppError } from '../errors.js';
import { CHECK_RESERVE_MS, minimumDeadlineMs } from './check-budget.js';
import { parseGroupReplicationSection, type GroupReplicationSettings } from './group-replication.js';

export type OnDown = 'stop-keepalived' | 'exit';
/** What a master does when its replica stops acknowledging and no witness can say whether the replica is alive. */
export type WithoutWitness = 'fence' | 'async';
export type OnCatchUpTimeout = 'promote' | 'refuse';

export interface MysqlEndpoint {
  readonly host: string;
  readonly port: number;
  /** A unix socket wins over host/port when set (local server only). */
  readonly socketPath?: string;
  readonly user: string;
  readonly password: string;
  readonly connectTimeoutMs: number;
  readonly queryTimeoutMs: number;
}

export interface SshSettings {
  readonly user: string;
  readonly port: number;
  readonly identityFile: string;
  /** OpenSSH known_hosts file holding the peer's host key; checked on every connection. */
  readonly knownHostsFile?: string;
  /** Pinned host key fingerprint, `SHA256:<base64>` as printed by `ssh-keygen -lf`. */
  readonly hostKeySha256?: string;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
}

export interface GatewayGuard {
  readonly host: string;
  /** Any TCP port: a connection or a refusal both prove the gateway answers. */
  readonly port: number;
  readonly timeoutMs: number;
}

/** A third host both nodes reach over SSH: a second path to the peer and a third vantage point (issue 7). */
export interface WitnessSettings {
  readonly host: string;
  readonly ssh: SshSettings;
  /** How long the witness gets to open a TCP connection to the peer (a SYN-ACK; the kernel answers even for a hung mysqld). */
  readonly forwardTimeoutMs: number;
}

/** semisync-pair: the master + semi-sync replica this toolkit promotes and demotes. group-replication: MGR elects; VIPs follow. */
export type Mode = 'semisync-pair' | 'group-replication';
export const MODES: readonly Mode[] = ['semisync-pair', 'group-replication'];

export interface Config {
  readonly mode: 'semisync-pair';
  readonly node: { readonly name: string };
  readonly mysql: MysqlEndpoint;
  readonly replication: {
    readonly user: string;
    readonly password: string;
    /** Seconds between replica heartbeats (MASTER_HEARTBEAT_PERIOD); short, so a dead master is noticed fast. */
    readonly heartbeatPeriodS: number;
    readonly connectRetryS: number;
  };
  readonly peer: {
    readonly name: string;
    readonly host: string;
    readonly mysqlPort: number;
    readonly ssh: SshSettings;
    /** The peer's state dir (default: same as ours), read over SFTP for its recorded coordinates. */
    readonly stateDir: string;
    /** The peer's binlog index file, read over SFTP to find its last binlog (default: ask the peer MySQL). */
    readonly binlogIndexFile?: string;
    /** The peer's keepalived pid file (default: same as ours); switchover checks over SSH that it names a live keepalived. */
    readonly keepalivedPidFile: string;
  };
  readonly paths: {
    readonly logDir: string;
    readonly stateDir: string;
    readonly keepalivedPidFile: string;
    readonly mysqldPidFile?: string;
  };
  /** Optional witness; without one, check.gateway is the isolation guard and partition.withoutWitness decides. */
  readonly witness?: WitnessSettings;
  readonly partition: {
    readonly withoutWitness: WithoutWitness;
  };
  readonly check: {
    readonly retries: number;
    readonly retryIntervalMs: number;
    /** Whole-run deadline; keep it below keepalived's vrrp_script `timeout`. */
    readonly deadlineMs: number;
    readonly onDown: OnDown;
    readonly gateway?: GatewayGuard;
    /** `keepalived-mysql watch` (the fast profile): one check round every intervalMs, the verdict in stateDir/check.down. */
    readonly watch: { readonly intervalMs: number };
  };
  readonly notify: {
    readonly deadlineMs: number;
    readonly catchUpTimeoutMs: number;
    readonly onCatchUpTimeout: OnCatchUpTimeout;
    readonly killClientConnections: boolean;
    readonly lockWaitMs: number;
    /** Before writes open, apply the complete transactions only the unreachable old master's binlog has (MHA-style). */
    readonly recoverOldMasterTail: boolean;
  };
  readonly heal: HealSettings;
  /** What status and doctor read of keepalived: this node's and the peer's keepalived.conf. */
  readonly keepalived: {
    readonly confFile: string;
    /** The peer's keepalived.conf, read over SFTP by doctor (default: confFile). */
    readonly peerConfFile: string;
  };
  /** A command (argv) run with a JSON event on stdin at every transition outcome and failed step; never waited for. */
  readonly alerts?: {
    readonly command: readonly string[];
    readonly timeoutMs: number;
  };
  /** What doctor reads besides the servers: the MySQL option file (default: my_print_defaults' own search). */
  readonly doctor: {
    readonly myCnf?: string;
  };
}

/** `rejoin`: how this node saves, discards and rebuilds when it rejoins the new master. */
export interface HealSettings {
  /** argv that stops / starts this node's mysqld (a rebuild swaps the datadir in between). */
  readonly mysqldStop: readonly string[];
  readonly mysqldStart: readonly string[];
  /** This node's datadir (replaced by a rebuild; the old one is kept beside it). */
  readonly datadir: string;
  /** argv run on the peer over SSH that writes an xbstream backup of the live master to stdout. */
  readonly peerBackupCommand: readonly string[];
  /** Option file (included by my.cnf) where the toolkit writes init-rpl-role for mysqld's next start. */
  readonly startupRoleFile: string;
  /** The VIP address: rejoin refuses while a local interface holds it. */
  readonly vip?: string;
  readonly deadlineMs: number;
}

/** A Group Replication node: no peer, replication account, witness or partition policy (MGR elects and moves the data). */
export interface GroupReplicationConfig extends Omit<Config, 'mode' | 'peer' | 'replication' | 'witness' | 'partition'> {
  readonly mode: 'group-replication';
  readonly groupReplication: GroupReplicationSettings;
}

/** What a node's config file holds, either mode. */
export type NodeConfig = Config | GroupReplicationConfig;

/** Config as written in the file: secrets may come from a file instead of inline. */
export interface ConfigInputHints {
  /** Reads a password file; refuses one that group/others can read. */
  readPasswordFile(path: string): string;
  /** True when the config file itself can be read by group or others. */
  readonly configReadableByOthers: boolean;
}

export const DEFAULT_CONFIG_PATH = '/etc/keepalived-mysql/config.json';

type Json = Record<string, unknown>;

// The semisync-pair config the failover commands need; a group-replication config is refused in one line.
export function parseConfig(input: unknown, hints: ConfigInputHints): Config {
  const config = parseNodeConfig(input, hints);
  if (config.mode !== 'semisync-pair') {
    throw new AppError('CONFIG_INVALID', `invalid config: mode "${config.mode}": this command serves semisync-pair nodes only`);
  }
  return config;
}

// Validates one parsed config object of either mode, collecting every problem with its key before failing once.
export function parseNodeConfig(input: unknown, hints: ConfigInputHints): NodeConfig {
  const problems: string[] = [];
  const root = asObject(input, '', problems) ?? {};

  const str = (o: Json, path: string, key: string, dflt?: string): string => {
    const v = o[key];
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'string' || v.length === 0) {
      problems.push(`${path}${key}: expected a non-empty string, got ${show(v)}`);
      return '';
    }
    return v;
  };
  const optStr = (o: Json, path: string, key: string): string | undefined =>
    o[key] === undefined ? undefined : str(o, path, key);
  const int = (o: Json, path: string, key: string, dflt: number | undefined, min: number, max: number): number => {
    const v = o[key];
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${path}${key}: expected an integer from ${min} to ${max}, got ${show(v)}`);
      return dflt ?? min;
    }
    return v;
  };
  const bool = (o: Json, path: string, key: string, dflt: boolean): boolean => {
    const v = o[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') {
      problems.push(`${path}${key}: expected true or false, got ${show(v)}`);
      return dflt;
    }
    return v;
  };
  const argv = (o: Json, path: string, key: string, dflt: readonly string[]): readonly string[] => {
    const v = o[key];
    if (v === undefined) return dflt;
    if (!Array.isArray(v) || v.length === 0 || !v.every((a): a is string => typeof a === 'string' && a.length > 0)) {
      problems.push(`${path}${key}: expected a non-empty array of non-empty strings (program and arguments), got ${show(v)}`);
      return dflt;
    }
    return v;
  };
  const oneOf = <T extends string>(o: Json, path: string, key: string, allowed: readonly T[], dflt: T): T => {
    const v = o[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      problems.push(`${path}${key}: expected one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${show(v)}`);
      return dflt;
    }
    return v as T;
  };
  const password = (o: Json, path: string): string => {
    const inline = o['password'];
    const file = o['passwordFile'];
    if (inline !== undefined && file !== undefined) {
      problems.push(`${path}password: give password or passwordFile, not both`);
      return '';
    }
    if (typeof file === 'string' && file.length > 0) {
      try {
        return hints.readPasswordFile(file);
      } catch (err) {
        problems.push(`${path}passwordFile: ${(err as Error).message}`);
        return '';
      }
    }
    if (file !== undefined) {
      problems.push(`${path}passwordFile: expected a non-empty string, got ${show(file)}`);
      return '';
    }
    if (typeof inline === 'string') {
      if (hints.configReadableByOthers) {
        problems.push(`${path}password: the config file is readable by other users; chmod 600 it or use passwordFile`);
      }
      return inline;
    }
    problems.push(`${path}passwordFile: expected a path to a 0600 file holding the password (or password inline in a 0600 config)`);
    return '';
  };

  const mode = oneOf(root, '', 'mode', MODES, 'semisync-pair');
  const pair = mode === 'semisync-pair';
  // A Group Replication node has no peer to fence and no replication to point: those sections would be dead settings.
  const pairOnly = (key: string, required: boolean): Json | undefined => {
    if (pair) return root[key] === undefined && !required ? undefined : asObject(root[key], key, problems) ?? {};
    if (root[key] !== undefined) problems.push(`${key}: not used in mode "group-replication" (MGR elects the primary and moves the data); remove it`);
    return required ? {} : undefined;
  };
  const node = asObject(root['node'], 'node', problems) ?? {};
  const mysqlIn = asObject(root['mysql'], 'mysql', problems) ?? {};
  const replIn = pairOnly('replication', true) ?? {};
  const peerIn = pairOnly('peer', true) ?? {};
  const sshIn = pair ? asObject(peerIn['ssh'], 'peer.ssh', problems) ?? {} : {};
  const pathsIn = asObject(root['paths'], 'paths', problems) ?? {};
  const checkIn = asObject(root['check'] ?? {}, 'check', problems) ?? {};
  const notifyIn = asObject(root['notify'] ?? {}, 'notify', problems) ?? {};
  const healIn = asObject(root['heal'] ?? {}, 'heal', problems) ?? {};
  const keepalivedIn = asObject(root['keepalived'] ?? {}, 'keepalived', problems) ?? {};
  const doctorIn = asObject(root['doctor'] ?? {}, 'doctor', problems) ?? {};
  const alertsIn = root['alerts'] === undefined ? undefined : asObject(root['alerts'], 'alerts', problems);
  const gatewayIn = checkIn['gateway'] === undefined ? undefined : asObject(checkIn['gateway'], 'check.gateway', problems);
  const watchIn = asObject(checkIn['watch'] ?? {}, 'check.watch', problems) ?? {};
  const witnessIn = pairOnly('witness', false);
  const witnessSshIn = witnessIn === undefined ? undefined : asObject(witnessIn['ssh'] ?? {}, 'witness.ssh', problems);
  const partitionIn = pairOnly('partition', false) ?? {};

  for (const [obj, path, known] of [
    [root, '', ['mode', 'node', 'mysql', 'replication', 'peer', 'witness', 'partition', 'paths', 'check', 'notify', 'groupReplication', 'heal', 'keepalived', 'doctor', 'alerts']],
    [witnessIn ?? {}, 'witness.', ['host', 'ssh', 'forwardTimeoutMs']],
    [witnessSshIn ?? {}, 'witness.ssh.', ['user', 'port', 'identityFile', 'knownHostsFile', 'hostKeySha256', 'connectTimeoutMs', 'commandTimeoutMs']],
    [partitionIn, 'partition.', ['withoutWitness']],
    [healIn, 'heal.', ['mysqldStop', 'mysqldStart', 'datadir', 'peerBackupCommand', 'startupRoleFile', 'vip', 'deadlineMs']],
    [node, 'node.', ['name']],
    [mysqlIn, 'mysql.', ['host', 'port', 'socketPath', 'user', 'password', 'passwordFile', 'connectTimeoutMs', 'queryTimeoutMs']],
    [replIn, 'replication.', ['user', 'password', 'passwordFile', 'heartbeatPeriodS', 'connectRetryS']],
    [peerIn, 'peer.', ['name', 'host', 'mysqlPort', 'ssh', 'stateDir', 'binlogIndexFile', 'keepalivedPidFile']],
    [sshIn, 'peer.ssh.', ['user', 'port', 'identityFile', 'knownHostsFile', 'hostKeySha256', 'connectTimeoutMs', 'commandTimeoutMs']],
    [pathsIn, 'paths.', ['logDir', 'stateDir', 'keepalivedPidFile', 'mysqldPidFile']],
    [checkIn, 'check.', ['retries', 'retryIntervalMs', 'deadlineMs', 'onDown', 'gateway', 'watch']],
    [watchIn, 'check.watch.', ['intervalMs']],
    [notifyIn, 'notify.', ['deadlineMs', 'catchUpTimeoutMs', 'onCatchUpTimeout', 'killClientConnections', 'lockWaitMs', 'recoverOldMasterTail']],
    [gatewayIn ?? {}, 'check.gateway.', ['host', 'port', 'timeoutMs']],
    [keepalivedIn, 'keepalived.', ['confFile', 'peerConfFile']],
    [doctorIn, 'doctor.', ['myCnf']],
    [alertsIn ?? {}, 'alerts.', ['command', 'timeoutMs']],
  ] as const) {
    for (const key of Object.keys(obj)) {
      if (!(known as readonly string[]).includes(key) && !isCommentKey(key)) problems.push(`${path}${key}: unknown key`);
    }
  }

  const mysql: MysqlEndpoint = {
    host: str(mysqlIn, 'mysql.', 'host', '127.0.0.1'),
    port: int(mysqlIn, 'mysql.', 'port', 3306, 1, 65535),
    ...(optStr(mysqlIn, 'mysql.', 'socketPath') !== undefined ? { socketPath: mysqlIn['socketPath'] as string } : {}),
    user: str(mysqlIn, 'mysql.', 'user'),
    password: password(mysqlIn, 'mysql.'),
    connectTimeoutMs: int(mysqlIn, 'mysql.', 'connectTimeoutMs', 500, 10, 60_000),
    queryTimeoutMs: int(mysqlIn, 'mysql.', 'queryTimeoutMs', 1000, 10, 600_000),
  };

  const peerName = str(peerIn, 'peer.', 'name', 'peer');
  const pathsStateDir = str(pathsIn, 'paths.', 'stateDir', '/var/lib/keepalived-mysql');
  const sshSettings = (o: Json, path: string): SshSettings => {
    const knownHostsFile = optStr(o, path, 'knownHostsFile');
    const hostKeySha256 = optStr(o, path, 'hostKeySha256');
    if (knownHostsFile === undefined && hostKeySha256 === undefined) {
      problems.push(`${path}knownHostsFile: set knownHostsFile or hostKeySha256 (an unchecked host key is never accepted)`);
    }
    if (hostKeySha256 !== undefined && !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(hostKeySha256)) {
      problems.push(`${path}hostKeySha256: expected "SHA256:<43 base64 chars>" as printed by ssh-keygen -lf, got ${show(hostKeySha256)}`);
    }
    return {
      user: str(o, path, 'user', 'root'),
      port: int(o, path, 'port', 22, 1, 65535),
      identityFile: str(o, path, 'identityFile', '/root/.ssh/id_ed25519'),
      ...(knownHostsFile !== undefined ? { knownHostsFile } : {}),
      ...(hostKeySha256 !== undefined ? { hostKeySha256 } : {}),
      connectTimeoutMs: int(o, path, 'connectTimeoutMs', 2000, 100, 60_000),
      commandTimeoutMs: int(o, path, 'commandTimeoutMs', 3000, 100, 600_000),
    };
  };
  const ssh = pair ? sshSettings(sshIn, 'peer.ssh.') : undefined;
  const witness: WitnessSettings | undefined = witnessIn === undefined ? undefined : {
    host: str(witnessIn, 'witness.', 'host'),
    ssh: sshSettings(witnessSshIn ?? {}, 'witness.ssh.'),
    forwardTimeoutMs: int(witnessIn, 'witness.', 'forwardTimeoutMs', 500, 50, 10_000),
  };
  const binlogIndexFile = optStr(peerIn, 'peer.', 'binlogIndexFile');

  const mysqldPidFile = optStr(pathsIn, 'paths.', 'mysqldPidFile');
  const gateway: GatewayGuard | undefined = gatewayIn === undefined ? undefined : {
    host: str(gatewayIn, 'check.gateway.', 'host'),
    port: int(gatewayIn, 'check.gateway.', 'port', 22, 1, 65535),
    timeoutMs: int(gatewayIn, 'check.gateway.', 'timeoutMs', 500, 10, 10_000),
  };

  const check = {
    retries: int(checkIn, 'check.', 'retries', 2, 0, 100),
    retryIntervalMs: int(checkIn, 'check.', 'retryIntervalMs', 500, 0, 60_000),
    deadlineMs: int(checkIn, 'check.', 'deadlineMs', 4000, 100, 600_000),
    onDown: oneOf(checkIn, 'check.', 'onDown', ['exit', 'stop-keepalived'] as const, 'exit'),
    ...(gateway !== undefined ? { gateway } : {}),
    watch: { intervalMs: int(watchIn, 'check.watch.', 'intervalMs', 200, 50, 10_000) },
  };
  if (pair && witness === undefined && gateway === undefined) {
    problems.push('witness: configure a witness (recommended) or check.gateway: a node must be able to tell that it is the isolated one');
  }
  const minimumDeadline = minimumDeadlineMs({
    retries: check.retries,
    retryIntervalMs: check.retryIntervalMs,
    attemptBudgetMs: mysql.connectTimeoutMs + mysql.queryTimeoutMs,
  });
  if (pair && check.deadlineMs < minimumDeadline) {
    problems.push(
      `check.deadlineMs: must be at least check.retries × check.retryIntervalMs + mysql.connectTimeoutMs + mysql.queryTimeoutMs + ${CHECK_RESERVE_MS} ms ` +
        `(${minimumDeadline}) so every retry fits, got ${check.deadlineMs}`,
    );
  }
  // A group check makes no retries: one connect, then at most two rounds of queries (5.7 asks for its primary apart).
  const minimumGroupDeadline = minimumDeadlineMs({ retries: 0, retryIntervalMs: 0, attemptBudgetMs: mysql.connectTimeoutMs + 2 * mysql.queryTimeoutMs });
  if (!pair && check.deadlineMs < minimumGroupDeadline) {
    problems.push(`check.deadlineMs: must be at least mysql.connectTimeoutMs + 2 × mysql.queryTimeoutMs + ${CHECK_RESERVE_MS} ms (${minimumGroupDeadline}), got ${check.deadlineMs}`);
  }

  const notify = {
    deadlineMs: int(notifyIn, 'notify.', 'deadlineMs', 60_000, 1000, 3_600_000),
    catchUpTimeoutMs: int(notifyIn, 'notify.', 'catchUpTimeoutMs', 30_000, 0, 3_600_000),
    onCatchUpTimeout: oneOf(notifyIn, 'notify.', 'onCatchUpTimeout', ['promote', 'refuse'] as const, 'refuse'),
    killClientConnections: bool(notifyIn, 'notify.', 'killClientConnections', true),
    lockWaitMs: int(notifyIn, 'notify.', 'lockWaitMs', 120_000, 0, 3_600_000),
    recoverOldMasterTail: bool(notifyIn, 'notify.', 'recoverOldMasterTail', true),
  };
  if (pair && notify.catchUpTimeoutMs >= notify.deadlineMs) {
    problems.push(`notify.catchUpTimeoutMs: must be smaller than notify.deadlineMs (${notify.deadlineMs}), got ${notify.catchUpTimeoutMs}`);
  }

  const vip = optStr(healIn, 'heal.', 'vip');
  const heal: HealSettings = {
    mysqldStop: argv(healIn, 'heal.', 'mysqldStop', ['systemctl', 'stop', 'mariadb']),
    mysqldStart: argv(healIn, 'heal.', 'mysqldStart', ['systemctl', 'start', 'mariadb']),
    datadir: str(healIn, 'heal.', 'datadir', '/var/lib/mysql'),
    peerBackupCommand: argv(healIn, 'heal.', 'peerBackupCommand', ['mariadb-backup', '--backup', '--stream=xbstream', '--target-dir=/tmp']),
    startupRoleFile: str(healIn, 'heal.', 'startupRoleFile', '/etc/keepalived-mysql/mariadb-startup-role.cnf'),
    ...(vip !== undefined ? { vip } : {}),
    deadlineMs: int(healIn, 'heal.', 'deadlineMs', 3_600_000, 10_000, 86_400_000),
  };

  const confFile = str(keepalivedIn, 'keepalived.', 'confFile', '/etc/keepalived/keepalived.conf');
  const keepalived = { confFile, peerConfFile: str(keepalivedIn, 'keepalived.', 'peerConfFile', confFile) };
  const alertCommand = alertsIn === undefined ? undefined : argv(alertsIn, 'alerts.', 'command', []);
  if (alertsIn !== undefined && !(alertCommand?.[0] ?? '').startsWith('/')) {
    problems.push(`alerts.command: expected an argv array starting with an absolute path, e.g. ["/usr/local/bin/page", "--team", "db"], got ${show(alertsIn['command'])}`);
  }
  const alerts = alertsIn === undefined ? undefined : { command: alertCommand ?? [], timeoutMs: int(alertsIn, 'alerts.', 'timeoutMs', 5000, 100, 600_000) };
  const myCnf = optStr(doctorIn, 'doctor.', 'myCnf');

  // Stopping keepalived would drop every VIP of the node, the read VIP with the write VIP: in MGR a check only fails its instance.
  if (!pair && check.onDown !== 'exit') {
    problems.push('check.onDown: must be "exit" in mode "group-replication" (a failed check moves only that instance\'s VIP)');
  }
  if (pair && root['groupReplication'] !== undefined) problems.push('groupReplication: only used in mode "group-replication"');

  const shared = {
    node: { name: str(node, 'node.', 'name') },
    mysql,
    paths: {
      logDir: str(pathsIn, 'paths.', 'logDir', '/var/log/keepalived-mysql'),
      stateDir: pathsStateDir,
      keepalivedPidFile: str(pathsIn, 'paths.', 'keepalivedPidFile', '/run/keepalived.pid'),
      ...(mysqldPidFile !== undefined ? { mysqldPidFile } : {}),
    },
    check,
    notify,
    heal,
    keepalived,
    ...(alerts !== undefined ? { alerts } : {}),
    doctor: myCnf !== undefined ? { myCnf } : {},
  };
  const config: NodeConfig = !pair || ssh === undefined ? { mode: 'group-replication', ...shared, groupReplication: parseGroupReplicationSection(root['groupReplication'], problems) } : {
    mode: 'semisync-pair',
    ...shared,
    replication: {
      user: str(replIn, 'replication.', 'user'),
      password: password(replIn, 'replication.'),
      heartbeatPeriodS: int(replIn, 'replication.', 'heartbeatPeriodS', 1, 1, 3600),
      connectRetryS: int(replIn, 'replication.', 'connectRetryS', 1, 1, 3600),
    },
    peer: {
      name: peerName,
      host: str(peerIn, 'peer.', 'host'),
      mysqlPort: int(peerIn, 'peer.', 'mysqlPort', 3306, 1, 65535),
      ssh,
      stateDir: str(peerIn, 'peer.', 'stateDir', pathsStateDir),
      ...(binlogIndexFile !== undefined ? { binlogIndexFile } : {}),
      keepalivedPidFile: str(peerIn, 'peer.', 'keepalivedPidFile', str(pathsIn, 'paths.', 'keepalivedPidFile', '/run/keepalived.pid')),
    },
    ...(witness !== undefined ? { witness } : {}),
    partition: { withoutWitness: oneOf(partitionIn, 'partition.', 'withoutWitness', ['fence', 'async'] as const, 'fence') },
  };

  if (problems.length > 0) {
    const first = problems[0] ?? '';
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1).join('; ')})` : '';
    throw new AppError('CONFIG_INVALID', `invalid config: ${first}${more}`);
  }
  return deepFreeze(config);
}

// JSON has no comments: keys starting with "//" or "$comment" are notes for humans and are ignored.
function isCommentKey(key: string): boolean {
  return key.startsWith('//') || key.startsWith('$comment');
}

function asObject(v: unknown, path: string, problems: string[]): Json | undefined {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Json;
  problems.push(`${path || '(root)'}: expected an object, got ${show(v)}`);
  return undefined;
}

// Shows a received value in a problem message; never echoes long strings (they may be secrets).
function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return v.length > 60 ? `a string of ${v.length} chars` : `"${v}" (string)`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${v} (${typeof v})`;
  return Array.isArray(v) ? 'an array' : `an ${typeof v}`;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
