// Blocked-write window of `keepalived-mysql switchover`, measured through the VIP on the lab (network namespaces: two
// MariaDB hosts with real keepalived and the recommended FIFO wiring, a client host running the drills' writer).
// Run as root with the lab free: npm run build && npm run bench:switchover [-- runs=6]
import { startWriter, stopWriter } from '../lab/drills.js';
import { inHost, sleep } from '../lab/exec.js';
import { requireHolder, sql, teardown, up, vipHolders } from '../lab/lab.js';
import { CONFIG_PATH, HOSTS, REPO_IN_HOST, type DbHostId } from '../lab/topology.js';

interface Sample {
  readonly from: DbHostId;
  /** Longest gap between two acknowledged writes around the switchover: writes blocked for the client. */
  readonly blockedMs: number;
  /** The command's own wall time (--wait: until the old master replicates). */
  readonly commandMs: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const line = (what: string, xs: readonly number[]): string =>
  `${what.padEnd(34)} min ${Math.min(...xs)} ms, median ${median(xs)} ms, max ${Math.max(...xs)} ms`;

async function main(): Promise<void> {
  const runs = Number(process.argv.find((a) => a.startsWith('runs='))?.slice(5) ?? 6);
  if (!Number.isInteger(runs) || runs < 5) throw new Error('runs= must be an integer of at least 5');
  await up({ wiring: 'fifo', log: (l) => process.stderr.write(`${l}\n`) });
  const acks: { id: number; at: number }[] = [];
  const writer = startWriter((o) => {
    if (o['e'] === 'ack') acks.push({ id: Number(o['id']), at: Number(o['at']) });
  });
  const samples: Sample[] = [];
  try {
    await sleep(3000);
    for (let i = 0; i < runs; i += 1) {
      // Alternate the node it runs on: the command works from either side.
      const from: DbHostId = i % 2 === 0 ? 'a' : 'b';
      const holder = (await vipHolders())[0];
      const t0 = Date.now();
      const r = await inHost(requireHolder(from), `${REPO_IN_HOST}/bin/keepalived-mysql switchover --config ${CONFIG_PATH} --wait`, { timeoutMs: 60_000, allowFail: true });
      const t1 = Date.now();
      if (r.code !== 0) throw new Error(`switchover ${i + 1} on ${HOSTS[from].hostname} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
      await sleep(2000);
      const after = (await vipHolders())[0];
      if (after === holder) throw new Error(`switchover ${i + 1}: the VIP stayed on ${holder ?? 'nobody'}`);
      const around = acks.filter((a) => a.at >= t0 - 1000 && a.at <= t1 + 2000);
      let blockedMs = 0;
      for (let k = 1; k < around.length; k += 1) blockedMs = Math.max(blockedMs, (around[k]?.at ?? 0) - (around[k - 1]?.at ?? 0));
      samples.push({ from, blockedMs, commandMs: t1 - t0 });
      process.stdout.write(`switchover ${i + 1} (run on ${HOSTS[from].hostname}, VIP ${holder ? HOSTS[holder].hostname : '?'} → ${after ? HOSTS[after].hostname : '?'}): ` +
        `writes blocked ${blockedMs} ms, command ${t1 - t0} ms\n`);
    }
  } finally {
    await stopWriter(writer);
  }
  const master = (await vipHolders())[0] ?? 'a';
  const rows = new Set((await sql(master, 'SELECT id FROM drill.writes', 30_000)).split('\n').map(Number));
  const lost = acks.filter((a) => !rows.has(a.id)).length;
  process.stdout.write(`\n${runs} switchovers, ${acks.length} acknowledged writes through the VIP, ${lost} missing on the final master\n`);
  process.stdout.write(`${line('writes blocked (through the VIP)', samples.map((s) => s.blockedMs))}\n`);
  process.stdout.write(`${line('switchover --wait wall time', samples.map((s) => s.commandMs))}\n`);
  await teardown();
  if (lost > 0) process.exitCode = 1;
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench:switchover: ${(err as Error).message}\n`);
  await teardown().catch(() => undefined);
  process.exitCode = 1;
});
