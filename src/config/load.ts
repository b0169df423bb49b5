import { readFileSync, statSync } from 'node:fs';
import { AppError } from '../errors.js';
import { parseConfig, parseNodeConfig, type Config, type ConfigInputHints, type NodeConfig } from './schema.js';

export interface ConfigFs {
  readFile(path: string): string;
  /** File mode bits (st_mode & 0o777). */
  mode(path: string): number;
}

const realFs: ConfigFs = {
  readFile: (p) => readFileSync(p, 'utf8'),
  mode: (p) => statSync(p).mode & 0o777,
};

// Reads and validates a semisync-pair node's config file; a group-replication config is refused in one line.
export function loadConfig(path: string, fs: ConfigFs = realFs): Config {
  return readConfigFile(path, fs, parseConfig);
}

// Reads and validates the node's config file in either mode (check-mysql and notify serve both).
export function loadNodeConfig(path: string, fs: ConfigFs = realFs): NodeConfig {
  return readConfigFile(path, fs, parseNodeConfig);
}

// Synchronous because check-mysql's start-up budget is tight.
function readConfigFile<T>(path: string, fs: ConfigFs, parse: (input: unknown, hints: ConfigInputHints) => T): T {
  let text: string;
  let mode: number;
  try {
    text = fs.readFile(path);
    mode = fs.mode(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? 'unreadable';
    throw new AppError('CONFIG_MISSING', `cannot read config ${path}: ${why}`, { cause: err });
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `invalid config ${path}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  return parse(input, {
    configReadableByOthers: (mode & 0o077) !== 0,
    readPasswordFile: (p) => readSecretFile(p, fs),
  });
}

// A secret file must be private to its owner; its first line is the secret.
export function readSecretFile(path: string, fs: ConfigFs = realFs): string {
  let mode: number;
  let text: string;
  try {
    mode = fs.mode(path);
    text = fs.readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? 'unreadable'}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new Error(`${path} is readable by other users (mode ${mode.toString(8)}); chmod 600 it`);
  }
  const secret = text.split('\n')[0]?.replace(/\r$/, '') ?? '';
  if (secret.length === 0) throw new Error(`${path} is empty`);
  return secret;
}
