import type { Config } from '../config/schema.js';
import type { Clock } from '../platform/clock.js';
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

/**
 * The resident watcher's isolation guard at check-mysql's cadence: an answer holds for `everyMs`, a silence is asked
 * again every round. Two TCP connects every 200 ms were a third of a healthy round's CPU, and a node that is cut off
 * is still found within everyMs plus one probe.
 */
export function heldWhileAnswered(probe: (signal: AbortSignal) => Promise<IsolationFinding>, clock: Clock, everyMs: number)
  : (signal: AbortSignal) => Promise<IsolationFinding> {
  let held: { finding: IsolationFinding; at: number } | undefined;
  return async (signal) => {
    if (held !== undefined && clock.now() - held.at < everyMs) return held.finding;
    const finding = await probe(signal);
    held = finding.answered ? { finding, at: clock.now() } : undefined;
    return finding;
  };
}
