import type { Config } from '../config/schema.js';
import type { IsolationFinding } from './evaluate.js';

// A node is isolated when nothing else answers it: neither its peer nor the witness (or gateway). Asking the peer
// too keeps the witness from being a single point of failure: a dead witness alone never fails a check.

export interface Endpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
}

const PROBE_TIMEOUT_MS = 300;

export function isolationEndpoints(config: Config): Endpoint[] {
  const out: Endpoint[] = [{ name: 'peer', host: config.peer.host, port: config.peer.mysqlPort, timeoutMs: PROBE_TIMEOUT_MS }];
  if (config.witness) out.push({ name: 'witness', host: config.witness.host, port: config.witness.ssh.port, timeoutMs: PROBE_TIMEOUT_MS });
  const g = config.check.gateway;
  if (g) out.push({ name: 'gateway', host: g.host, port: g.port, timeoutMs: g.timeoutMs });
  return out;
}

/** Resolves at the first endpoint that answers; silent only when every one is. */
export function probeAny(endpoints: readonly Endpoint[], probe: (e: Endpoint, s: AbortSignal) => Promise<IsolationFinding>,
  signal: AbortSignal): Promise<IsolationFinding> {
  const stop = new AbortController();
  const s = AbortSignal.any([signal, stop.signal]);
  const started = Date.now();
  return new Promise<IsolationFinding>((resolve) => {
    const silent: string[] = [];
    for (const e of endpoints) {
      void probe(e, s).then((f) => {
        if (f.answered) {
          stop.abort();
          resolve({ answered: true, detail: `${e.name} ${f.detail}`, ms: Date.now() - started });
          return;
        }
        silent.push(`${e.name} ${f.detail}`);
        if (silent.length === endpoints.length) resolve({ answered: false, detail: silent.join('; '), ms: Date.now() - started });
      });
    }
    if (endpoints.length === 0) resolve({ answered: true, detail: 'no endpoints configured', ms: 0 });
  });
}
