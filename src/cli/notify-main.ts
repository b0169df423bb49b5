import { AppError } from '../errors.js';
import type { ExitCode } from './exit-codes.js';

// Placeholder until the notify use case lands.
export async function notifyMain(_argv: readonly string[]): Promise<ExitCode> {
  throw new AppError('INTERNAL', 'notify is not implemented yet');
}
