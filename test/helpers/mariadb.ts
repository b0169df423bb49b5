import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mysql2Connector } from '../../src/mysql/mysql2-client.js';
import type { MysqlTarget, Row, SqlClient } from '../../src/mysql/types.js';

const run = promisify(execFile);

export const MARIADBD = '/usr/sbin/mariadbd';
export const INSTALL_DB = '/usr/bin/mariadb-install-db';

/** Accounts every harness server has (created at first start). */
export const ACCOUNTS = {
  admin: { user: 'keepalived', password: 'kpass-Secret1' },
  repl: { user: 'repl', password: 'rpass-Secret1' },
  app: { user: 'app', password: 'apass-Secret1' },
} as const;

// Why a test that needs a real MariaDB cannot run here; undefined when it can. Under CI=true a missing server is a failure, not a skip.
export function mariadbSkipReason(): string | undefined {
  if (existsSync(MARIADBD) && existsSync(INSTALL_DB)) return undefined;
  if (process.env['CI'] === 'true') throw new Error(`${MARIADBD} not found under CI=true: install mariadb-server`);
  return `${MARIADBD} not found (apt-get install mariadb-server)`;
}

export interface MariaDbOptions {
  name: string;
  serverId: number;
  /** Extra mariadbd options, e.g. ['--rpl-semi-sync-master-timeout=500']. */
  extraArgs?: string[];
  /** GTID domain (gtid_domain_id); same on both nodes of a pair. */
  domainId?: number;
  /** A command that ends by exec'ing its arguments (mariadbd and its options), e.g. into namespaces the test made. */
  launcher?: string[];
}

/** One real mariadbd on 127.0.0.1 with its own temp datadir, socket and port. */
export class MariaDbServer {
  readonly dir: string;
  readonly datadir: string;
  readonly socket: string;
  readonly pidFile: string;
  readonly host = '127.0.0.1';
  port = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly opts: MariaDbOptions, baseDir: string) {
    this.dir = join(baseDir, opts.name);
    this.datadir = join(this.dir, 'data');
    this.socket = join(this.dir, 'mysqld.sock');
    this.pidFile = join(this.dir, 'mysqld.pid');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Connection settings for the toolkit's admin account over TCP. */
  target(overrides: Partial<MysqlTarget> = {}): MysqlTarget {
    return {
      host: this.host,
      port: this.port,
      user: ACCOUNTS.admin.user,
      password: ACCOUNTS.admin.password,
      connectTimeoutMs: 2000,
      queryTimeoutMs: 10_000,
      ...overrides,
    };
  }

  args(): string[] {
    const o = this.opts;
    return [
      '--no-defaults',
      '--user=root',
      `--datadir=${this.datadir}`,
      `--socket=${this.socket}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${this.pidFile}`,
      `--log-error=${join(this.dir, 'error.log')}`,
      // Temp-table names embed the pid, and pids repeat across PID namespaces: never share a tmpdir.
      `--tmpdir=${this.dir}`,
      `--server-id=${o.serverId}`,
      `--gtid-domain-id=${o.domainId ?? 0}`,
      `--log-bin=${join(this.datadir, 'mysql-bin')}`,
      `--relay-log=${join(this.datadir, 'relay-bin')}`,
      '--log-slave-updates',
      '--binlog-format=ROW',
      '--skip-slave-start',
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M',
      '--max-connections=100',
      '--rpl-semi-sync-master-enabled=1',
      '--rpl-semi-sync-slave-enabled=1',
      // MariaDB's default AFTER_COMMIT is not lossless.
      '--rpl-semi-sync-master-wait-point=AFTER_SYNC',
      '--rpl-semi-sync-master-timeout=2000',
      '--read-only=1',
      ...(o.extraArgs ?? []),
    ];
  }

  /** Creates the datadir on first use, starts mariadbd and waits until it answers (bounded). */
  async start(timeoutMs = 30_000): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const fresh = !existsSync(join(this.datadir, 'mysql'));
    if (fresh) {
      await run(INSTALL_DB, ['--no-defaults', `--datadir=${this.datadir}`, `--tmpdir=${this.dir}`, '--user=root',
        '--auth-root-authentication-method=normal', '--skip-test-db'], { timeout: 60_000 });
    }
    if (this.port === 0) this.port = await freePort();
    const [command = MARIADBD, ...launch] = [...(this.opts.launcher ?? []), MARIADBD];
    const child = spawn(command, [...launch, ...this.args()], { stdio: 'ignore' });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await this.waitReady(timeoutMs);
    if (fresh) await this.seedAccounts();
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < until) {
      if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) {
        throw new Error(`mariadbd ${this.opts.name} exited with ${this.child.exitCode}: ${this.errorLogTail()}`);
      }
      try {
        const c = await this.rootClient();
        c.close();
        return;
      } catch (err) {
        last = err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`mariadbd ${this.opts.name} not ready after ${timeoutMs} ms: ${String(last)}; ${this.errorLogTail()}`);
  }

  errorLogTail(lines = 15): string {
    try {
      return readFileSync(join(this.dir, 'error.log'), 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no error log)';
    }
  }

  /** root over the unix socket (root has no password in the harness). */
  rootClient(): Promise<SqlClient> {
    return mysql2Connector.connect({ host: '', port: 0, socketPath: this.socket, user: 'root', password: '',
      connectTimeoutMs: 2000, queryTimeoutMs: 30_000 });
  }

  /** Runs statements as root, one connection, and returns the last result. */
  async sql<T extends Row = Row>(...statements: string[]): Promise<T[]> {
    const c = await this.rootClient();
    try {
      let rows: T[] = [];
      for (const s of statements) rows = await c.query<T>(s);
      return rows;
    } finally {
      c.close();
    }
  }

  private async seedAccounts(): Promise<void> {
    const { admin, repl, app } = ACCOUNTS;
    await this.sql(
      'SET sql_log_bin = 0',
      `CREATE USER '${admin.user}'@'%' IDENTIFIED BY '${admin.password}'`,
      `GRANT ALL PRIVILEGES ON *.* TO '${admin.user}'@'%' WITH GRANT OPTION`,
      `CREATE USER '${repl.user}'@'%' IDENTIFIED BY '${repl.password}'`,
      `GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${repl.user}'@'%'`,
      `CREATE USER '${app.user}'@'%' IDENTIFIED BY '${app.password}'`,
      `GRANT ALL PRIVILEGES ON appdb.* TO '${app.user}'@'%'`,
    );
  }

  /** Sends a signal to this mariadbd (SIGKILL, SIGSTOP, SIGCONT…): a process the test started and owns. */
  signal(sig: NodeJS.Signals): void {
    if (this.child?.pid !== undefined && this.running()) process.kill(this.child.pid, sig);
  }

  /** SIGKILL and wait for the exit (bounded). */
  async kill(): Promise<void> {
    if (!this.running()) return;
    this.signal('SIGKILL');
    await withTimeout(this.exited, 10_000, `${this.opts.name} did not die after SIGKILL`);
  }

  /** Clean shutdown (SIGTERM), waited for; SIGKILL if it takes longer than timeoutMs. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (!this.running()) return;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    try {
      await withTimeout(this.exited, timeoutMs, 'slow shutdown');
    } catch {
      await this.kill();
    }
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
}

/** A temp base dir for servers of one test file, removed by cleanup(). */
export class MariaDbFarm {
  readonly baseDir = mkdtempSync(join(tmpdir(), 'km-mariadb-'));
  readonly servers: MariaDbServer[] = [];

  async start(opts: MariaDbOptions): Promise<MariaDbServer> {
    const s = new MariaDbServer(opts, this.baseDir);
    this.servers.push(s);
    await s.start();
    return s;
  }

  /**
   * Starts a master and a GTID semi-sync replica of it (AFTER_SYNC), with a test table `appdb.t`.
   * The master is writable, the replica read-only with both replication threads running.
   */
  async startPair(extraArgs: string[] = []): Promise<{ master: MariaDbServer; replica: MariaDbServer }> {
    const [master, replica] = await Promise.all([
      this.start({ name: 'a', serverId: 1, extraArgs }),
      this.start({ name: 'b', serverId: 2, extraArgs }),
    ]);
    await master.sql('SET GLOBAL read_only = 0', 'SET GLOBAL rpl_semi_sync_slave_enabled = 0');
    await replica.sql('SET GLOBAL rpl_semi_sync_master_enabled = 0');
    await pointReplicaAt(replica, master);
    await master.sql('CREATE DATABASE appdb', 'CREATE TABLE appdb.t (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB');
    await waitForSync(master, replica);
    return { master, replica };
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop(5000).catch(() => undefined)));
    rmSync(this.baseDir, { recursive: true, force: true });
  }
}

// CHANGE MASTER with GTID (slave_pos) and start both threads; waits until they run.
export async function pointReplicaAt(replica: MariaDbServer, master: MariaDbServer): Promise<void> {
  const { repl } = ACCOUNTS;
  await replica.sql(
    'STOP SLAVE',
    `CHANGE MASTER TO MASTER_HOST='${master.host}', MASTER_PORT=${master.port}, MASTER_USER='${repl.user}', ` +
      `MASTER_PASSWORD='${repl.password}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1`,
    'START SLAVE',
  );
  await waitFor(async () => {
    const [st] = await replica.sql('SHOW SLAVE STATUS');
    return st?.['Slave_IO_Running'] === 'Yes' && st?.['Slave_SQL_Running'] === 'Yes';
  }, 15_000, 'replica threads running');
}

// Waits until the replica has applied the master's current gtid_binlog_pos.
export async function waitForSync(master: MariaDbServer, replica: MariaDbServer, timeoutMs = 15_000): Promise<void> {
  const [row] = await master.sql<{ pos: string }>('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
  const pos = row?.pos ?? '';
  const [res] = await replica.sql<{ r: number }>(`SELECT MASTER_GTID_WAIT('${pos}', ${timeoutMs / 1000}) AS r`);
  if (Number(res?.r) !== 0) throw new Error(`replica did not reach ${pos} within ${timeoutMs} ms`);
}

export async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await cond().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(what)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e); });
  });
}

/** Writes a file with mode 0600 (password files, configs). */
export function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
}
