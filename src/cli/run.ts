import { finish, type Ending } from '../platform/process.js';
import type { ExitCode } from './exit-codes.js';
import { reportFailure } from './report.js';

// Runs one command to its exit code: a thrown error becomes one stderr line and its code, never a stack trace.
export async function runCommand(command: string, main: () => Promise<ExitCode>, ending: Ending = 'drain'): Promise<void> {
  let code: ExitCode;
  try {
    code = await main();
  } catch (err) {
    code = reportFailure(err, command);
  }
  finish(code, ending);
}
