// status and metrics wall time (process start → exit) on a healthy real MariaDB pair, peer read over MySQL.
// Run: npx tsc -p tsconfig.json && node dist/bench/status.js [runs=15]
import { mariadbSkipReason } from '../test/helpers/mariadb.js';
import { startPair, writeNodeConfig } from '../test/helpers/notify-env.js';
import { runBin } from '../test/helpers/run-bin.js';

const runs = Number(process.argv[2] ?? 15);
const skip = mariadbSkipReason();
if (skip !== undefined) throw new Error(`bench needs MariaDB: ${skip}`);

const { farm, master, replica } = await startPair();
try {
  const { configPath } = writeNodeConfig(farm.baseDir, 'a', master, 'b', replica);
  for (const command of ['status', 'metrics']) {
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await runBin('keepalived-mysql', [command, '--config', configPath, '--json']
        .filter((a) => command === 'status' || a !== '--json'));
      if (r.code !== 0 && r.code !== 1) throw new Error(`${command} exited ${String(r.code)}: ${r.stderr}`);
      ms.push(r.durationMs);
    }
    const s = [...ms].sort((a, b) => a - b);
    console.log(`${command}: ${runs} runs, min ${s[0]} ms, median ${s[Math.floor(s.length / 2)]} ms, max ${s.at(-1)} ms`);
  }
} finally {
  await farm.cleanup();
}
