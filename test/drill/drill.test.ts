import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binsNotReady, runDrill, type DrillResult } from '../../lab/drills.js';
import { teardown } from '../../lab/lab.js';
import { markdownTable, timelineSvg } from '../../lab/report.js';
import { SCENARIOS } from '../../lab/scenarios.js';
import { REPO } from '../../lab/topology.js';

// The failover drills as a test: every scenario must lose no acknowledged write, never have two writable
// VIP holders, and end in the expected topology. Needs root, mariadbd and keepalived; skips locally without
// them and fails under CI=true. KM_DRILL_SCENARIOS=a,b limits the run.

const CI = process.env['CI'] === 'true';
const only = (process.env['KM_DRILL_SCENARIOS'] ?? '').split(',').filter(Boolean);
const chosen = only.length > 0 ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;

function skipReason(): string | undefined {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const bin of ['/usr/sbin/mariadbd', '/usr/sbin/keepalived', '/usr/sbin/sshd', '/usr/bin/nsenter']) if (!existsSync(bin)) missing.push(bin);
  if (missing.length === 0) return undefined;
  const why = `drills need ${missing.join(', ')} (scripts/install-deps.sh as root)`;
  if (CI) throw new Error(`${why}: required under CI=true`);
  return why;
}

describe('failover drills', { concurrency: 1 }, () => {
  const skip = skipReason();
  const results: DrillResult[] = [];
  const outDir = join(REPO, 'lab-results');
  let notReady: string | undefined;

  before(async () => {
    if (skip) return;
    notReady = await binsNotReady(REPO);
  });

  after(async () => {
    if (skip) return;
    await teardown();
    if (results.length > 0) {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, 'drill-test.json'), `${JSON.stringify({ results }, null, 1)}\n`);
      writeFileSync(join(outDir, 'drill-test.md'), `${markdownTable(results)}\n`);
      process.stdout.write(`\n${markdownTable(results)}\n`);
    }
  });

  for (const sc of chosen) {
    test(`${sc.name}: ${sc.title}`, { skip: skip ?? false, timeout: 240_000 }, async (t) => {
      if (notReady) {
        if (CI) assert.fail(`${notReady}: the drills need the real bins`);
        t.skip(notReady);
        return;
      }
      const r = await runDrill(sc, {}, (s) => t.diagnostic(s), join(outDir, 'logs', sc.name));
      results.push(r);
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, `${sc.name}.svg`), timelineSvg(r));
      t.diagnostic(`outage ${r.writeOutageS}s, VIP move ${r.vipMoveS ?? '-'}s, lost ${r.lost}, split-brain ${r.splitBrainMs}ms, ${r.topology}`);
      assert.equal(r.lost, 0, `acknowledged rows missing on the final master: ${r.lostIds.join(',')}`);
      assert.equal(r.splitBrainMs, 0, 'ms with both nodes writable and holding the VIP');
      assert.deepEqual(r.failures, [], r.failures.join('; '));
    });
  }
});
