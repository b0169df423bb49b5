import type { Config } from '../config/schema.js';
import type { MysqlTarget } from '../mysql/types.js';
import { peerMysqlTarget } from '../mysql/targets.js';
import type { Clock } from '../platform/clock.js';
import { scope } from '../platform/deadline.js';
import { TCP_HEAD_START_MS } from '../platform/tcp-probe.js';
import type { IsolationFinding } from './evaluate.js';

// A node is isolated when nothing else answers it: neither its peer nor the witness (or gateway). Asking the peer
// too keeps the witness from being a single point of failure: a dead witness alone never fails a check.

export interface Endpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  /** Asked with this login and a goodbye, not a bare connect (see probeMysqlByLogin). */
  readonly login?: MysqlTarget;
}

/** How long the peer and the witness have to answer one probe (a stepped-down node's look for the newer master too). */
export const PROBE_TIMEOUT_MS = 300;

export function isolationEndpoints(config: Config): Endpoint[] {
  const out: Endpoint[] = [{ name: 'peer', host: config.peer.host, port: config.peer.mysqlPort, timeoutMs: PROBE_TIMEOUT_MS, login: peerMysqlTarget(config, PROBE_TIMEOUT_MS) }];
  if (config.witness) out.push({ name: 'witness', host: config.witness.host, port: config.witness.ssh.port, timeoutMs: PROBE_TIMEOUT_MS });
  const g = config.check.gateway;
  if (g) out.push({ name: 'gateway', host: g.host, port: g.port, timeoutMs: g.timeoutMs });
  return out;
}

/**
 * Resolves at the first endpoint that answers; silent only when every one is. Endpoints are asked in order, each
 * headStartMs after the one before, or at once when every one asked so far is silent: a healthy check opens one socket,
 * not three. Each still ends within its own timeout of the start, so a silence takes no longer than with all asked together.
 */
export function probeAny(endpoints: readonly Endpoint[], probe: (e: Endpoint, s: AbortSignal) => Promise<IsolationFinding>,
  signal: AbortSignal, headStartMs = TCP_HEAD_START_MS): Promise<IsolationFinding> {
  const started = Date.now();
  const probing = scope(signal);
  return new Promise<IsolationFinding>((resolve) => {
    const silent: string[] = [];
    let asked = 0;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (f: IsolationFinding): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      probing.cancel();
      resolve(f);
    };
    const askNext = (): void => {
      clearTimeout(timer);
      const e = endpoints[asked];
      if (e === undefined) return;
      if (probing.signal.aborted) {
        const unasked = endpoints.slice(asked).map((x) => `${x.name} not asked before the deadline`);
        settle({ answered: false, detail: [...silent, ...unasked].join('; '), ms: Date.now() - started });
        return;
      }
      asked++;
      if (asked < endpoints.length) timer = setTimeout(askNext, headStartMs);
      void probe({ ...e, timeoutMs: Math.max(1, e.timeoutMs - (Date.now() - started)) }, probing.signal).then((f) => {
        if (f.answered) {
          settle({ answered: true, detail: `${e.name} ${f.detail}`, ms: Date.now() - started });
          return;
        }
        silent.push(`${e.name} ${f.detail}`);
        if (silent.length === endpoints.length) settle({ answered: false, detail: silent.join('; '), ms: Date.now() - started });
        else if (silent.length === asked) askNext();
      });
    };
    if (endpoints.length === 0) resolve({ answered: true, detail: 'no endpoints configured', ms: 0 });
    else askNext();
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
