import { connect, type Socket } from 'node:net';
import type { IsolationFinding } from '../health/evaluate.js';

// A SYN-ACK or a refusal on a LAN comes back in well under a millisecond: a host that has not answered within this is
// treated as silent so far (the next vantage point or the witness is asked), never as down.
export const TCP_HEAD_START_MS = 30;

/** How a host answered a TCP connect: a handshake, a refusal (RST), or nothing in time. */
export type TcpAnswer = 'accepted' | 'refused' | 'silent';

// Seed 000 stage 4, without ping: a TCP connect that succeeds or is refused proves the gateway answers.
export async function probeTcp(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<IsolationFinding> {
  const { answer, detail, ms } = await connectOnce(host, port, timeoutMs, signal);
  return { answered: answer !== 'silent', detail, ms };
}

/** A connect and nothing else: the kernel accepts for a hung server, so 'accepted' is a live, reachable host. */
export async function tcpAnswer(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<TcpAnswer> {
  return (await connectOnce(host, port, timeoutMs, signal)).answer;
}

/** Like tcpAnswer, but an accepted connection is handed over open, for a protocol's own greeting and goodbye. */
export function openTcp(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<{ answer: TcpAnswer; detail: string; ms: number; socket?: Socket }> {
  return connectOnce(host, port, timeoutMs, signal, true);
}

function connectOnce(host: string, port: number, timeoutMs: number, signal: AbortSignal, keep = false): Promise<{ answer: TcpAnswer; detail: string; ms: number; socket?: Socket }> {
  const started = Date.now();
  if (signal.aborted) return Promise.resolve({ answer: 'silent', detail: `${host}:${port} not asked: the deadline had passed`, ms: 0 });
  return new Promise((resolve) => {
    const socket = connect({ host, port, ...(keep ? { allowHalfOpen: true, noDelay: true } : {}) });
    let settled = false;
    const done = (answer: TcpAnswer, detail: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      const kept = keep && answer === 'accepted';
      if (!kept) socket.destroy();
      resolve({ answer, detail: `${host}:${port} ${detail}`, ms: Date.now() - started, ...(kept ? { socket } : {}) });
    };
    const onAbort = (): void => done('silent', 'probe abandoned at the deadline');
    const timer = setTimeout(() => done('silent', `did not answer within ${timeoutMs} ms`), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done('accepted', 'accepted a connection'));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done('refused', 'refused the connection (it answers)');
      else done('silent', `unreachable: ${err.code ?? err.message}`);
    });
  });
}
