import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

// Reads /proc directly: check-mysql must not fork ps/ss/lsof on keepalived's one-second cadence.

export interface ProcessInfo {
  readonly pid: number;
  /** Kernel command name (/proc/<pid>/comm, at most 15 chars). */
  readonly comm: string;
  /** One-letter state from /proc/<pid>/stat: R, S, D, T (stopped), Z (zombie)… */
  readonly state: string;
}

export const MYSQLD_NAMES: readonly string[] = ['mysqld', 'mariadbd'];

export function readProcess(pid: number, procRoot = '/proc'): ProcessInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The comm field may itself contain spaces and parentheses: it ends at the last ')'.
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  return { pid, comm: stat.slice(open + 1, close), state: stat.slice(close + 2, close + 3) };
}

/** A zombie or dead task has a pid but no process that could serve anything. */
export function isLiving(p: ProcessInfo): boolean {
  return p.state !== 'Z' && p.state !== 'X' && p.state !== 'x';
}

export type PidFileRead =
  | { readonly ok: true; readonly pid: number }
  | { readonly ok: false; readonly why: string };

// A pid file holds one decimal pid, maybe followed by a newline; anything else is refused.
export function readPidFile(path: string, readFile: (p: string) => string = (p) => readFileSync(p, 'utf8')): PidFileRead {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, why: `pid file ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? 'unreadable'}` };
  }
  const trimmed = text.trim();
  if (!/^[0-9]{1,10}$/.test(trimmed)) return { ok: false, why: `pid file ${path} does not hold a pid` };
  const pid = Number(trimmed);
  // pid 1 stays allowed: in a PID namespace (a container) the daemon may be its init; callers check what the pid is.
  if (pid < 1 || pid > 4_194_304) return { ok: false, why: `pid file ${path} holds ${pid}, not a usable pid` };
  return { ok: true, pid };
}

export interface ListeningSocket {
  readonly inode: number;
  /** "127.0.0.1:3306", "[::]:3306" or a unix socket path. */
  readonly address: string;
}

const TCP_LISTEN = '0A';

// Sockets in LISTEN state on this port, from /proc/net/tcp and /proc/net/tcp6.
export function listeningTcp(port: number, procRoot = '/proc'): ListeningSocket[] {
  const found: ListeningSocket[] = [];
  for (const cols of procNetTcpRows(procRoot)) {
    const local = cols[1];
    if (cols[3] !== TCP_LISTEN || local === undefined) continue;
    const [hexAddr = '', hexPort = ''] = local.split(':');
    if (parseInt(hexPort, 16) !== port) continue;
    found.push({ inode: Number(cols[9]), address: `${decodeProcAddress(hexAddr)}:${port}` });
  }
  return found;
}

/** The socket rows of /proc/net/tcp and /proc/net/tcp6 (header dropped), split into columns; a missing file adds none. */
export function procNetTcpRows(procRoot = '/proc'): string[][] {
  const rows: string[][] = [];
  for (const file of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`${procRoot}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) if (line.trim() !== '') rows.push(line.trim().split(/\s+/));
  }
  return rows;
}

// /proc/net/tcp prints addresses as host-order hex words: 0100007F is 127.0.0.1.
export function decodeProcAddress(hex: string): string {
  if (hex.length === 8) {
    const bytes = [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16));
    return bytes.join('.');
  }
  if (hex === '00000000000000000000000000000000') return '[::]';
  if (hex === '00000000000000000000000001000000') return '[::1]';
  return `[${hex}]`;
}

const UNIX_ACCEPTING = 0x10000;

// Listening unix sockets bound to this path, from /proc/net/unix.
export function listeningUnix(path: string, procRoot = '/proc'): ListeningSocket[] {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/net/unix`, 'utf8');
  } catch {
    return [];
  }
  const found: ListeningSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[7] !== path) continue;
    if ((parseInt(cols[3] ?? '0', 16) & UNIX_ACCEPTING) === 0) continue;
    found.push({ inode: Number(cols[6]), address: path });
  }
  return found;
}

// The first process holding one of these socket inodes open, by scanning /proc/<pid>/fd (only on the unhealthy path).
export function socketOwner(inodes: readonly number[], procRoot = '/proc'): ProcessInfo | undefined {
  if (inodes.length === 0) return undefined;
  const wanted = new Set(inodes.map((i) => `socket:[${i}]`));
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((d) => /^[0-9]+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`${procRoot}/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (wanted.has(target)) return readProcess(Number(pid), procRoot);
    }
  }
  return undefined;
}

// SIGTERM to exactly one pid; callers check what the pid is first (see keepalived/pidfile.ts).
export function sendSigterm(pid: number): void {
  process.kill(pid, 'SIGTERM');
}
