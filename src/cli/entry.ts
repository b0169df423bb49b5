import { finish } from '../platform/process.js';
import type { ExitCode } from './exit-codes.js';
import { reportFailure } from './report.js';

// Entry points for bin/*: each imports only its own command module.
async function run(command: string, main: () => Promise<ExitCode>): Promise<void> {
  let code: ExitCode;
  try {
    code = await main();
  } catch (err) {
    code = reportFailure(err, command);
  }
  finish(code);
}

export function runOperator(argv: string[]): Promise<void> {
  return run('keepalived-mysql', async () => (await import('./main.js')).operatorMain(argv));
}

export function runCheckMysql(argv: string[]): Promise<void> {
  return run('check-mysql', async () => (await import('./check-mysql-main.js')).checkMysqlMain(argv));
}

export function runNotify(argv: string[]): Promise<void> {
  return run('notify', async () => (await import('./notify-main.js')).notifyMain(argv));
}
