import { basename, dirname, join } from 'node:path';
import type { Config } from '../config/schema.js';
import { describeError, isAppError } from '../errors.js';
import { mysqlTarget, peerMysqlTarget } from '../mysql/targets.js';
import { detectDialect } from '../mysql/dialect.js';
import { doctorVariables, nameValueRows, serverClockMs, showGrants, type Statement } from '../mysql/queries.js';
import type { MysqlTarget, Row, SqlClient, SqlConnector } from '../mysql/types.js';
import { deadline, withSignal } from '../platform/deadline.js';
import type { PeerFilesConnector } from '../ssh/types.js';
import { CHECK_DOWN_FILE, WATCH_BEAT_FILE } from '../state/files.js';
import {
  bootReadOnlyCheck, clockSkewCheck, keepalivedChecks, pairChecks, parseKeepalivedConf, serverChecks, switchoverTrackChecks, watchChecks,
  type Finding, type ServerFacts,
} from './checks.js';

/** The outside world of doctor; the CLI passes real adapters. */
export interface DoctorPorts {
  readonly sql: SqlConnector;
  readonly peerFiles: () => Promise<PeerFilesConnector>;
  /** A local file's text; undefined when it cannot be read. */
  readonly readFile: (path: string) => string | undefined;
  /** `my_print_defaults` for the server groups (of myCnf when given); undefined when the tool is missing. */
  readonly printDefaults: (myCnf: string | undefined) => Promise<string | undefined>;
  readonly mode: (path: string) => number | undefined;
  readonly writable: (path: string) => boolean;
  /** A file's mtime in ms; undefined when it does not exist. */
  readonly mtimeMs: (path: string) => number | undefined;
  readonly keepalived: () => { running: boolean; detail: string };
  readonly now: () => number;
}

interface Observed {
  readonly facts: ServerFacts;
  /** Server clock minus local clock, corrected by half the round trip. */
  readonly skewMs: number;
}

async function rows(c: SqlClient, s: Statement, signal: AbortSignal): Promise<Row[]> {
  return c.query<Row>(s.sql, s.params, { signal });
}

async function observe(ports: DoctorPorts, node: string, target: MysqlTarget, signal: AbortSignal): Promise<Observed> {
  const client = await withSignal(ports.sql.connect(target, signal), signal, `connecting to ${target.host}:${target.port}`);
  try {
    const dialect = await detectDialect(client, signal);
    const variables = nameValueRows(await rows(client, doctorVariables(), signal));
    const grants = (await rows(client, showGrants(), signal)).map((r) => String(Object.values(r)[0] ?? ''));
    const before = ports.now();
    const [clock] = await rows(client, serverClockMs(), signal);
    const after = ports.now();
    return { facts: { node, flavor: dialect.flavor, variables, grants }, skewMs: Number(clock?.['ms']) - (before + after) / 2 };
  } finally {
    client.close();
  }
}

// Logs in with the replication account and looks for REPLICATION SLAVE among its grants.
async function replicationLogin(ports: DoctorPorts, where: string, target: MysqlTarget, signal: AbortSignal): Promise<Finding> {
  const id = `replication_account.${where}`;
  try {
    const client = await withSignal(ports.sql.connect(target, signal), signal, `connecting to ${target.host}:${target.port}`);
    try {
      const grants = (await rows(client, showGrants(), signal)).map((r) => String(Object.values(r)[0] ?? '').toUpperCase());
      return grants.some((g) => /REPLICATION SLAVE|ALL PRIVILEGES/.test(g) && g.includes(' ON *.* '))
        ? { id, level: 'PASS', message: `replication account ${target.user} logs in to ${where} with REPLICATION SLAVE`, fix: '' }
        : { id, level: 'FAIL', message: `replication account ${target.user} on ${where} lacks REPLICATION SLAVE`, fix: `GRANT REPLICATION SLAVE ON *.* TO '${target.user}'@'<peer host>'` };
    } finally {
      client.close();
    }
  } catch (err) {
    return { id, level: 'FAIL', message: `replication account ${target.user} cannot log in to ${where} (${target.host}:${target.port}): ${describeError(err)}`,
      fix: `CREATE USER '${target.user}'@'<peer host>' IDENTIFIED BY …; GRANT REPLICATION SLAVE ON *.* TO it (on both nodes)` };
  }
}

// Every check doctor knows, in a stable order; a part that cannot be reached is a FAIL line, never an exception.
export async function runDoctor(config: Config, configPath: string, ports: DoctorPorts, parent: AbortSignal): Promise<Finding[]> {
  const local = mysqlTarget(config);
  const peer = peerMysqlTarget(config);
  const budget = local.connectTimeoutMs + 4 * local.queryTimeoutMs;
  const repl = (t: MysqlTarget): MysqlTarget => ({ ...t, user: config.replication.user, password: config.replication.password });
  const attempt = (node: string, t: MysqlTarget): Promise<Observed | string> =>
    observe(ports, node, t, deadline(budget, parent)).catch((err: unknown) => describeError(err));
  const [mine, theirs, replHere, replThere, peerConf] = await Promise.all([
    attempt(config.node.name, local),
    attempt(config.peer.name, peer),
    replicationLogin(ports, config.node.name, repl({ ...local, host: local.socketPath !== undefined ? '127.0.0.1' : local.host }), deadline(budget, parent)),
    replicationLogin(ports, config.peer.name, repl(peer), deadline(budget, parent)),
    readPeerKeepalivedConf(config, ports, parent),
  ]);

  const out: Finding[] = [];
  for (const [node, o] of [[config.node.name, mine], [config.peer.name, theirs]] as const) {
    if (typeof o === 'string') out.push({ id: `${node}.mysql`, level: 'FAIL', message: `${node}: MySQL does not answer the toolkit account: ${o}`, fix: 'start MySQL; check mysql.* / peer.mysqlPort and the account on both nodes' });
    else out.push(...serverChecks(o.facts, config));
  }
  if (typeof mine !== 'string' && typeof theirs !== 'string') {
    out.push(...pairChecks(mine.facts, theirs.facts));
    out.push(clockSkewCheck(theirs.skewMs - mine.skewMs, config.peer.name));
  }
  out.push(replHere, replThere);

  const source = config.doctor.myCnf ?? 'the server\'s option files';
  const defaults = await ports.printDefaults(config.doctor.myCnf);
  out.push(defaults === undefined
    ? { id: 'my.cnf.read_only', level: 'WARN', message: 'my_print_defaults not found: read_only at start not checked', fix: 'install the MySQL/MariaDB client tools' }
    : bootReadOnlyCheck(defaults, source));

  out.push(peerConf.ssh);
  const confText = ports.readFile(config.keepalived.confFile);
  if (confText === undefined) {
    out.push({ id: 'keepalived.conf', level: 'FAIL', message: `cannot read ${config.keepalived.confFile}`, fix: 'render it from templates/keepalived.conf.tmpl, or set keepalived.confFile' });
  } else {
    const peerVrids = peerConf.text === undefined ? undefined : parseKeepalivedConf(peerConf.text).instances.flatMap((i) => (i.vrid !== undefined ? [i.vrid] : []));
    const conf = parseKeepalivedConf(confText);
    out.push(...keepalivedChecks(conf, config.keepalived.confFile, config, peerVrids));
    out.push(...switchoverTrackChecks(conf, config.keepalived.confFile, config, ports.readFile));
    const state = (f: string): string => join(config.paths.stateDir, f);
    out.push(...watchChecks(conf, config, ports.mtimeMs(state(WATCH_BEAT_FILE)), ports.now(), ports.readFile(state(CHECK_DOWN_FILE))?.trim()));
  }
  const ka = ports.keepalived();
  out.push(ka.running
    ? { id: 'keepalived.pid_file', level: 'PASS', message: `${config.paths.keepalivedPidFile} names a running keepalived (${ka.detail})`, fix: '' }
    : { id: 'keepalived.pid_file', level: 'WARN', message: `${config.paths.keepalivedPidFile}: ${ka.detail}`, fix: `start keepalived with -p ${config.paths.keepalivedPidFile}` });

  out.push(...fileChecks(config, configPath, ports));
  return out;
}

// The peer's keepalived.conf (same path) over SFTP: proves key login with the pinned host key, and gives its VRID.
async function readPeerKeepalivedConf(config: Config, ports: DoctorPorts, signal: AbortSignal): Promise<{ ssh: Finding; text?: string }> {
  const where = `${config.peer.ssh.user}@${config.peer.host}:${config.peer.ssh.port}`;
  const pinned = config.peer.ssh.hostKeySha256 !== undefined ? `host key ${config.peer.ssh.hostKeySha256}` : `host key from ${config.peer.ssh.knownHostsFile ?? '?'}`;
  try {
    const files = await (await ports.peerFiles()).connect(config.peer.host, config.peer.ssh, signal);
    try {
      const path = config.keepalived.peerConfFile;
      const text = await files.readStateFile(dirname(path), basename(path), signal).catch(() => undefined);
      return { ssh: { id: 'ssh.peer', level: 'PASS', message: `SSH key login to ${where}, ${pinned} verified`, fix: '' }, ...(text !== undefined ? { text } : {}) };
    } finally {
      files.close();
    }
  } catch (err) {
    const rejected = isAppError(err) && err.code === 'SSH_HOST_KEY_REJECTED';
    return { ssh: { id: 'ssh.peer', level: 'FAIL', message: `SSH to ${where}: ${describeError(err)}`,
      fix: rejected ? `pin the peer's current host key: ssh-keyscan -p ${config.peer.ssh.port} ${config.peer.host} >> known_hosts (after checking its fingerprint)`
        : `authorize ${config.peer.ssh.identityFile}.pub on ${config.peer.host} for ${config.peer.ssh.user}` } };
  }
}

function fileChecks(config: Config, configPath: string, ports: DoctorPorts): Finding[] {
  const out: Finding[] = [];
  const configMode = ports.mode(configPath) ?? 0;
  out.push((configMode & 0o077) === 0 ? { id: 'files.config', level: 'PASS', message: `${configPath} mode ${configMode.toString(8)}`, fix: '' }
    : { id: 'files.config', level: 'WARN', message: `${configPath} is mode ${configMode.toString(8)}: others can read the toolkit's settings`, fix: `chmod 600 ${configPath}` });
  for (const [what, dir] of [['paths.stateDir', config.paths.stateDir], ['paths.logDir', config.paths.logDir]] as const) {
    out.push(ports.writable(dir) ? { id: `files.${what}`, level: 'PASS', message: `${what} ${dir} writable`, fix: '' }
      : { id: `files.${what}`, level: 'FAIL', message: `${what} ${dir} missing or not writable`, fix: `install -d -m 750 ${dir}` });
  }
  const identity = ports.mode(config.peer.ssh.identityFile);
  if (identity !== undefined && (identity & 0o077) !== 0) {
    out.push({ id: 'files.identity', level: 'FAIL', message: `${config.peer.ssh.identityFile} is mode ${identity.toString(8)}: group or others can read the SSH key`, fix: `chmod 600 ${config.peer.ssh.identityFile}` });
  }
  return out;
}
