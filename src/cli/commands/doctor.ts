import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { loadConfig } from '../../config/load.js';
import { exitFor, type Finding } from '../../doctor/checks.js';
import { runDoctor, type DoctorPorts } from '../../doctor/run.js';
import { mysql2Connector } from '../../mysql/mysql2-client.js';
import { deadline } from '../../platform/deadline.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { keepalivedAlive } from './status.js';

export interface DoctorOptions {
  readonly config: string;
  readonly json?: boolean;
}

const PRINT_DEFAULTS = 'my_print_defaults';
const SERVER_GROUPS = ['mysqld', 'server', 'mariadb', 'mariadbd'];

// `keepalived-mysql doctor`: every requirement of the README, one PASS/WARN/FAIL line each with its fix.
export async function doctorMain(opts: DoctorOptions, io: { stdout(text: string): void }): Promise<ExitCode> {
  const config = loadConfig(opts.config);
  const ssh = config.peer.ssh;
  const overall = 2 * (config.mysql.connectTimeoutMs + 4 * config.mysql.queryTimeoutMs) + ssh.connectTimeoutMs + ssh.commandTimeoutMs + 2000;
  const ports: DoctorPorts = {
    sql: mysql2Connector,
    peerFiles: async () => (await import('../../ssh/ssh2-peer-files.js')).ssh2PeerFilesConnector,
    readFile: (path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
    },
    printDefaults: (myCnf) => new Promise((resolve) => {
      const args = [...(myCnf !== undefined ? [`--defaults-file=${myCnf}`] : []), ...SERVER_GROUPS];
      execFile(PRINT_DEFAULTS, args, { timeout: 5000 }, (err, stdout) => resolve(err && (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : stdout));
    }),
    mode: (path) => {
      try {
        return statSync(path).mode & 0o777;
      } catch {
        return undefined;
      }
    },
    writable: (path) => {
      try {
        accessSync(path, constants.W_OK);
        return statSync(path).isDirectory();
      } catch {
        return false;
      }
    },
    mtimeMs: (path) => statSync(path, { throwIfNoEntry: false })?.mtimeMs,
    keepalived: () => keepalivedAlive(config),
    now: () => Date.now(),
  };
  const findings = await runDoctor(config, opts.config, ports, deadline(overall));
  io.stdout(opts.json === true ? `${JSON.stringify({ v: 1, node: config.node.name, findings })}\n` : formatFindings(findings));
  return exitFor(findings) === 'fail' ? EXIT.DOWN : EXIT.OK;
}

function formatFindings(findings: readonly Finding[]): string {
  const lines = findings.map((f) => `${f.level.padEnd(4)}  ${f.message}${f.fix !== '' ? `\n      fix: ${f.fix}` : ''}`);
  const count = (l: Finding['level']): number => findings.filter((f) => f.level === l).length;
  return `${lines.join('\n')}\n${count('PASS')} pass, ${count('WARN')} warn, ${count('FAIL')} fail\n`;
}
