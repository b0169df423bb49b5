// Promotion time: notify start → local server writable, on a real MariaDB pair with the replica caught up.
// Run: npx tsc -p tsconfig.json && node dist/bench/promotion.js [runs=7]
import { spawn } from 'node:child_process';
import { mariadbSkipReason, waitForSync, type MariaDbServer } from '../test/helpers/mariadb.js';
import { NOTIFY_BIN, readNotifyLog, startPair, writeNodeConfig, type NodeDirs } from '../test/helpers/notify-env.js';

type Scenario = 'failover (old master killed)' | 'switchover (old master alive, fenced)' | 'hook form (detached worker), old master killed';

interface Sample {
  /** Process spawn → read_only=0 seen from another connection. */
  wallMs: number;
  /** In-process: transition start → "local server is writable" log line. */
  inProcessMs: number;
  steps: Record<string, number>;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

// Polls @@read_only on its own connection every ~1 ms until it reads 0.
async function waitWritable(server: MariaDbServer, timeoutMs: number): Promise<number> {
  const c = await server.rootClient();
  try {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const [r] = await c.query<{ ro: unknown }>('SELECT @@GLOBAL.read_only AS ro');
      if (Number(r?.ro) === 0) return performance.now();
      await new Promise((res) => setTimeout(res, 1));
    }
    throw new Error(`not writable within ${timeoutMs} ms`);
  } finally {
    c.close();
  }
}

function inProcess(dirs: NodeDirs): { inProcessMs: number; steps: Record<string, number> } {
  const log = readNotifyLog(dirs);
  // Lines queued before the file logger attached carry their own time in "at".
  const at = (re: RegExp): number => {
    const line = re.exec(log)?.[0] ?? '';
    return Date.parse(/"at":"([^"]+)"/.exec(line)?.[1] ?? line.split(' ')[0] ?? '');
  };
  const started = at(/^.* info transition to MASTER started.*$/m);
  const writable = at(/^.* info local server is writable.*$/m);
  const steps: Record<string, number> = {};
  for (const m of log.matchAll(/"step":"([\w-]+)","durationMs":(\d+)/g)) steps[m[1] ?? '?'] = Number(m[2]);
  return { inProcessMs: writable - started, steps };
}

async function once(scenario: Scenario): Promise<Sample> {
  const { farm, master, replica } = await startPair();
  try {
    await master.sql("INSERT INTO appdb.t VALUES (1, 'caught up')");
    await waitForSync(master, replica);
    const dirs = writeNodeConfig(farm.baseDir, 'b', replica, 'a', master);
    if (scenario !== 'switchover (old master alive, fenced)') await master.kill();
    const foreground = scenario !== 'hook form (detached worker), old master killed';
    const t0 = performance.now();
    const child = spawn(process.execPath, [NOTIFY_BIN, '--config', dirs.configPath, ...(foreground ? ['--foreground'] : []), 'master'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const t1 = await waitWritable(replica, 20_000);
    const code = await exited;
    if (code !== 0) throw new Error(`notify exited ${code}`);
    // Let a detached worker finish its log before reading it.
    await new Promise((r) => setTimeout(r, foreground ? 0 : 1500));
    return { wallMs: t1 - t0, ...inProcess(dirs) };
  } finally {
    // A loaded machine can leave mariadbd writing during the harness's rm; a leftover temp dir must not end the bench.
    await farm.cleanup().catch((err: unknown) => process.stderr.write(`cleanup: ${String(err)}\n`));
  }
}

async function main(): Promise<void> {
  const skip = mariadbSkipReason();
  if (skip) {
    process.stdout.write(`skipped: ${skip}\n`);
    return;
  }
  const runs = Math.max(5, Number(process.argv[2] ?? 7));
  const scenarios: Scenario[] = ['failover (old master killed)', 'switchover (old master alive, fenced)', 'hook form (detached worker), old master killed'];
  for (const scenario of scenarios) {
    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) samples.push(await once(scenario));
    const stepNames = Object.keys(samples[0]?.steps ?? {});
    process.stdout.write(`\n${scenario}: ${runs} runs\n`);
    process.stdout.write(`  notify start → writable (seen from another connection): median ${median(samples.map((s) => s.wallMs)).toFixed(1)} ms ` +
      `[${samples.map((s) => s.wallMs.toFixed(0)).join(', ')}]\n`);
    process.stdout.write(`  in-process transition start → writable: median ${median(samples.map((s) => s.inProcessMs)).toFixed(1)} ms ` +
      `[${samples.map((s) => s.inProcessMs).join(', ')}]\n`);
    process.stdout.write(`  step medians (ms): ${stepNames.map((n) => `${n} ${median(samples.map((s) => s.steps[n] ?? 0))}`).join(', ')}\n`);
  }
}

await main();
