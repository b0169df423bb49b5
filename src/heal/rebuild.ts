import { chown, lstat, mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { HealSettings, SshSettings } from '../config/schema.js';
import { AppError, describeError } from '../errors.js';
import type { Logger } from '../log/types.js';
import { deadline } from '../platform/deadline.js';
import { runCommand } from '../platform/run-command.js';
import type { RemoteShellConnector } from '../ssh/types.js';

/** Rebuilds this node's datadir from a live backup of the peer; returns the backup's GTID position. */
export interface Rebuilder {
  rebuild(signal: AbortSignal): Promise<{ readonly gtid: string; readonly keptAside: string }>;
}

export interface RebuildDeps {
  readonly heal: HealSettings;
  readonly peerHost: string;
  readonly ssh: SshSettings;
  readonly remote: RemoteShellConnector;
  readonly log: Logger;
  /** Resolves once the local mysqld accepts connections again (bounded by the signal). */
  readonly waitLocalUp: (signal: AbortSignal) => Promise<void>;
  readonly now: () => Date;
}

// 10.11 writes xtrabackup_binlog_info, 11.x mariadb_backup_binlog_info: "file<TAB>pos<TAB>gtid".
async function backupGtid(dir: string): Promise<string> {
  for (const name of ['mariadb_backup_binlog_info', 'xtrabackup_binlog_info']) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const gtid = text.trim().split(/\s+/)[2];
    if (gtid !== undefined && /^\d+-\d+-\d+(,\d+-\d+-\d+)*$/.test(gtid)) return gtid;
    throw new AppError('FAILOVER_STEP_FAILED', `${join(dir, name)} names no GTID position (${JSON.stringify(text.trim())}): is the peer's binlog on?`);
  }
  throw new AppError('FAILOVER_STEP_FAILED', `the backup in ${dir} has no binlog position file`);
}

// The new datadir gets the owner of the one it replaces (mysqld runs as that user, this command as root).
async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  await chown(path, uid, gid);
  if (!(await lstat(path)).isDirectory()) return;
  for (const name of await readdir(path)) await chownTree(join(path, name), uid, gid);
}

export function createRebuilder(d: RebuildDeps): Rebuilder {
  const { heal, log } = d;
  return {
    async rebuild(signal) {
      const stamp = d.now().toISOString().replace(/[:.]/g, '');
      const target = `${heal.datadir}.rebuild-${stamp}`;
      const aside = `${heal.datadir}.before-rejoin-${stamp}`;
      const owner = await stat(heal.datadir);
      await mkdir(target, { mode: 0o750 });

      log.info(`rebuild: streaming ${heal.peerBackupCommand.join(' ')} from ${d.peerHost} into ${target}`);
      const shell = await d.remote.connect(d.peerHost, d.ssh, signal);
      try {
        const pipe = new PassThrough();
        const extract = runCommand(['mbstream', '-x', '-C', target], signal, { what: 'extracting the streamed backup', stdin: pipe });
        const streamed = shell.run(heal.peerBackupCommand, pipe, signal).finally(() => pipe.end());
        // Both must succeed: a backup cut short leaves a partial datadir that prepare may still accept.
        await Promise.all([streamed, extract]);
      } finally {
        shell.close();
      }
      log.info('rebuild: backup received; preparing it');
      await runCommand(['mariadb-backup', '--prepare', `--target-dir=${target}`], signal, { what: 'preparing the backup' });
      const gtid = await backupGtid(target);
      log.info(`rebuild: prepared at the new master's GTID ${gtid}; stopping mysqld to swap the datadir (old one kept at ${aside})`);

      await runCommand(heal.mysqldStop, signal, { what: 'stopping mysqld (heal.mysqldStop)' });
      await rename(heal.datadir, aside);
      await rename(target, heal.datadir);
      await chownTree(heal.datadir, owner.uid, owner.gid);
      await runCommand(heal.mysqldStart, signal, { what: 'starting mysqld (heal.mysqldStart)' });
      try {
        await d.waitLocalUp(deadline(120_000, signal));
      } catch (err) {
        throw new AppError('FAILOVER_STEP_FAILED', `mysqld did not come back on the rebuilt datadir: ${describeError(err)} ` +
          `(the old datadir is at ${aside})`, { cause: err });
      }
      return { gtid, keptAside: aside };
    },
  };
}
