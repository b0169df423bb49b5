import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, chownSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderTemplate } from '../src/keepalived/render.js';
import { inHost, LabError, run, sleep, waitFor } from './exec.js';
import { keepalivedFiles, keepalivedSampleFile, knownHostsLine, myCnfValues, nodeConfig, witnessAuthorizedKeys } from './node-files.js';
import { DEFAULT_PROFILE, DEFAULT_SETTING, DEFAULT_WIRING, parseProfile, type Profile, type Setting, type Wiring } from './settings.js';
import {
  BIN_DIR_IN_HOST, CONFIG_PATH, REPO_IN_HOST, DB_HOSTS, HOST_MOUNTS, HOSTS, KEEPALIVED_PID, LAB_DIR, NOTIFY_FIFO, PASSWORDS, REPO, SUBNET_PREFIX,
  SWITCH_NS, USERS, VIP, WATCH_PID, hostDir, peerOf, rootPath, type DbHostId, type HostId,
} from './topology.js';

// The lab: three hosts (db1, db2, client) made of network + pid + mount + uts namespaces on one bridge.
// Nothing is added to the machine's root network namespace; everything else lives under LAB_DIR.

const NAMESPACES = [HOSTS.a.ns, HOSTS.b.ns, HOSTS.c.ns, SWITCH_NS] as const;
const INIT_MARK = 'km-lab-init';

export interface LabOptions {
  /** Wire keepalived to tiny shell stand-ins instead of bin/check-mysql and bin/notify (lab self-test). */
  stubBins?: boolean;
  /** keepalived notify wiring (default: the notify FIFO, as the README recommends). */
  wiring?: Wiring;
  /** What the toolkit is told about partitions (default: with the client host as witness). */
  setting?: Setting;
  /** keepalived's detection: the default profile, or the fast one (templates/keepalived-fast.conf.tmpl + keepalived-mysql watch). */
  profile?: Profile;
  log?: (line: string) => void;
}

// ---------- holders (one long-lived PID 1 per host) ----------

export function holderPid(h: HostId): number | undefined {
  const f = join(hostDir(h), 'holder.pid');
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes(INIT_MARK) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function requireHolder(h: HostId): number {
  const pid = holderPid(h);
  if (pid === undefined) throw new LabError(`lab host ${HOSTS[h].hostname} is not running (npm run lab -- up)`);
  return pid;
}

async function existingNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list'], { timeoutMs: 5000 });
  return stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => (NAMESPACES as readonly string[]).includes(n));
}

/** Removes everything a previous run (even a killed one) left: processes in our namespaces, the namespaces, LAB_DIR. */
export async function teardown(log: (s: string) => void = () => {}): Promise<void> {
  for (const ns of await existingNamespaces()) {
    // Only processes inside our own namespaces, by pid.
    for (let round = 0; round < 20; round++) {
      const { stdout } = await run('ip', ['netns', 'pids', ns], { timeoutMs: 5000, allowFail: true });
      const pids = stdout.split('\n').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await sleep(100);
    }
    await run('ip', ['netns', 'del', ns], { timeoutMs: 10_000, allowFail: true });
    log(`removed netns ${ns}`);
  }
  if (existsSync(LAB_DIR)) {
    rmSync(LAB_DIR, { recursive: true, force: true });
    log(`removed ${LAB_DIR}`);
  }
}

function initScript(): string {
  const mounts = HOST_MOUNTS.filter(([, t]) => t !== '/tmp')
    .map(([src, target]) => `mount --bind "$D/${src}" ${target}`)
    .join('\n');
  return `#!/bin/bash
# ${INIT_MARK}: PID 1 of one lab host. Args: HOSTDIR HOSTNAME REPO
D=$1; NAME=$2; REPO=$3
set -e
${mounts}
[ -d /opt ] || mkdir -m 755 /opt
mount -t tmpfs -o mode=755 tmpfs /opt
mkdir -p ${REPO_IN_HOST}
mount --bind "$REPO" ${REPO_IN_HOST}
mount --bind "$D/tmp" /tmp
hostname "$NAME"
ip link set lo up
mkdir -p /run/mysqld /run/sshd
chown mysql:mysql /run/mysqld
echo $$ > /run/holder.ready
set +e
trap 'exit 0' TERM
# PID 1 reaps every orphan (bash reaps any child in its SIGCHLD handler).
while :; do sleep 3600 & wait $!; done
`;
}

async function startHolder(h: HostId): Promise<number> {
  const d = hostDir(h);
  const out = openSync(join(d, 'holder.log'), 'a');
  const child = spawn(
    'ip',
    ['netns', 'exec', HOSTS[h].ns, 'unshare', '--pid', '--mount', '--uts', '--fork', '--mount-proc', '--propagation', 'private',
      'bash', join(LAB_DIR, `${INIT_MARK}.sh`), d, HOSTS[h].hostname, REPO],
    { detached: true, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  child.unref();
  const unsharePid = child.pid;
  if (unsharePid === undefined) throw new LabError(`cannot start host ${HOSTS[h].hostname}`);
  const pid = await waitFor(`host ${HOSTS[h].hostname} to start`, 10_000, async () => {
    if (!existsSync(join(d, 'run', 'holder.ready'))) return undefined;
    // The unshare process forks PID 1 of the new pid namespace; that child is the holder.
    const kids = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    return kids.find((k) => Number.isInteger(k) && k > 1);
  }, 50);
  writeFileSync(join(d, 'holder.pid'), `${pid}\n`);
  return pid;
}

// ---------- files of a host ----------

function write(h: HostId, pathInHost: string, text: string, mode = 0o644): void {
  const p = rootPath(h, pathInHost);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text, { mode });
  chmodSync(p, mode);
}

function template(name: string): string {
  return readFileSync(join(REPO, 'templates', name), 'utf8');
}

async function prepareHostDirs(h: HostId): Promise<void> {
  const d = hostDir(h);
  mkdirSync(d, { recursive: true });
  await run('cp', ['-a', '/etc', join(d, 'etc')], { timeoutMs: 60_000 });
  for (const sub of ['run', 'varlib/mysql', 'varlib/keepalived-mysql', 'log/mysql', 'log/keepalived-mysql', 'log/keepalived', 'root/.ssh', 'tmp']) {
    mkdirSync(join(d, sub), { recursive: true });
  }
  chmodSync(join(d, 'tmp'), 0o1777);
  chmodSync(join(d, 'root'), 0o700);
  chmodSync(join(d, 'root', '.ssh'), 0o700);
  const mysqlUid = await idOf('mysql');
  for (const sub of ['varlib/mysql', 'log/mysql']) chownSync(join(d, sub), mysqlUid.uid, mysqlUid.gid);
  const names = Object.values(HOSTS).map((x) => `${x.ip} ${x.hostname}`).join('\n');
  write(h, '/etc/hostname', `${HOSTS[h].hostname}\n`);
  write(h, '/etc/hosts', `127.0.0.1 localhost\n${names}\n`);
  // Debian's /etc/mysql/my.cnf is a symlink into /etc/alternatives; our host gets a plain file.
  rmSync(rootPath(h, '/etc/mysql/my.cnf'), { force: true });
  rmSync(rootPath(h, '/etc/keepalived-mysql'), { recursive: true, force: true });
  mkdirSync(rootPath(h, '/etc/keepalived-mysql'), { recursive: true, mode: 0o700 });
}

async function idOf(user: string): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', user])).stdout.trim());
  const gid = Number((await run('id', ['-g', user])).stdout.trim());
  return { uid, gid };
}

function json(pathInRepo: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(REPO, pathInRepo), 'utf8')) as Record<string, unknown>;
}

async function writeDbHostFiles(h: DbHostId, opts: LabOptions): Promise<void> {
  write(h, '/etc/mysql/my.cnf', renderTemplate(template('my.cnf.tmpl'), myCnfValues(h)));
  const config = nodeConfig(json('templates/config.example.json'), h, opts.setting ?? DEFAULT_SETTING);
  write(h, CONFIG_PATH, `${JSON.stringify(config, null, 2)}\n`, 0o600);
  write(h, '/etc/keepalived-mysql/mysql.password', `${PASSWORDS.admin}\n`, 0o600);
  write(h, '/etc/keepalived-mysql/repl.password', `${PASSWORDS.repl}\n`, 0o600);
  const binDir = opts.stubBins ? '/etc/keepalived/stub-bin' : BIN_DIR_IN_HOST;
  const profile = opts.profile ?? DEFAULT_PROFILE;
  if (profile === 'fast' && opts.stubBins) throw new LabError('--profile fast runs keepalived-mysql watch: it needs the real bins, not --stub-bins');
  const k = keepalivedFiles(json(keepalivedSampleFile(h, profile)), h, wiringOf(opts), binDir, profile);
  write(h, '/etc/keepalived/keepalived.conf', renderTemplate(template(k.template), k.values));
  if (opts.stubBins) {
    write(h, '/etc/keepalived/stub-bin/check-mysql', STUB_CHECK, 0o755);
    write(h, '/etc/keepalived/stub-bin/notify', STUB_NOTIFY, 0o755);
  }
}

// Lab self-test stand-ins (used only with --stub-bins, before the real bins exist).
const STUB_CHECK = `#!/bin/bash
# stub check-mysql: local mysqld answers over its socket, else stop keepalived through its pid file.
if timeout 2 mariadb -uroot --connect-timeout=1 -e 'SELECT 1' >/dev/null 2>&1; then exit 0; fi
[ -s ${KEEPALIVED_PID} ] && kill -TERM "$(cat ${KEEPALIVED_PID})"
exit 1
`;
const STUB_NOTIFY = `#!/bin/bash
# stub notify: MASTER → stop replica threads, writable; anything else → read-only.
state=\${@: -2:1}
echo "$(date +%s%3N) $*" >> /var/log/stub-notify.log
if [ "$state" = MASTER ]; then
  timeout 5 mariadb -uroot -e 'STOP SLAVE; SET GLOBAL read_only=0' >> /var/log/stub-notify.log 2>&1
else
  timeout 5 mariadb -uroot -e 'SET GLOBAL read_only=1' >> /var/log/stub-notify.log 2>&1
fi
exit 0
`;

/** The stand-in bins read no FIFO: --stub-bins always uses the script wiring. */
function wiringOf(opts: LabOptions): Wiring {
  return opts.stubBins ? 'script' : opts.wiring ?? DEFAULT_WIRING;
}

async function sshKeys(): Promise<void> {
  // Every host gets a host key and root's key; each DB host trusts its peer (full login) and the client's
  // host key; the client (the witness) lets the DB hosts' keys forward ports to the nodes only.
  for (const h of ['a', 'b', 'c'] as const) {
    for (const f of ['ssh_host_rsa_key', 'ssh_host_ecdsa_key', 'ssh_host_ed25519_key']) {
      rmSync(rootPath(h, `/etc/ssh/${f}`), { force: true });
      rmSync(rootPath(h, `/etc/ssh/${f}.pub`), { force: true });
    }
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${HOSTS[h].hostname}-host`, '-f', rootPath(h, '/etc/ssh/ssh_host_ed25519_key')]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${HOSTS[h].hostname}`, '-f', rootPath(h, '/root/.ssh/id_ed25519')]);
    write(h, '/etc/ssh/sshd_config', SSHD_CONFIG);
  }
  const userKey = (h: HostId): string => readFileSync(rootPath(h, '/root/.ssh/id_ed25519.pub'), 'utf8');
  const hostKeyLine = (h: HostId): string => knownHostsLine(HOSTS[h].ip, HOSTS[h].hostname, readFileSync(rootPath(h, '/etc/ssh/ssh_host_ed25519_key.pub'), 'utf8'));
  for (const h of DB_HOSTS) {
    const p = peerOf(h);
    write(h, '/root/.ssh/authorized_keys', userKey(p), 0o600);
    write(h, '/root/.ssh/known_hosts', hostKeyLine(p) + hostKeyLine('c'), 0o644);
  }
  write('c', '/root/.ssh/authorized_keys', witnessAuthorizedKeys(DB_HOSTS.map(userKey)), 0o600);
}

const SSHD_CONFIG = `# lab sshd: key login only
Port 22
ListenAddress 0.0.0.0
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AuthorizedKeysFile .ssh/authorized_keys
StrictModes yes
UseDNS no
Subsystem sftp internal-sftp
`;

// ---------- network ----------

async function buildNetwork(): Promise<void> {
  for (const ns of NAMESPACES) await run('ip', ['netns', 'add', ns]);
  const sw = ['-n', SWITCH_NS];
  await run('ip', [...sw, 'link', 'set', 'lo', 'up']);
  await run('ip', [...sw, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0']);
  await run('ip', [...sw, 'link', 'set', 'br0', 'up']);
  for (const h of Object.values(HOSTS)) {
    // Both ends are created inside lab namespaces: the machine's root namespace never sees them.
    await run('ip', [...sw, 'link', 'add', h.port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns]);
    await run('ip', [...sw, 'link', 'set', h.port, 'master', 'br0', 'up']);
    await run('ip', ['-n', h.ns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', h.ns, 'addr', 'add', `${h.ip}/${SUBNET_PREFIX}`, 'dev', 'eth0']);
    await run('ip', ['-n', h.ns, 'link', 'set', 'eth0', 'up']);
  }
}

// ---------- services ----------

export async function startMysqld(h: DbHostId): Promise<void> {
  const pid = requireHolder(h);
  await inHost(pid, `mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld && rm -f /run/mysqld/mysqld.sock
setsid /usr/sbin/mariadbd --defaults-file=/etc/mysql/my.cnf </dev/null >>/var/log/mysql/error.log 2>&1 &`, { timeoutMs: 5000 });
  await waitFor(`mysqld on ${HOSTS[h].hostname}`, 60_000, async () => {
    const r = await inHost(pid, `mariadb-admin -uroot --connect-timeout=1 status`, { timeoutMs: 3000, allowFail: true });
    return r.code === 0 && r.stdout.includes('Uptime') ? true : undefined;
  }, 200);
}

export async function startSshd(h: HostId): Promise<void> {
  await inHost(requireHolder(h), 'mkdir -p /run/sshd && chmod 755 /run/sshd && /usr/sbin/sshd -f /etc/ssh/sshd_config </dev/null >>/var/log/sshd.log 2>&1', { timeoutMs: 10_000 });
}

/** The profile the lab was brought up with (options.json): a restarted keepalived comes back with its watcher. */
export function labProfile(): Profile {
  try {
    const o = JSON.parse(readFileSync(join(LAB_DIR, 'options.json'), 'utf8')) as { profile?: string };
    return parseProfile(o.profile ?? DEFAULT_PROFILE);
  } catch (err) {
    if (err instanceof LabError) throw err;
    return DEFAULT_PROFILE;
  }
}

// Sets p to the watcher's pid and succeeds while the lab's pid file names a live keepalived-mysql watch (never by name alone).
const watcherRunning = `p=$(cat ${WATCH_PID} 2>/dev/null) && tr '\\0' ' ' </proc/$p/cmdline 2>/dev/null | grep -q 'keepalived-mysql watch'`;

// As templates/keepalived-mysql-watch.service runs it (Nice=-10), in the host's own namespaces; its pid file is the lab's.
export async function startWatcher(h: DbHostId): Promise<void> {
  const pid = requireHolder(h);
  await inHost(pid, `${watcherRunning} && exit 0
setsid nice -n -10 ${BIN_DIR_IN_HOST}/keepalived-mysql watch --config ${CONFIG_PATH} </dev/null >>/var/log/keepalived-mysql/watch.out 2>&1 &
echo $! >${WATCH_PID}`, { timeoutMs: 5000 });
  // Before keepalived, as systemd orders the units: keepalived's init_file then finds the watcher's first verdict.
  await waitFor(`the watcher's first verdict on ${HOSTS[h].hostname}`, 20_000, async () => (existsSync(rootPath(h, '/var/lib/keepalived-mysql/check.down')) ? true : undefined), 50);
}

/** SIGTERM to the watcher through the lab's pid file (only a pid that runs keepalived-mysql), then wait for it to end. */
export async function stopWatcher(h: DbHostId): Promise<void> {
  await inHost(requireHolder(h), `${watcherRunning} || exit 0
kill -TERM "$p"
for i in $(seq 100); do kill -0 "$p" 2>/dev/null || exit 0; sleep 0.1; done; exit 1`, { timeoutMs: 15_000 });
}

export async function startKeepalived(h: DbHostId): Promise<void> {
  const pid = requireHolder(h);
  if (labProfile() === 'fast') await startWatcher(h);
  // keepalived does not create the notify FIFO's directory ("Unable to create vrrp_notify fifo"); /run is a
  // tmpfs, so a host needs it made at every boot (e.g. systemd RuntimeDirectory=keepalived-mysql).
  await inHost(pid, `rm -f ${KEEPALIVED_PID} /run/keepalived_vrrp.pid && mkdir -p -m 700 ${dirname(NOTIFY_FIFO)}
setsid /usr/sbin/keepalived -n -l -D -G -f /etc/keepalived/keepalived.conf -p ${KEEPALIVED_PID} -r /run/keepalived_vrrp.pid </dev/null >>/var/log/keepalived/keepalived.log 2>&1 &`, { timeoutMs: 5000 });
  await waitFor(`keepalived pid file on ${HOSTS[h].hostname}`, 10_000, async () => (existsSync(rootPath(h, KEEPALIVED_PID)) ? true : undefined), 50);
}

/** SQL as root over the local socket inside a host (mariadb client, unix_socket auth). */
export async function sql(h: DbHostId, statement: string, timeoutMs = 10_000, columnNames = false): Promise<string> {
  const r = await inHost(requireHolder(h), `mariadb -uroot --connect-timeout=2 ${columnNames ? '' : '-N '}-B`, { timeoutMs, input: statement });
  return r.stdout.trim();
}

const ACCOUNTS_SQL = `SET sql_log_bin=0;
DELETE FROM mysql.global_priv WHERE User='';
FLUSH PRIVILEGES;
CREATE USER '${USERS.admin}'@'%' IDENTIFIED BY '${PASSWORDS.admin}';
GRANT ALL PRIVILEGES ON *.* TO '${USERS.admin}'@'%' WITH GRANT OPTION;
CREATE USER '${USERS.repl}'@'%' IDENTIFIED BY '${PASSWORDS.repl}';
GRANT REPLICATION SLAVE, REPLICATION SLAVE ADMIN, BINLOG MONITOR ON *.* TO '${USERS.repl}'@'%';
CREATE USER '${USERS.app}'@'%' IDENTIFIED BY '${PASSWORDS.app}';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON drill.* TO '${USERS.app}'@'%';
SET sql_log_bin=1;
`;

function changeMasterSql(master: DbHostId): string {
  return `CHANGE MASTER TO MASTER_HOST='${HOSTS[master].ip}', MASTER_PORT=3306, MASTER_USER='${USERS.repl}', MASTER_PASSWORD='${PASSWORDS.repl}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1`;
}

async function installDb(h: DbHostId): Promise<void> {
  await inHost(requireHolder(h), 'mariadb-install-db --defaults-file=/etc/mysql/my.cnf --skip-test-db --auth-root-authentication-method=socket >/var/log/mysql/install-db.log 2>&1', { timeoutMs: 120_000 });
}

// ---------- up / down / status ----------

export async function up(opts: LabOptions = {}): Promise<void> {
  const log = opts.log ?? (() => {});
  const t0 = Date.now();
  await teardown(log);
  mkdirSync(LAB_DIR, { recursive: true, mode: 0o755 });
  chmodSync(LAB_DIR, 0o755);
  writeFileSync(join(LAB_DIR, `${INIT_MARK}.sh`), initScript(), { mode: 0o755 });
  writeFileSync(join(LAB_DIR, 'options.json'), JSON.stringify({ stubBins: !!opts.stubBins, wiring: wiringOf(opts), setting: opts.setting ?? DEFAULT_SETTING, profile: opts.profile ?? DEFAULT_PROFILE }));
  await Promise.all((['a', 'b', 'c'] as const).map((h) => prepareHostDirs(h)));
  for (const h of DB_HOSTS) await writeDbHostFiles(h, opts);
  await sshKeys();
  await buildNetwork();
  for (const h of ['a', 'b', 'c'] as const) await startHolder(h);
  log(`hosts up (${Date.now() - t0} ms)`);
  await Promise.all(DB_HOSTS.map((h) => installDb(h)));
  await Promise.all(DB_HOSTS.map((h) => startMysqld(h)));
  for (const h of DB_HOSTS) await sql(h, ACCOUNTS_SQL);
  log(`mariadb up (${Date.now() - t0} ms)`);
  // The operator's first set-up: db2 replicates from db1, which is the semi-sync master (my.cnf starts both nodes with
  // the source side off; check-mysql's guard would turn it on once keepalived runs).
  await sql('b', `${changeMasterSql('a')}; START SLAVE;`);
  await sql('a', `SET GLOBAL rpl_semi_sync_master_enabled=1; SET GLOBAL read_only=0; CREATE DATABASE drill; CREATE TABLE drill.writes (id BIGINT PRIMARY KEY, at_ms BIGINT NOT NULL) ENGINE=InnoDB;`);
  await waitFor('db2 to replicate from db1 with semi-sync', 20_000, async () => {
    const clients = await sql('a', `SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'`);
    const t = await sql('b', `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='drill'`);
    return clients.endsWith('\t1') && t === '1' ? true : undefined;
  }, 200);
  for (const h of ['a', 'b', 'c'] as const) await startSshd(h);
  await startKeepalived('a');
  await waitFor('the VIP on db1', 20_000, async () => ((await vipHolders()).includes('a') ? true : undefined), 100);
  await startKeepalived('b');
  // Steady state before anyone measures: db1 writable with the VIP through notify, db2 replicating from it.
  await waitFor('the steady state (db1 writable with the VIP, db2 replicating from db1)', 60_000, async () => {
    const holders = await vipHolders();
    const ro = await sql('a', 'SELECT @@read_only', 3000);
    const st = await sql('b', 'SHOW SLAVE STATUS\\G', 3000, true);
    const ok = holders.length === 1 && holders[0] === 'a' && ro === '0' && /Slave_IO_Running: Yes/.test(st)
      && /Slave_SQL_Running: Yes/.test(st) && st.includes(`Master_Host: ${HOSTS.a.ip}`) && (opts.stubBins || notifyDid('a', 'MASTER'));
    return ok ? true : undefined;
  }, 250);
  // The lab is configured as the README tells users: doctor, run on each node as a user would, must find no FAIL.
  if (!opts.stubBins) {
    for (const h of DB_HOSTS) {
      const r = await inHost(requireHolder(h), `${BIN_DIR_IN_HOST}/keepalived-mysql doctor --config ${CONFIG_PATH}`, { timeoutMs: 60_000, allowFail: true });
      if (r.code !== 0) throw new LabError(`keepalived-mysql doctor on ${HOSTS[h].hostname} exited ${r.code}:\n${r.stdout}${r.stderr}`);
    }
    log('doctor: no FAIL on either node');
  }
  log(`lab up in ${Date.now() - t0} ms: db1 ${HOSTS.a.ip} (master, VIP ${VIP}), db2 ${HOSTS.b.ip} (replica), client ${HOSTS.c.ip}`);
}

/** keepalived reached the toolkit: a wiring that silently fails (a FIFO keepalived could not create) shows here. */
function notifyDid(h: DbHostId, state: 'MASTER' | 'BACKUP'): boolean {
  try {
    return readFileSync(rootPath(h, '/var/log/keepalived-mysql/notify.log'), 'utf8').includes(`transition to ${state} done`);
  } catch {
    return false;
  }
}

export async function vipHolders(): Promise<DbHostId[]> {
  const out: DbHostId[] = [];
  for (const h of DB_HOSTS) {
    const r = await run('ip', ['-n', HOSTS[h].ns, '-o', '-4', 'addr', 'show'], { timeoutMs: 3000, allowFail: true });
    if (r.stdout.includes(` ${VIP}/`)) out.push(h);
  }
  return out;
}

export interface HostStatus {
  host: string;
  running: boolean;
  ip: string;
  vip?: boolean;
  mysqld?: string;
  readOnly?: string;
  replicating?: string;
  keepalived?: string;
  /** The fast profile's keepalived-mysql watch. */
  watch?: string;
  /** The client's sshd is the witness. */
  sshd?: string;
}

async function pidFileProcess(holder: number, pidFile: string): Promise<string> {
  const r = await inHost(holder, `p=$(cat ${pidFile} 2>/dev/null) && kill -0 "$p" 2>/dev/null && echo "$p"`, { timeoutMs: 3000, allowFail: true });
  return r.stdout.trim() ? `pid ${r.stdout.trim()}` : 'not running';
}

export async function status(): Promise<HostStatus[]> {
  const vips = await vipHolders().catch(() => [] as DbHostId[]);
  const out: HostStatus[] = [];
  for (const h of ['a', 'b', 'c'] as const) {
    const pid = holderPid(h);
    const s: HostStatus = { host: HOSTS[h].hostname, running: pid !== undefined, ip: HOSTS[h].ip };
    if (pid !== undefined) s.sshd = await pidFileProcess(pid, '/run/sshd.pid');
    if (pid !== undefined && h !== 'c') {
      s.vip = vips.includes(h);
      const ro = await sql(h, 'SELECT @@read_only', 3000).catch(() => undefined);
      s.mysqld = ro === undefined ? 'down' : 'up';
      if (ro !== undefined) {
        s.readOnly = ro === '1' ? 'ON' : 'OFF';
        const st = await sql(h, 'SHOW SLAVE STATUS\\G', 3000, true).catch(() => '');
        const io = /Slave_IO_Running: (\w+)/.exec(st)?.[1];
        const sqlT = /Slave_SQL_Running: (\w+)/.exec(st)?.[1];
        const host = /Master_Host: (\S+)/.exec(st)?.[1];
        s.replicating = io === undefined ? 'no' : `from ${host} io=${io} sql=${sqlT}`;
      }
      s.keepalived = await pidFileProcess(pid, KEEPALIVED_PID);
      if (labProfile() === 'fast') s.watch = await pidFileProcess(pid, WATCH_PID);
    }
    out.push(s);
  }
  return out;
}

