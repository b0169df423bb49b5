import type { DrillResult } from './drills.js';

// The tables at the end of a run (each drill; min / median / max per drill over the runs) and one timeline
// picture per drill (hand-built SVG).

function textTable(head: readonly string[], rows: readonly string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

const RUN_HEAD = ['drill', 'result', 'outage s', 'VIP move s', 'writable s', 'acked', 'lost', 'split-brain ms', 'stale acks', 'both writable ms',
  'redundant again s', 'final topology'];

function runRow(r: DrillResult): string[] {
  return [
    r.drill, `${r.pass ? 'PASS' : 'FAIL'}${r.reported.length > 0 ? ` (${r.reported.length} reported)` : ''}`, fmt(r.writeOutageS), fmt(r.vipMoveS), fmt(r.promotionS), String(r.acked), String(r.lost),
    `${r.splitBrainMs} (≤${r.splitBrainUpperMs})`, String(r.staleAcks), String(r.bothWritableMs), fmt(r.redundantS), r.topology,
  ];
}

export function table(results: readonly DrillResult[]): string {
  return textTable(RUN_HEAD, results.map((r) => {
    const row = runRow(r);
    const topo = row[row.length - 1] ?? '';
    row[row.length - 1] = topo.length > 90 ? `${topo.slice(0, 87)}...` : topo;
    return row;
  }));
}

export function markdownTable(results: readonly DrillResult[]): string {
  const md = (cells: readonly string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '/')).join(' | ')} |`;
  return [md(RUN_HEAD), md(RUN_HEAD.map(() => '---')), ...results.map((r) => md(runRow(r)))].join('\n');
}

/** The figures summarised over runs, in table order. */
const FIGURES = [
  ['outage s', (r: DrillResult) => r.writeOutageS],
  ['VIP move s', (r: DrillResult) => r.vipMoveS],
  ['writable s', (r: DrillResult) => r.promotionS],
  ['lost', (r: DrillResult) => r.lost],
  ['split-brain ms', (r: DrillResult) => r.splitBrainMs],
  ['stale acks', (r: DrillResult) => r.staleAcks],
  ['both writable ms', (r: DrillResult) => r.bothWritableMs],
  ['redundant again s', (r: DrillResult) => r.redundantS],
] as const;

export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** Min, median (the mean of the middle two for an even count) and max; undefined without values. */
export function spread(values: readonly (number | null)[]): Spread | undefined {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { min: v[0]!, median: Math.round(median * 100) / 100, max: v[v.length - 1]! };
}

export interface DrillSummary {
  drill: string;
  runs: number;
  passed: number;
  figures: Record<string, Spread | undefined>;
}

/** Per drill (scenario@setting), in first-run order: passes and each figure's spread over the runs. */
export function summarize(results: readonly DrillResult[]): DrillSummary[] {
  const byDrill = new Map<string, DrillResult[]>();
  for (const r of results) byDrill.set(r.drill, [...(byDrill.get(r.drill) ?? []), r]);
  return [...byDrill].map(([drill, rs]) => ({
    drill,
    runs: rs.length,
    passed: rs.filter((r) => r.pass).length,
    figures: Object.fromEntries(FIGURES.map(([name, get]) => [name, spread(rs.map(get))])),
  }));
}

const num = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(2));

/** min / median / max of every figure per drill. */
export function summaryTable(results: readonly DrillResult[]): string {
  const head = ['drill', 'passed', ...FIGURES.map(([n]) => `${n} min/med/max`)];
  return textTable(head, summarize(results).map((s) => [
    s.drill, `${s.passed}/${s.runs}`,
    ...FIGURES.map(([n]) => {
      const x = s.figures[n];
      return x === undefined ? '-' : `${num(x.min)} / ${num(x.median)} / ${num(x.max)}`;
    }),
  ]));
}

/** The README's table: the maximum of each figure over the runs (the worst run is what a user remembers). */
export function markdownMaxTable(results: readonly DrillResult[]): string {
  const head = ['drill', 'passed', ...FIGURES.map(([n]) => `${n} (max)`)];
  const rows = summarize(results).map((s) => [s.drill, `${s.passed}/${s.runs}`, ...FIGURES.map(([n]) => {
    const x = s.figures[n];
    return x === undefined ? '-' : num(x.max);
  })]);
  return [head, head.map(() => '---'), ...rows].map((c) => `| ${c.join(' | ')} |`).join('\n');
}

function fmt(x: number | null): string {
  return x === null ? '-' : x.toFixed(2);
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function timelineSvg(r: DrillResult): string {
  const W = 1000;
  // Room for the lane labels ("db2 writable") at the left of the plot.
  const left = 100;
  const right = 20;
  const plotW = W - left - right;
  const tl = r.timeline;
  const span = Math.max(1, tl.end);
  const x = (t: number): number => left + (Math.max(0, Math.min(span, t)) / span) * plotW;
  const barTop = 70;
  const barH = 160;
  const max = Math.max(1, ...tl.ackBuckets);
  const laneY = barTop + barH + 30;
  const marksY = laneY + 4 * 16 + 20;
  const H = marksY + r.marks.length * 14 + 20;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">${esc(r.drill)}: ${esc(r.title)}</text>`);
  parts.push(`<text x="${left}" y="38">${r.pass ? 'PASS' : 'FAIL'} · write outage ${fmt(r.writeOutageS)} s · VIP move ${fmt(r.vipMoveS)} s · lost ${r.lost} · split-brain ${r.splitBrainMs} ms (≤${r.splitBrainUpperMs} sampled) · stale acks ${r.staleAcks} · both writable ${r.bothWritableMs} ms</text>`);
  parts.push(`<text x="${left}" y="54" fill="#555">${esc(r.topology.slice(0, 150))}</text>`);
  // acknowledged writes per 100 ms
  parts.push(`<text x="${left - 6}" y="${barTop + 8}" text-anchor="end">${max}</text><text x="${left - 6}" y="${barTop + barH}" text-anchor="end">0</text>`);
  parts.push(`<text transform="translate(14 ${barTop + barH / 2}) rotate(-90)" text-anchor="middle">acks / 100 ms</text>`);
  parts.push(`<line x1="${left}" y1="${barTop + barH}" x2="${W - right}" y2="${barTop + barH}" stroke="#999"/>`);
  const bw = Math.max(0.5, (plotW * 100) / span);
  tl.ackBuckets.forEach((n, i) => {
    if (n === 0) return;
    const h = (n / max) * barH;
    parts.push(`<rect x="${x(i * 100).toFixed(1)}" y="${(barTop + barH - h).toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}" fill="#4a7bd0"/>`);
  });
  for (let s = 0; s <= span / 1000; s += span > 60_000 ? 10 : 5) {
    parts.push(`<text x="${x(s * 1000).toFixed(1)}" y="${barTop + barH + 14}" text-anchor="middle" fill="#555">${s}s</text>`);
  }
  // lanes: VIP and writable per node
  const lanes: [string, { host: string; from: number; to: number }[], string][] = [
    ['db1 VIP', tl.vip.filter((v) => v.host === 'db1'), '#e0a030'],
    ['db1 writable', tl.writable.filter((v) => v.host === 'db1'), '#30a050'],
    ['db2 VIP', tl.vip.filter((v) => v.host === 'db2'), '#e0a030'],
    ['db2 writable', tl.writable.filter((v) => v.host === 'db2'), '#30a050'],
  ];
  lanes.forEach(([label, ivs, color], i) => {
    const y = laneY + i * 16;
    parts.push(`<text x="${left - 6}" y="${y + 10}" text-anchor="end">${label}</text>`);
    parts.push(`<rect x="${left}" y="${y}" width="${plotW}" height="12" fill="#f2f2f2"/>`);
    for (const iv of ivs) parts.push(`<rect x="${x(iv.from).toFixed(1)}" y="${y}" width="${Math.max(1, x(iv.to) - x(iv.from)).toFixed(1)}" height="12" fill="${color}"/>`);
  });
  // marks
  r.marks.forEach((m, i) => {
    const color = m.label === 'fault' ? '#d03030' : m.label.startsWith('VIP') ? '#e0a030' : m.label.endsWith('writable') ? '#30a050' : '#777';
    parts.push(`<line x1="${x(m.t).toFixed(1)}" y1="${barTop - 4}" x2="${x(m.t).toFixed(1)}" y2="${laneY + 64}" stroke="${color}" stroke-dasharray="4 3"/>`);
    const y = marksY + i * 14;
    parts.push(`<text x="${left}" y="${y}" fill="${color}">+${(m.t / 1000).toFixed(2)} s  ${esc(m.label)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
