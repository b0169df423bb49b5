import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACCOUNTS, MariaDbFarm, writePrivate, type MariaDbServer } from './mariadb.js';

export const NOTIFY_BIN = fileURLToPath(new URL('../../../bin/notify', import.meta.url));

export interface NodeDirs {
  readonly stateDir: string;
  readonly logDir: string;
  readonly configPath: string;
}

export interface NotifyConfigOptions {
  catchUpTimeoutMs?: number;
  onCatchUpTimeout?: 'promote' | 'refuse';
  deadlineMs?: number;
  lockWaitMs?: number;
  killClientConnections?: boolean;
  /** Peer's MySQL port override (e.g. a closed port to make the peer unreachable). */
  peerPort?: number;
  ssh?: Record<string, unknown>;
  /** notify.recoverOldMasterTail (default: the config default, true). */
  recoverOldMasterTail?: boolean;
  /** peer.binlogIndexFile (where the peer's binlog index is when neither its MySQL nor its position.json says). */
  peerBinlogIndexFile?: string;
}

// Writes a 0600 node config for `self` with `peer` as its partner, under baseDir/<name>/.
export function writeNodeConfig(baseDir: string, name: string, self: MariaDbServer, peerName: string, peer: MariaDbServer,
  o: NotifyConfigOptions = {}): NodeDirs {
  const dir = join(baseDir, `node-${name}`);
  const stateDir = join(dir, 'state');
  const logDir = join(dir, 'log');
  mkdirSync(dir, { recursive: true });
  const config = {
    node: { name },
    mysql: { host: self.host, port: self.port, user: ACCOUNTS.admin.user, password: ACCOUNTS.admin.password, connectTimeoutMs: 1000, queryTimeoutMs: 5000 },
    replication: { user: ACCOUNTS.repl.user, password: ACCOUNTS.repl.password, heartbeatPeriodS: 1, connectRetryS: 1 },
    peer: {
      name: peerName, host: peer.host, mysqlPort: o.peerPort ?? peer.port,
      ssh: o.ssh ?? { user: 'nobody', port: 1, identityFile: join(dir, 'no-such-key'), hostKeySha256: `SHA256:${'A'.repeat(43)}`, connectTimeoutMs: 500, commandTimeoutMs: 500 },
      stateDir: join(baseDir, `node-${peerName}`, 'state'),
      ...(o.peerBinlogIndexFile !== undefined ? { binlogIndexFile: o.peerBinlogIndexFile } : {}),
    },
    paths: { logDir, stateDir, keepalivedPidFile: join(dir, 'keepalived.pid') },
    check: { retries: 0, deadlineMs: 60_000, gateway: { host: '127.0.0.1', port: 9 } },
    // Never the machine's /etc: the startup-role file belongs to this test node.
    heal: { startupRoleFile: join(dir, 'mariadb-startup-role.cnf') },
    notify: {
      deadlineMs: o.deadlineMs ?? 30_000,
      catchUpTimeoutMs: o.catchUpTimeoutMs ?? 5000,
      onCatchUpTimeout: o.onCatchUpTimeout ?? 'refuse',
      killClientConnections: o.killClientConnections ?? true,
      lockWaitMs: o.lockWaitMs ?? 30_000,
      ...(o.recoverOldMasterTail !== undefined ? { recoverOldMasterTail: o.recoverOldMasterTail } : {}),
    },
  };
  const configPath = join(dir, 'config.json');
  writePrivate(configPath, JSON.stringify(config, null, 2));
  return { stateDir, logDir, configPath };
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

// Runs bin/notify to completion (bounded), capturing its output.
export function runNotify(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [NOTIFY_BIN, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
      if (e && typeof e.code !== 'number' && e.signal == null) return reject(e);
      resolve({ code: e ? (e.code as number) : 0, signal: e?.signal ?? null, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Starts bin/notify without waiting; the test owns the child (and may SIGKILL it). */
export function startNotify(args: readonly string[]): ReturnType<typeof spawn> {
  return spawn(process.execPath, [NOTIFY_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** All notify log lines of a node (the daily file). */
export function readNotifyLog(dirs: NodeDirs): string {
  if (!existsSync(dirs.logDir)) return '';
  return readdirSync(dirs.logDir).filter((f) => /^notify-\d{4}-\d\d-\d\d\.log$/.test(f))
    .map((f) => readFileSync(join(dirs.logDir, f), 'utf8')).join('');
}

export function readJsonFile<T = Record<string, unknown>>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

export async function readOnly(s: MariaDbServer): Promise<number> {
  const [r] = await s.sql<{ ro: unknown }>('SELECT @@GLOBAL.read_only AS ro');
  return Number(r?.ro);
}

export async function slaveStatus(s: MariaDbServer): Promise<Record<string, unknown> | undefined> {
  const [st] = await s.sql('SHOW SLAVE STATUS');
  return st;
}

// Waits until the replica's IO thread has received the master's current binlog position.
export async function waitReceived(master: MariaDbServer, replica: MariaDbServer, timeoutMs = 10_000): Promise<void> {
  const [row] = await master.sql<{ pos: string }>('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const st = await slaveStatus(replica);
    if (String(st?.['Gtid_IO_Pos'] ?? '') === row?.pos) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`replica did not receive ${row?.pos} in ${timeoutMs} ms`);
}

/** A fresh farm with a started master + replica pair; the caller cleans the farm up. */
export async function startPair(extraArgs: string[] = []): Promise<{ farm: MariaDbFarm; master: MariaDbServer; replica: MariaDbServer }> {
  const farm = new MariaDbFarm();
  try {
    return { farm, ...(await farm.startPair(extraArgs)) };
  } catch (err) {
    await farm.cleanup().catch(() => undefined);
    throw err;
  }
}
