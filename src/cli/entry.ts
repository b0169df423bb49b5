import { runCommand } from './run.js';

// Entry points for bin/keepalived-mysql and bin/notify (bin/check-mysql loads its own bundle): each imports only its own command module.
export function runOperator(argv: string[]): Promise<void> {
  return runCommand('keepalived-mysql', async () => (await import('./main.js')).operatorMain(argv));
}

export function runNotify(argv: string[]): Promise<void> {
  return runCommand('notify', async () => (await import('./notify-main.js')).notifyMain(argv));
}
