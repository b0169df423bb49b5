import type { DrillResult } from './drills.js';

// The table at the end of a run and one timeline picture per drill (hand-built SVG).

export function table(results: readonly DrillResult[]): string {
  const head = ['scenario', 'result', 'outage s', 'VIP move s', 'writable s', 'acked', 'lost', 'split-brain ms', 'final topology'];
  const rows = results.map((r) => [
    r.scenario, r.pass ? 'PASS' : 'FAIL', fmt(r.writeOutageS), fmt(r.vipMoveS), fmt(r.promotionS), String(r.acked), String(r.lost),
    `${r.splitBrainMs} (≤${r.splitBrainUpperMs ?? '?'})`, r.topology.length > 90 ? `${r.topology.slice(0, 87)}...` : r.topology,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

export function markdownTable(results: readonly DrillResult[]): string {
  const head = '| scenario | result | outage s | VIP move s | writable s | lost | split-brain ms | final topology |';
  const sep = '|---|---|---|---|---|---|---|---|';
  const rows = results.map((r) => `| ${r.scenario} | ${r.pass ? 'PASS' : 'FAIL'} | ${fmt(r.writeOutageS)} | ${fmt(r.vipMoveS)} | ${fmt(r.promotionS)} | ${r.lost} | ${r.splitBrainMs} (≤${r.splitBrainUpperMs ?? '?'}) | ${r.topology.replace(/\|/g, '/')} |`);
  return [head, sep, ...rows].join('\n');
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
  parts.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">${esc(r.scenario)}: ${esc(r.title)}</text>`);
  parts.push(`<text x="${left}" y="38">${r.pass ? 'PASS' : 'FAIL'} · write outage ${fmt(r.writeOutageS)} s · VIP move ${fmt(r.vipMoveS)} s · lost ${r.lost} · split-brain ${r.splitBrainMs} ms (≤${r.splitBrainUpperMs ?? '?'} sampled)</text>`);
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
