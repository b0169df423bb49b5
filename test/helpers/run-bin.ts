import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface BinResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/** The repository root (dist/test/helpers → ../../..). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

// Spawns a built bin (bin/check-mysql, bin/notify…) with node, as keepalived would, and waits for it (bounded).
export function runBin(
  bin: string,
  args: readonly string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; command?: readonly string[] } = {},
): Promise<BinResult> {
  const started = Date.now();
  const argv = opts.command ? [...opts.command, process.execPath] : [process.execPath];
  const [file = process.execPath, ...prefix] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...prefix, `${REPO_ROOT}bin/${bin}`, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, durationMs: Date.now() - started });
    });
  });
}
