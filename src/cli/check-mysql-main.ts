import { AppError } from '../errors.js';
import type { ExitCode } from './exit-codes.js';

// Placeholder until the check-mysql use case lands.
export async function checkMysqlMain(_argv: readonly string[]): Promise<ExitCode> {
  throw new AppError('INTERNAL', 'check-mysql is not implemented yet');
}
