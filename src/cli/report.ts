import { describeError, isAppError } from '../errors.js';
import { EXIT, exitCodeForError, type ExitCode } from './exit-codes.js';

// Bad input and known failures end as one line on stderr and their exit code; never a stack trace.
export function reportFailure(err: unknown, command = 'keepalived-mysql'): ExitCode {
  if (isAppError(err)) {
    process.stderr.write(`${command}: ${err.message}\n`);
    return exitCodeForError(err.code);
  }
  process.stderr.write(`${command}: internal error: ${describeError(err)}\n`);
  return EXIT.INTERNAL;
}
