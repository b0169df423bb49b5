import type { MysqldInspector } from '../health/check.js';
import type { ProcessFinding } from '../health/evaluate.js';
import { isLiving, listeningTcp, listeningUnix, MYSQLD_NAMES, readPidFile, readProcess, socketOwner, type ProcessInfo } from './procfs.js';

export interface MysqldLocation {
  /** mysqld's own pid file (paths.mysqldPidFile); without it the owner of the listening socket is used. */
  readonly pidFile?: string;
  readonly port: number;
  /** When the config connects over a unix socket, that socket is "the port". */
  readonly socketPath?: string;
  readonly procRoot?: string;
}

// The /proc-backed inspector: the pid file's process if it is a living mysqld, else the living mysqld owning the socket.
export function createMysqldInspector(where: MysqldLocation): MysqldInspector {
  const procRoot = where.procRoot ?? '/proc';
  const sockets = () => (where.socketPath !== undefined ? listeningUnix(where.socketPath, procRoot) : listeningTcp(where.port, procRoot));
  const what = where.socketPath !== undefined ? `unix socket ${where.socketPath}` : `TCP port ${where.port}`;

  return {
    findMysqld(): ProcessFinding {
      const notes: string[] = [];
      if (where.pidFile !== undefined) {
        const read = readPidFile(where.pidFile);
        if (read.ok) {
          const p = readProcess(read.pid, procRoot);
          if (p !== undefined && isMysqld(p)) return { found: true, pid: p.pid, detail: `pid file ${where.pidFile} → ${describe(p)}` };
          notes.push(`pid file ${where.pidFile} holds ${read.pid}, ${p === undefined ? 'no such process' : `which is ${describe(p)}, not a living mysqld`}`);
        } else {
          notes.push(read.why);
        }
      }
      const owner = socketOwner(sockets().map((s) => s.inode), procRoot);
      if (owner !== undefined && isMysqld(owner)) return { found: true, pid: owner.pid, detail: `${notes.join('; ')}${notes.length ? '; ' : ''}${what} is held by ${describe(owner)}` };
      notes.push(owner === undefined ? `no process holds a listening ${what}` : `${what} is held by ${describe(owner)}, not mysqld`);
      return { found: false, detail: notes.join('; ') };
    },
    listening() {
      const found = sockets();
      return found.length > 0
        ? { listening: true, detail: `listening on ${found.map((s) => s.address).join(', ')}` }
        : { listening: false, detail: `nothing listens on ${what}` };
    },
  };
}

function isMysqld(p: ProcessInfo): boolean {
  return MYSQLD_NAMES.includes(p.comm) && isLiving(p);
}

function describe(p: ProcessInfo): string {
  return `pid ${p.pid} (${p.comm}, state ${p.state})`;
}
