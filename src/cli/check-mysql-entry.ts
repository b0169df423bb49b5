import { checkMysqlMain } from './check-mysql-main.js';
import { runCommand } from './run.js';

// The esbuild entry of dist/check-mysql.cjs: check-mysql's graph only, none of entry.ts's lazy imports.
// Ends 'now': every journal entry and log line is awaited inside checkMysqlMain.
export function runCheckMysql(argv: string[]): Promise<void> {
  return runCommand('check-mysql', () => checkMysqlMain(argv), 'now');
}

// The build runs one healthy check through this before saving V8's code cache (scripts/build-check-mysql.mjs).
export { checkMysqlMain };
