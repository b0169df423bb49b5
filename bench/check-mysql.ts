// Start-up cost of a healthy check-mysql as a whole process, next to bare node and mariadb-admin ping, against a real MariaDB.
// Run: npm run build && node dist/bench/check-mysql.js [runs]   (needs /usr/sbin/mariadbd; root, as keepalived runs it)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACCOUNTS, MariaDbFarm, mariadbSkipReason, writePrivate } from '../test/helpers/mariadb.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const runs = Math.max(10, Number(process.argv[2] ?? 20));

interface Sample {
  readonly cpuMs: number;
  readonly wallMs: number;
}

// bash's `time` keyword reports the child's own rusage (user, sys) with millisecond resolution; bash itself is not counted.
function measure(argv: readonly string[], env: NodeJS.ProcessEnv): Sample {
  const r = spawnSync('/bin/bash', ['-c', 'TIMEFORMAT="%3R %3U %3S"; time "$@" >/dev/null 2>/tmp/check-mysql-bench.err', '_', ...argv], { env, encoding: 'utf8' });
  const times = r.stderr.trim().split('\n').at(-1)?.split(' ').map(Number) ?? [];
  const [wall, user, sys] = times;
  if (r.status !== 0 || wall === undefined || user === undefined || sys === undefined) {
    throw new Error(`${argv.join(' ')} failed (status ${r.status}): ${r.stderr}`);
  }
  return { cpuMs: (user + sys) * 1000, wallMs: wall * 1000 };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const skip = mariadbSkipReason();
  if (skip !== undefined) {
    process.stderr.write(`bench skipped: ${skip}\n`);
    return;
  }
  const farm = new MariaDbFarm();
  const work = mkdtempSync(join(tmpdir(), 'km-bench-'));
  try {
    const server = await farm.start({ name: 'bench', serverId: 1 });
    const configPath = join(work, 'config.json');
    writePrivate(configPath, JSON.stringify({
      node: { name: 'bench' },
      mysql: { host: server.host, port: server.port, user: ACCOUNTS.admin.user, password: ACCOUNTS.admin.password },
      replication: { user: ACCOUNTS.repl.user, password: ACCOUNTS.repl.password },
      peer: { host: '127.0.0.1', ssh: { knownHostsFile: '/dev/null' } },
      paths: { logDir: join(work, 'log'), stateDir: work, keepalivedPidFile: join(work, 'keepalived.pid'), mysqldPidFile: server.pidFile },
      // The isolation guard every config now needs: a refused port answers, as a live gateway does.
      check: { gateway: { host: '127.0.0.1', port: 9 } },
    }));
    const naive = `const m=require(${JSON.stringify(join(root, 'node_modules/mysql2'))});const c=m.createConnection({host:'${server.host}',port:${server.port},user:'${ACCOUNTS.admin.user}',password:'${ACCOUNTS.admin.password}'});c.query('SELECT 1',(e)=>{c.destroy();process.exitCode=e?1:0})`;
    const commands: Record<string, string[]> = {
      'node -e 0': [process.execPath, '-e', '0'],
      'check-mysql (healthy)': [process.execPath, join(root, 'bin/check-mysql'), '--config', configPath],
      'mariadb-admin ping': ['mariadb-admin', '--no-defaults', '--protocol=tcp', '-h', server.host, '-P', String(server.port), '-u', ACCOUNTS.admin.user, 'ping'],
      'naive node+mysql2 SELECT 1': [process.execPath, '-e', naive],
    };
    const env = { ...process.env, MYSQL_PWD: ACCOUNTS.admin.password };
    const names = Object.keys(commands);
    const samples = new Map<string, Sample[]>(names.map((n) => [n, []]));
    for (const argv of Object.values(commands)) measure(argv, env);
    // Interleaved, rotating the order each round, so a noisy moment on the machine hits every command alike.
    for (let i = 0; i < runs; i++) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(i + j) % names.length] ?? '';
        samples.get(name)?.push(measure(commands[name] ?? [], env));
      }
    }
    const cpus = (n: string): number[] => (samples.get(n) ?? []).map((s) => s.cpuMs);
    const cpu = (n: string): number => median(cpus(n));
    const wall = (n: string): number => median((samples.get(n) ?? []).map((s) => s.wallMs));
    const base = cpu('node -e 0');
    const ms = (x: number, w: number): string => x.toFixed(1).padStart(w);
    process.stdout.write(`check-mysql start-up, ${runs} interleaved runs of each command (node ${process.version}, CPU = user + sys of the process)\n`);
    process.stdout.write(`${'command'.padEnd(28)} ${'CPU ms min'.padStart(10)} ${'median'.padStart(7)} ${'max'.padStart(6)} ${'wall ms median'.padStart(15)} ${'CPU × node -e 0'.padStart(16)}\n`);
    for (const n of names) {
      const xs = cpus(n);
      process.stdout.write(`${n.padEnd(28)} ${ms(Math.min(...xs), 10)} ${ms(cpu(n), 7)} ${ms(Math.max(...xs), 6)} ${ms(wall(n), 15)} ${(cpu(n) / base).toFixed(2).padStart(16)}\n`);
    }
    // The ratio of medians is the goal's figure; the ratio of minimums shows it with the machine's noise taken out.
    const ratio = cpu('check-mysql (healthy)') / base;
    const minRatio = Math.min(...cpus('check-mysql (healthy)')) / Math.min(...cpus('node -e 0'));
    process.stdout.write(`check-mysql / node -e 0 CPU: ${ratio.toFixed(2)}× median, ${minRatio.toFixed(2)}× min (goal ≤ 1.30×); check-mysql / mariadb-admin ping CPU: ${(cpu('check-mysql (healthy)') / cpu('mariadb-admin ping')).toFixed(1)}×\n`);
  } finally {
    await farm.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
