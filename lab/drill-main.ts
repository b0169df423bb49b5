import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binsNotReady, runDrill, type DrillResult } from './drills.js';
import { LabError } from './exec.js';
import { teardown, type LabOptions } from './lab.js';
import { drillName, drillPlan } from './plan.js';
import { markdownMaxTable, markdownTable, summaryTable, table, timelineSvg } from './report.js';
import { SCENARIOS, scenarioByName } from './scenarios.js';
import { PROFILES, SETTINGS, parseProfile, parseSetting, parseWiring, type Setting } from './settings.js';
import { REPO } from './topology.js';

const USAGE = `usage: npm run drill -- [--scenario NAME[,NAME...]] [--setting ${SETTINGS.join('|')}[,...]] [--runs N] [--wiring fifo|script] [--profile ${PROFILES.join('|')}] [--stub-bins] [--keep] [--list]`;

interface DrillRunOptions {
  scenarios: string[];
  /** Empty: the default plan (every scenario with a witness, the trade-off ones without too). */
  settings: Setting[];
  runs: number;
  lab: Omit<LabOptions, 'setting'>;
  keep: boolean;
  outDir: string;
}

function parseDrillArgs(argv: readonly string[]): DrillRunOptions | 'list' {
  const o: DrillRunOptions = { scenarios: [], settings: [], runs: 1, lab: {}, keep: false, outDir: join(REPO, 'lab-results') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new LabError(`${a} needs a value; ${USAGE}`);
      return v;
    };
    if (a === '--scenario') o.scenarios.push(...val().split(',').filter(Boolean));
    else if (a === '--setting') o.settings.push(...val().split(',').filter(Boolean).map(parseSetting));
    else if (a === '--runs') o.runs = Number(val());
    else if (a === '--stub-bins') o.lab.stubBins = true;
    else if (a === '--wiring') o.lab.wiring = parseWiring(val());
    else if (a === '--profile') o.lab.profile = parseProfile(val());
    else if (a === '--keep') o.keep = true;
    else if (a === '--out') o.outDir = val();
    else if (a === '--list') return 'list';
    else throw new LabError(`unknown argument ${a ?? ''}; ${USAGE}`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1 || o.runs > 10) throw new LabError('--runs: expected 1..10');
  for (const s of o.scenarios) if (!scenarioByName(s)) throw new LabError(`unknown scenario ${s}; known: ${SCENARIOS.map((x) => x.name).join(', ')}`);
  return o;
}

async function runDrills(o: DrillRunOptions, log: (s: string) => void): Promise<DrillResult[]> {
  if (process.getuid?.() !== 0) throw new LabError('the drills need root (network namespaces, bind mounts)');
  if (!o.lab.stubBins) {
    const why = await binsNotReady(REPO);
    if (why) throw new LabError(`${why}; the drills need the real bins (or --stub-bins for a lab self-test)`);
  }
  const plan = drillPlan(o.scenarios.length > 0 ? o.scenarios.map((n) => scenarioByName(n)!) : SCENARIOS, o.settings);
  mkdirSync(o.outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const results: DrillResult[] = [];
  const save = (): void => {
    const doc = { startedAt: stamp, options: { stubBins: !!o.lab.stubBins, wiring: o.lab.wiring ?? 'fifo', profile: o.lab.profile ?? 'default', runs: o.runs }, results };
    writeFileSync(join(o.outDir, `drill-${stamp}.json`), `${JSON.stringify(doc, null, 1)}\n`);
    writeFileSync(join(o.outDir, 'latest.json'), `${JSON.stringify(doc, null, 1)}\n`);
  };
  try {
    for (let run = 1; run <= o.runs; run++) {
      for (const { scenario, setting } of plan) {
        const r = await runDrill(scenario, { ...o.lab, setting }, log, join(o.outDir, 'logs', runLabel(scenario.name, setting, run, o.runs)));
        results.push(r);
        writeFileSync(join(o.outDir, `${runLabel(scenario.name, setting, run, o.runs)}.svg`), timelineSvg(r));
        save();
      }
    }
  } finally {
    if (!o.keep) await teardown();
  }
  writeFileSync(join(o.outDir, 'latest.md'), `${markdownTable(results)}\n\nMaximum over ${o.runs} run(s):\n\n${markdownMaxTable(results)}\n`);
  log(`\n${table(results)}\n`);
  log(`min / median / max over ${o.runs} run(s):\n${summaryTable(results)}\n`);
  log(`results: ${join(o.outDir, `drill-${stamp}.json`)} (also latest.json, latest.md, one SVG timeline per drill)`);
  return results;
}

/** File name of one drill's picture and logs: scenario[@setting][-runN]. */
function runLabel(scenario: string, setting: Setting, run: number, runs: number): string {
  return `${drillName(scenario, setting)}${runs > 1 ? `-run${run}` : ''}`;
}

async function main(argv: string[]): Promise<number> {
  const o = parseDrillArgs(argv);
  if (o === 'list') {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(20)} ${s.title}\n`);
    return 0;
  }
  const results = await runDrills(o, (s) => void process.stdout.write(`${s}\n`));
  return results.every((r) => r.pass) ? 0 : 1;
}

if (process.argv[1] && /drill-main\.js$/.test(process.argv[1])) {
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write('drill: interrupted, tearing the lab down\n');
    teardown().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`drill: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
      teardown().finally(() => process.exit(err instanceof LabError ? 2 : 70));
    },
  );
}
