import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './mariadb.js';

const run = promisify(execFile);

export const SSHD = '/usr/sbin/sshd';
export const SSH_KEYGEN = '/usr/bin/ssh-keygen';
// sshd refuses to start without its privilege separation directory.
const PRIVSEP_DIR = '/run/sshd';

// Why a test that needs a real sshd cannot run here; undefined when it can. Under CI=true a missing sshd is a failure.
export function sshdSkipReason(): string | undefined {
  if (existsSync(SSHD) && existsSync(SSH_KEYGEN)) return undefined;
  if (process.env['CI'] === 'true') throw new Error(`${SSHD} not found under CI=true: install openssh-server`);
  return `${SSHD} not found (apt-get install openssh-server)`;
}

export interface Sshd {
  readonly port: number;
  readonly user: string;
  readonly dir: string;
  /** `[127.0.0.1]:<port> ssh-ed25519 AAAA...` for the current host key (written at start). */
  readonly knownHostsFile: string;
  readonly identityFile: string;
  /** `SHA256:...` of the current host key, as `ssh-keygen -lf` prints it. */
  readonly hostKeyFingerprint: string;
  /** New host key, sshd restarted on the same port; knownHostsFile keeps the old key. Returns the new fingerprint. */
  regenerateHostKey(): Promise<string>;
  stop(): Promise<void>;
}

/** A real OpenSSH sshd on 127.0.0.1 with temp host and client keys (key auth only, internal-sftp). */
export async function startSshd(timeoutMs = 10_000): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'km-sshd-'));
  const port = await freePort();
  const user = userInfo().username;
  const hostKey = join(dir, 'host_ed25519');
  const identityFile = join(dir, 'client_ed25519');
  const authorizedKeys = join(dir, 'authorized_keys');
  const knownHostsFile = join(dir, 'known_hosts');
  const config = join(dir, 'sshd_config');
  if (!existsSync(PRIVSEP_DIR)) {
    try {
      mkdirSync(PRIVSEP_DIR, { recursive: true, mode: 0o755 });
    } catch (err) {
      throw new Error(`sshd needs ${PRIVSEP_DIR} and it cannot be created (run as root): ${String(err)}`);
    }
  }

  await keygen(hostKey);
  await keygen(identityFile);
  writeFileSync(authorizedKeys, readFileSync(`${identityFile}.pub`), { mode: 0o600 });
  writeFileSync(knownHostsFile, knownHostsLine(port, hostKey), { mode: 0o600 });
  writeFileSync(config, [
    `ListenAddress 127.0.0.1:${port}`,
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'UsePAM no',
    // Temp dirs under /tmp are world-writable parents; StrictModes would refuse the authorized_keys there.
    'StrictModes no',
    'Subsystem sftp internal-sftp',
    'LogLevel VERBOSE',
    '',
  ].join('\n'));

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';
  const launch = async (): Promise<void> => {
    stderr = '';
    const c = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    await waitForBanner(port, timeoutMs, () => (c.exitCode !== null ? `sshd exited ${c.exitCode}: ${stderr.trim()}` : undefined));
  };
  const halt = async (): Promise<void> => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
    process.kill(c.pid, 'SIGTERM');
    await bounded(exited, 5000, 'sshd did not exit after SIGTERM').catch(async () => {
      if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
      await bounded(exited, 5000, 'sshd did not exit after SIGKILL');
    });
  };

  await launch();
  let fingerprint = await fingerprintOf(hostKey);
  return {
    port,
    user,
    dir,
    knownHostsFile,
    identityFile,
    get hostKeyFingerprint() {
      return fingerprint;
    },
    async regenerateHostKey() {
      await halt();
      rmSync(hostKey, { force: true });
      rmSync(`${hostKey}.pub`, { force: true });
      await keygen(hostKey);
      fingerprint = await fingerprintOf(hostKey);
      await launch();
      return fingerprint;
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function keygen(path: string): Promise<void> {
  await run(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'km-test', '-f', path], { timeout: 10_000 });
}

function knownHostsLine(port: number, hostKey: string): string {
  const [type, b64] = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
  return `[127.0.0.1]:${port} ${type} ${b64}\n`;
}

// `256 SHA256:abc... comment (ED25519)` → `SHA256:abc...`
async function fingerprintOf(hostKey: string): Promise<string> {
  const { stdout } = await run(SSH_KEYGEN, ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`], { timeout: 10_000 });
  const fp = stdout.split(/\s+/)[1];
  if (fp === undefined || !fp.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -lf output: ${stdout}`);
  return fp;
}

// Polls until the server sends its "SSH-2.0-" banner (bounded); diagnose() explains an early death.
async function waitForBanner(port: number, timeoutMs: number, diagnose: () => string | undefined): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const died = diagnose();
    if (died !== undefined) throw new Error(died);
    if (await readsBanner(port, 500)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd on 127.0.0.1:${port} sent no banner within ${timeoutMs} ms: ${diagnose() ?? ''}`);
}

function readsBanner(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('data', (d: Buffer) => done(d.toString('latin1').startsWith('SSH-2.0-')));
    sock.once('error', () => done(false));
  });
}

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(what)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e); });
  });
}
