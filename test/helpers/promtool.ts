import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './run-bin.js';

export const PROMTOOL = '/usr/bin/promtool';
export const RULES_FILE = join(REPO_ROOT, 'templates/prometheus-rules.yml');

// Why promtool tests cannot run here; undefined when they can. Under CI=true a missing promtool is a failure.
export function promtoolSkipReason(): string | undefined {
  if (existsSync(PROMTOOL)) return undefined;
  if (process.env['CI'] === 'true') throw new Error(`${PROMTOOL} not found under CI=true: apt-get install prometheus`);
  return `${PROMTOOL} not found (apt-get install prometheus)`;
}

export interface ToolRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function promtool(args: readonly string[], stdin = ''): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

// Samples of a text exposition (what the toolkit wrote), for promtool's input_series.
export function samplesOf(exposition: string): Sample[] {
  return exposition.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((line) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ''] = l[2] ?? '';
    return { name: m[1] ?? '', labels, value: Number(m[3]) };
  });
}

export interface ExpectedAlert {
  readonly alert: string;
  readonly labels: Record<string, string>;
  /** Stands for {{ $value }} in the rule's annotations. */
  readonly value?: number;
}

// Annotation templates per alert, read from the rules file (its `summary:` / `description:` lines).
function annotationTemplates(): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of readFileSync(RULES_FILE, 'utf8').split('\n')) {
    const alert = /^\s*- alert: (\S+)$/.exec(line);
    if (alert) out.set(alert[1] ?? '', (current = {}));
    const ann = /^\s+(summary|description): "(.*)"$/.exec(line);
    if (ann && current) current[ann[1] ?? ''] = ann[2] ?? '';
  }
  return out;
}

const expand = (t: string, labels: Record<string, string>, value: number | undefined): string =>
  t.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? '').replace(/\{\{ \$value \}\}/g, String(value ?? ''));

/**
 * Runs `promtool test rules` on the rules file with the samples held constant for 10 minutes and checks at 5 minutes
 * that exactly the expected alerts fire (every other alert of the file is expected silent).
 */
export async function testRules(dir: string, samples: readonly Sample[], expected: readonly ExpectedAlert[]): Promise<ToolRun> {
  const templates = annotationTemplates();
  const severity = new Map<string, string>();
  let current = '';
  for (const line of readFileSync(RULES_FILE, 'utf8').split('\n')) {
    current = /^\s*- alert: (\S+)$/.exec(line)?.[1] ?? current;
    const sev = /labels: \{ severity: (\w+) \}/.exec(line)?.[1];
    if (sev) severity.set(current, sev);
  }
  const series = samples.map((s) => ({
    series: `${s.name}{${Object.entries(s.labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`,
    values: `${s.value}+0x60`,
  }));
  const tests = [...templates.keys()].map((alert) => ({
    eval_time: '5m',
    alertname: alert,
    exp_alerts: expected.filter((e) => e.alert === alert).map((e) => ({
      exp_labels: { ...e.labels, severity: severity.get(alert) ?? '' },
      exp_annotations: Object.fromEntries(Object.entries(templates.get(alert) ?? {}).map(([k, t]) => [k, expand(t, e.labels, e.value)])),
    })),
  }));
  const file = join(dir, `rules-test-${Math.random().toString(36).slice(2)}.yml`);
  // JSON is YAML: promtool reads it as is.
  writeFileSync(file, JSON.stringify({ rule_files: [RULES_FILE], evaluation_interval: '10s', tests: [{ interval: '10s', input_series: series, alert_rule_test: tests }] }, null, 1));
  return promtool(['test', 'rules', file]);
}
