import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { Client } from 'ssh2';
import type { ConnectConfig, SFTPWrapper, ServerHostKeyAlgorithm } from 'ssh2';
import type { Duplex } from 'node:stream';
import type { SshSettings, WitnessSettings } from '../config/schema.js';
import { AppError, describeError } from '../errors.js';
import { POSITION_RECORD_FILE } from '../failover/position-record.js';
import type { PositionRecord } from '../failover/position-record.js';
import { deadline, throwIfAborted, withSignal } from '../platform/deadline.js';
import { binlogsFromIndex, lastBinlogFromIndex, walkBinlog } from './binlog-tail.js';
import type { RandomAccessFile } from './binlog-tail.js';
import { fingerprintMatches, knownKeyTypes, sha256Fingerprint, verifyHostKey } from './known-hosts.js';
import { parsePositionRecord } from './parse-position-record.js';
import type { Writable } from 'node:stream';
import type { BinlogTail, BinlogWalkHint, PeerFiles, PeerFilesConnector, RemoteShell, RemoteShellConnector, Witness, WitnessConnector } from './types.js';

// The only module importing ssh2. Key authentication only; the host key is checked before any byte is sent
// as this user; no remote shell: every peer read is an SFTP open/read/close.

// SFTP status NO_SUCH_FILE: an absent position.json is an answer, not a failure.
const SFTP_NO_SUCH_FILE = 2;
// Index and position files are small; a bigger one is a misconfiguration, not something to stream.
const MAX_SMALL_FILE_BYTES = 1024 * 1024;
// A ranged binlog read is held in memory and applied in one go; a tail bigger than this is not recovered this way.
const MAX_RANGE_BYTES = 64 * 1024 * 1024;
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN']);
const HOST_KEY_ALGORITHMS: Readonly<Record<string, readonly ServerHostKeyAlgorithm[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** Connects to the peer with ssh2 (key auth, host key checked) and opens one SFTP session. */
export const ssh2PeerFilesConnector: PeerFilesConnector = {
  async connect(host: string, direct: SshSettings, signal: AbortSignal, via?: Witness): Promise<PeerFiles> {
    // Through the witness the handshake rides on a second one: give it the time of both, and then some.
    const ssh = via === undefined ? direct : { ...direct, connectTimeoutMs: 3 * direct.connectTimeoutMs };
    const sock = via === undefined ? undefined : await via.forward(host, ssh.port, signal);
    const { conn, where } = await sshSession(host, ssh, signal, sock);
    try {
      const stepSignal = deadline(ssh.connectTimeoutMs, signal);
      const sftp = await withSignal(openSftp(conn), stepSignal, `SFTP start on ${where}`);
      return new Ssh2PeerFiles(conn, sftp, where, ssh.commandTimeoutMs);
    } catch (err) {
      conn.destroy();
      throw err;
    }
  },
};

/** The witness: an SSH session used only for port forwarding (direct-tcpip), as `ssh -W` would. */
export const ssh2WitnessConnector: WitnessConnector = {
  async connect(witness: WitnessSettings, signal: AbortSignal): Promise<Witness> {
    const { conn, where } = await sshSession(witness.host, witness.ssh, signal, undefined);
    return {
      where,
      forward: (host, port, s) => {
        const opened = new Promise<Duplex>((resolve, reject) => {
          conn.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
            if (err) reject(new AppError('PEER_UNREACHABLE', `witness ${where} cannot reach ${host}:${port}: ${describeError(err)}`, { cause: err }));
            else resolve(stream);
          });
        });
        return withSignal(opened, deadline(witness.forwardTimeoutMs, s), `opening ${host}:${port} through the witness ${where}`);
      },
      close: () => conn.destroy(),
    };
  },
};

/** Connects like ssh2PeerFilesConnector and runs commands on the peer (exec channel, no pty). */
export const ssh2RemoteShellConnector: RemoteShellConnector = {
  async connect(host: string, ssh: SshSettings, signal: AbortSignal): Promise<RemoteShell> {
    const { conn, where } = await sshSession(host, ssh, signal, undefined);
    return new Ssh2RemoteShell(conn, where);
  },
};

// Key auth and host key check, directly or over a forwarded stream (a jump through the witness).
async function sshSession(host: string, ssh: SshSettings, signal: AbortSignal, sock: Duplex | undefined): Promise<{ conn: Client; where: string }> {
  const privateKey = await readLocal(ssh.identityFile, 'identity file', 'SSH_FAILED');
  const knownHosts = ssh.knownHostsFile === undefined ? undefined
    : await readLocal(ssh.knownHostsFile, 'known_hosts file', 'SSH_HOST_KEY_REJECTED');
  const where = `${ssh.user}@${host}:${ssh.port}${sock ? ' (via the witness)' : ''}`;
  const hostCheck = makeHostCheck(host, ssh, knownHosts);
  const conn = new Client();
  const stepSignal = deadline(ssh.connectTimeoutMs, signal);
  const onAbort = (): void => void conn.destroy();
  stepSignal.addEventListener('abort', onAbort, { once: true });
  try {
    await withSignal(handshake(conn, where, ssh, host, privateKey, hostCheck, sock), stepSignal, `SSH connect to ${where}`);
    return { conn, where };
  } catch (err) {
    conn.destroy();
    if (err instanceof AppError && err.code === 'DEADLINE_EXCEEDED' && !signal.aborted) {
      throw new AppError('PEER_UNREACHABLE', `SSH to ${where}: no session within ${ssh.connectTimeoutMs} ms`, { cause: err });
    }
    throw err;
  } finally {
    stepSignal.removeEventListener('abort', onAbort);
  }
}

// POSIX shell single quotes: the remote sshd hands exec a command line, so every word is quoted.
export const shellQuote = (word: string): string => (/^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

class Ssh2RemoteShell implements RemoteShell {
  constructor(private readonly conn: Client, private readonly where: string) {}

  run(argv: readonly string[], stdout: Writable, signal: AbortSignal): Promise<void> {
    const line = argv.map(shellQuote).join(' ');
    const what = `${argv[0] ?? '?'} on ${this.where}`;
    const onAbort = (): void => void this.conn.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    const ran = new Promise<void>((resolve, reject) => {
      this.conn.exec(line, (err, channel) => {
        if (err) {
          reject(new AppError('SSH_FAILED', `cannot run ${what}: ${describeError(err)}`, { cause: err }));
          return;
        }
        let stderr = '';
        channel.stderr.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString('utf8'); });
        channel.pipe(stdout, { end: false });
        let status: string | undefined;
        channel.on('exit', (code: number | null, sig?: string) => { status = code === 0 ? '0' : String(code ?? sig ?? 'no status'); });
        channel.once('close', () => {
          if (status === '0') resolve();
          else {
            const tail = stderr.trim().split('\n').slice(-3).join(' / ').slice(0, 600);
            reject(new AppError('SSH_FAILED', `${what} ended with ${status ?? 'no exit status'}${tail ? `: ${tail}` : ''}`));
          }
        });
      });
    });
    return withSignal(ran, signal, what).finally(() => signal.removeEventListener('abort', onAbort));
  }

  close(): void {
    this.conn.end();
  }
}

interface HostCheck {
  readonly verifier: (key: Buffer) => boolean;
  readonly algorithms?: ServerHostKeyAlgorithm[];
  /** Why the last key was refused, for the error message. */
  rejection?: string;
}

// Every configured check must pass: a known_hosts line with the same key, and the pinned fingerprint.
function makeHostCheck(host: string, ssh: SshSettings, knownHosts: string | undefined): HostCheck {
  const types = knownHosts === undefined ? [] : knownKeyTypes(knownHosts, host, ssh.port);
  // Offer only the key types known_hosts holds for this host, as OpenSSH does, so a server with several keys shows the known one.
  const algorithms = types.flatMap((t) => HOST_KEY_ALGORITHMS[t] ?? []);
  const check: HostCheck = {
    ...(algorithms.length > 0 ? { algorithms } : {}),
    verifier: (key: Buffer): boolean => {
      const fp = sha256Fingerprint(key);
      if (knownHosts !== undefined) {
        const verdict = verifyHostKey(knownHosts, host, ssh.port, key);
        if (!verdict.ok) {
          check.rejection = `host key ${fp} of ${host}:${ssh.port} is ${verdict.reason} in ${ssh.knownHostsFile}`;
          return false;
        }
      }
      if (ssh.hostKeySha256 !== undefined && !fingerprintMatches(ssh.hostKeySha256, key)) {
        check.rejection = `host key ${fp} of ${host}:${ssh.port} does not match the pinned ${ssh.hostKeySha256}`;
        return false;
      }
      if (knownHosts === undefined && ssh.hostKeySha256 === undefined) {
        check.rejection = `host key ${fp} of ${host}:${ssh.port} cannot be checked: no knownHostsFile or hostKeySha256 configured`;
        return false;
      }
      return true;
    },
  };
  return check;
}

function handshake(conn: Client, where: string, ssh: SshSettings, host: string, privateKey: string,
                   hostCheck: HostCheck, sock: Duplex | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (err: AppError): void => {
      if (!settled) {
        settled = true;
        reject(err);
      }
    };
    conn.once('ready', () => {
      settled = true;
      resolve();
    });
    conn.on('error', (err: Error & { level?: string; code?: string }) => {
      if (hostCheck.rejection !== undefined) {
        fail(new AppError('SSH_HOST_KEY_REJECTED', `SSH to ${where} refused: ${hostCheck.rejection}`, { cause: err }));
      } else if (err.level === 'client-timeout') {
        fail(new AppError('PEER_UNREACHABLE', `SSH to ${where}: no handshake within ${ssh.connectTimeoutMs} ms`, { cause: err }));
      } else if (err.level === 'client-dns' || (err.code !== undefined && UNREACHABLE_CODES.has(err.code))) {
        fail(new AppError('PEER_UNREACHABLE', `SSH to ${where}: ${err.code ?? describeError(err)}`, { cause: err }));
      } else if (err.level === 'client-authentication') {
        fail(new AppError('SSH_FAILED', `SSH to ${where}: key ${ssh.identityFile} not accepted`, { cause: err }));
      } else {
        fail(new AppError('SSH_FAILED', `SSH to ${where}: ${describeError(err)}`, { cause: err }));
      }
    });
    conn.once('close', () => fail(new AppError('SSH_FAILED', `SSH to ${where}: connection closed during the handshake`)));
    const config: ConnectConfig = {
      ...(sock !== undefined ? { sock } : { host, port: ssh.port }),
      username: ssh.user,
      privateKey,
      authHandler: ['publickey'],
      tryKeyboard: false,
      readyTimeout: ssh.connectTimeoutMs,
      hostVerifier: hostCheck.verifier,
      ...(hostCheck.algorithms !== undefined ? { algorithms: { serverHostKey: hostCheck.algorithms } } : {}),
    };
    try {
      conn.connect(config);
    } catch (err) {
      // ssh2 parses the key here: a bad or passphrase-protected identity file throws synchronously.
      fail(new AppError('SSH_FAILED', `SSH to ${where}: identity file ${ssh.identityFile}: ${describeError(err)}`, { cause: err }));
    }
  });
}

function openSftp(conn: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    conn.sftp((err, sftp) => (err ? reject(new AppError('SSH_FAILED', `SFTP refused: ${describeError(err)}`, { cause: err })) : resolve(sftp)));
  });
}

class Ssh2PeerFiles implements PeerFiles {
  constructor(private readonly conn: Client, private readonly sftp: SFTPWrapper,
              private readonly where: string, private readonly commandTimeoutMs: number) {}

  readBinlogTail(indexFile: string, signal: AbortSignal, from?: BinlogWalkHint): Promise<BinlogTail> {
    return this.command(`reading the binlog tail via ${indexFile}`, signal, async (s) => {
      const index = await this.readSmallFile(indexFile);
      if (index === undefined) throw new AppError('SSH_FAILED', `binlog index ${indexFile} not found on ${this.where}`);
      const binlog = lastBinlogFromIndex(index.toString('utf8'), indexFile);
      const handle = await this.open(binlog);
      try {
        if (handle === undefined) throw new AppError('SSH_FAILED', `binlog ${binlog} (last in ${indexFile}) not found on ${this.where}`);
        // A hint about another file (the master rotated since) cannot shorten this walk.
        const startPos = from !== undefined && posix.basename(from.file) === posix.basename(binlog) ? from.pos : undefined;
        return await walkBinlog(this.remoteFile(handle, binlog), binlog, s, startPos !== undefined ? { startPos } : {});
      } finally {
        if (handle !== undefined) this.closeHandle(handle);
      }
    });
  }

  readBinlogTails(indexFile: string, from: BinlogWalkHint, signal: AbortSignal): Promise<BinlogTail[]> {
    return this.command(`walking the binlogs from ${from.file}:${from.pos} via ${indexFile}`, signal, async (s) => {
      const index = await this.readSmallFile(indexFile);
      if (index === undefined) throw new AppError('SSH_FAILED', `binlog index ${indexFile} not found on ${this.where}`);
      const all = binlogsFromIndex(index.toString('utf8'), indexFile);
      const first = all.findIndex((f) => posix.basename(f) === posix.basename(from.file));
      if (first < 0) throw new AppError('SSH_FAILED', `${from.file} is not listed in ${indexFile} on ${this.where} (purged?)`);
      const tails: BinlogTail[] = [];
      for (const [i, binlog] of all.slice(first).entries()) {
        const handle = await this.open(binlog);
        if (handle === undefined) throw new AppError('SSH_FAILED', `binlog ${binlog} (in ${indexFile}) not found on ${this.where}`);
        try {
          tails.push(await walkBinlog(this.remoteFile(handle, binlog), binlog, s, i === 0 ? { startPos: from.pos } : {}));
        } finally {
          this.closeHandle(handle);
        }
      }
      return tails;
    });
  }

  readBinlogRange(file: string, from: number, to: number, signal: AbortSignal): Promise<Buffer> {
    return this.command(`reading ${file} bytes ${from}-${to}`, signal, async () => {
      if (!(from >= 0 && to >= from)) throw new AppError('INTERNAL', `bad binlog range ${from}-${to} of ${file}`);
      if (to - from > MAX_RANGE_BYTES) throw new AppError('SSH_FAILED', `${file} bytes ${from}-${to}: more than ${MAX_RANGE_BYTES} bytes`);
      const handle = await this.open(file);
      if (handle === undefined) throw new AppError('SSH_FAILED', `binlog ${file} not found on ${this.where}`);
      try {
        const data = await this.remoteFile(handle, file).read(from, to - from);
        if (data.length !== to - from) throw new AppError('SSH_FAILED', `${file}: short read at ${from} (${data.length} of ${to - from} bytes)`);
        return data;
      } finally {
        this.closeHandle(handle);
      }
    });
  }

  readPositionRecord(stateDir: string, signal: AbortSignal): Promise<PositionRecord | undefined> {
    const path = posix.join(stateDir, POSITION_RECORD_FILE);
    return this.command(`reading ${path}`, signal, async () => {
      const data = await this.readSmallFile(path);
      return data === undefined ? undefined : parsePositionRecord(data.toString('utf8'), `${this.where}:${path}`);
    });
  }

  readStateFile(stateDir: string, name: string, signal: AbortSignal, tailBytes?: number): Promise<string | undefined> {
    const path = posix.join(stateDir, name);
    if (tailBytes === undefined) return this.command(`reading ${path}`, signal, async () => (await this.readSmallFile(path))?.toString('utf8'));
    return this.command(`reading the end of ${path}`, signal, async () => {
      const handle = await this.open(path);
      if (handle === undefined) return undefined;
      try {
        const file = this.remoteFile(handle, path);
        const size = await file.size();
        const from = Math.max(0, size - Math.min(tailBytes, MAX_SMALL_FILE_BYTES));
        return (await file.read(from, size - from)).toString('utf8');
      } finally {
        this.closeHandle(handle);
      }
    });
  }

  // Temp file then rename (posix-rename@openssh.com replaces atomically), as the local state writer does.
  writeStateFile(stateDir: string, name: string, text: string, signal: AbortSignal): Promise<void> {
    const path = posix.join(stateDir, name);
    const temp = posix.join(stateDir, `.${name}.${process.pid}.tmp`);
    return this.command(`writing ${path}`, signal, async () => {
      await new Promise<void>((resolve, reject) => {
        this.sftp.writeFile(temp, text, { mode: 0o600 }, (err) => (err ? reject(this.sftpError(`write ${temp}`, err)) : resolve()));
      });
      await new Promise<void>((resolve, reject) => {
        this.sftp.ext_openssh_rename(temp, path, (err) => (err ? reject(this.sftpError(`rename ${temp}`, err)) : resolve()));
      });
    });
  }

  statStateEntry(stateDir: string, name: string, signal: AbortSignal): Promise<number | undefined> {
    const path = posix.join(stateDir, name);
    return this.command(`stat ${path}`, signal, () => new Promise((resolve, reject) => {
      this.sftp.stat(path, (err, stats) => {
        if (!err) resolve(stats.mtime * 1000);
        else if ((err as Error & { code?: number }).code === SFTP_NO_SUCH_FILE) resolve(undefined);
        else reject(this.sftpError(`stat ${path}`, err));
      });
    }));
  }

  listStateDir(stateDir: string, name: string, signal: AbortSignal): Promise<string[] | undefined> {
    const path = posix.join(stateDir, name);
    return this.command(`listing ${path}`, signal, () => new Promise((resolve, reject) => {
      this.sftp.readdir(path, (err, list) => {
        if (!err) resolve(list.map((e) => e.filename));
        else if ((err as Error & { code?: number }).code === SFTP_NO_SUCH_FILE) resolve(undefined);
        else reject(this.sftpError(`readdir ${path}`, err));
      });
    }));
  }

  close(): void {
    this.conn.end();
  }

  // One public call = one command deadline; when it passes the connection is destroyed, so nothing stays pending.
  private async command<T>(what: string, signal: AbortSignal, body: (s: AbortSignal) => Promise<T>): Promise<T> {
    const s = deadline(this.commandTimeoutMs, signal);
    throwIfAborted(s, `${what} on ${this.where}`);
    const onAbort = (): void => void this.conn.destroy();
    s.addEventListener('abort', onAbort, { once: true });
    try {
      return await withSignal(body(s), s, `${what} on ${this.where}`);
    } finally {
      s.removeEventListener('abort', onAbort);
    }
  }

  private async readSmallFile(path: string): Promise<Buffer | undefined> {
    const handle = await this.open(path);
    if (handle === undefined) return undefined;
    try {
      const file = this.remoteFile(handle, path);
      const size = await file.size();
      if (size > MAX_SMALL_FILE_BYTES) throw new AppError('SSH_FAILED', `${this.where}:${path} is ${size} bytes; expected a small file`);
      return await file.read(0, size);
    } finally {
      this.closeHandle(handle);
    }
  }

  private open(path: string): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      this.sftp.open(path, 'r', (err, handle) => {
        if (!err) resolve(handle);
        else if ((err as Error & { code?: number }).code === SFTP_NO_SUCH_FILE) resolve(undefined);
        else reject(this.sftpError(`open ${path}`, err));
      });
    });
  }

  private remoteFile(handle: Buffer, path: string): RandomAccessFile {
    return {
      size: () => new Promise((resolve, reject) => {
        this.sftp.fstat(handle, (err, stats) => (err ? reject(this.sftpError(`stat ${path}`, err)) : resolve(stats.size)));
      }),
      read: async (offset, length) => {
        const buf = Buffer.alloc(length);
        let filled = 0;
        // ssh2 splits reads above the server's packet limit; a short answer is only the end of the file.
        while (filled < length) {
          const n = await new Promise<number>((resolve, reject) => {
            this.sftp.read(handle, buf, filled, length - filled, offset + filled,
              (err, bytesRead) => (err ? reject(this.sftpError(`read ${path} at ${offset + filled}`, err)) : resolve(bytesRead)));
          });
          if (n === 0) break;
          filled += n;
        }
        return buf.subarray(0, filled);
      },
    };
  }

  private closeHandle(handle: Buffer): void {
    this.sftp.close(handle, () => undefined);
  }

  private sftpError(what: string, err: Error): AppError {
    return new AppError('SSH_FAILED', `SFTP ${what} on ${this.where}: ${describeError(err)}`, { cause: err });
  }
}

async function readLocal(path: string, what: string, code: 'SSH_FAILED' | 'SSH_HOST_KEY_REJECTED'): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new AppError(code, `cannot read the SSH ${what} ${path}: ${describeError(err)}`, { cause: err });
  }
}
