import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binsNotReady, runDrill, type DrillResult } from '../../lab/drills.js';
import { teardown } from '../../lab/lab.js';
import { drillName, drillPlan } from '../../lab/plan.js';
import { markdownMaxTable, markdownTable, timelineSvg } from '../../lab/report.js';
import { SCENARIOS } from '../../lab/scenarios.js';
import { DEFAULT_PROFILE, parseProfile } from '../../lab/settings.js';
import { REPO } from '../../lab/topology.js';

// The failover drills as a test, the same list as `npm run drill`: every scenario with the recommended setting
// (witness), and the trade-off scenarios under each no-witness setting. Each must lose no acknowledged write,
// never have two writable VIP holders, never acknowledge on the old master once the new one has, and end in the
// expected topology — except what a no-witness setting's documented trade-off allows, which is reported.
// Needs root, mariadbd and keepalived; skips locally without them and fails under CI=true.
// KM_DRILL_SCENARIOS=a,b@no-witness-async limits the run (scenario or drill names); KM_DRILL_PROFILE=fast runs the fast profile.

const CI = process.env['CI'] === 'true';
const only = (process.env['KM_DRILL_SCENARIOS'] ?? '').split(',').filter(Boolean);
const profile = parseProfile(process.env['KM_DRILL_PROFILE'] ?? DEFAULT_PROFILE);
const chosen = drillPlan(SCENARIOS).filter((d) => only.length === 0 || only.includes(d.scenario.name) || only.includes(drillName(d.scenario.name, d.setting)));

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
      writeFileSync(join(outDir, 'drill-test.md'), `${markdownTable(results)}\n\n${markdownMaxTable(results)}\n`);
      process.stdout.write(`\n${markdownTable(results)}\n`);
    }
  });

  for (const { scenario: sc, setting } of chosen) {
    const name = drillName(sc.name, setting);
    test(`${name}: ${sc.title}`, { skip: skip ?? false, timeout: 240_000 }, async (t) => {
      if (notReady) {
        if (CI) assert.fail(`${notReady}: the drills need the real bins`);
        t.skip(notReady);
        return;
      }
      const r = await runDrill(sc, { setting, profile }, (s) => t.diagnostic(s), join(outDir, 'logs', name));
      results.push(r);
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, `${name}.svg`), timelineSvg(r));
      t.diagnostic(`outage ${r.writeOutageS}s, VIP move ${r.vipMoveS ?? '-'}s, lost ${r.lost}, split-brain ${r.splitBrainMs}ms, stale acks ${r.staleAcks}, both writable ${r.bothWritableMs}ms, ${r.topology}`);
      for (const x of r.reported) t.diagnostic(`reported (${setting} trade-off): ${x}`);
      assert.deepEqual(r.failures, [], r.failures.join('; '));
    });
  }
});
