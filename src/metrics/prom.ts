import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DURATION_BUCKETS_S, type MetricFamily } from './snapshot.js';

// The only module that knows prom-client: metric families in, Prometheus text exposition format out.
export async function renderExposition(families: readonly MetricFamily[]): Promise<string> {
  const registry = new Registry();
  for (const f of families) {
    const common = { name: f.name, help: f.help, labelNames: [...f.labelNames], registers: [registry] };
    if (f.type === 'gauge') {
      const g = new Gauge(common);
      for (const s of f.samples) g.set({ ...s.labels }, s.value);
    } else if (f.type === 'counter') {
      const c = new Counter(common);
      for (const s of f.samples) c.inc({ ...s.labels }, s.value);
    } else {
      const h = new Histogram({ ...common, buckets: DURATION_BUCKETS_S });
      for (const s of f.samples) h.observe({ ...s.labels }, s.value);
    }
  }
  return registry.metrics();
}

export const EXPOSITION_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
