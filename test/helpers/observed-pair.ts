import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { startKeepalived, type Keepalived } from './keepalived.js';
import { waitFor, type MariaDbFarm, type MariaDbServer } from './mariadb.js';
import { startPair, writeNodeConfig, type NodeDirs } from './notify-env.js';
import { startSshd, type Sshd } from './sshd.js';

/** A real pair as an operator's commands see it from node a: MariaDB a → b, a real sshd for b's files, keepalived running here. */
export interface ObservedPair {
  readonly farm: MariaDbFarm;
  readonly a: MariaDbServer;
  readonly b: MariaDbServer;
  readonly sshd: Sshd;
  readonly keepalived: Keepalived;
  /** A scratch dir inside the farm. */
  readonly dir: string;
  /** Node a's config (SSH to the sshd) and dirs; keepalivedPidFile still to be pointed at keepalived.pidFile. */
  readonly node: NodeDirs;
  stop(): Promise<void>;
}

export async function startObservedPair(name: string): Promise<ObservedPair> {
  const { farm, master: a, replica: b } = await startPair();
  const sshd = await startSshd();
  const dir = mkdtempSync(join(farm.baseDir, `${name}-`));
  const keepalived = startKeepalived(dir, name, false);
  await waitFor(async () => existsSync(keepalived.pidFile), 10_000, 'keepalived pid file');
  const node = writeNodeConfig(farm.baseDir, 'a', a, 'b', b, {
    ssh: { user: sshd.user, port: sshd.port, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, connectTimeoutMs: 2000, commandTimeoutMs: 3000 },
  });
  return {
    farm, a, b, sshd, keepalived, dir, node,
    async stop() {
      keepalived.child.kill('SIGTERM');
      await keepalived.exited;
      await sshd.stop();
      await farm.cleanup();
    },
  };
}
