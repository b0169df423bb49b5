import { connect } from 'node:net';
import type { IsolationFinding } from '../health/evaluate.js';

// Seed 000 stage 4, without ping: a TCP connect that succeeds or is refused proves the gateway answers.
export function probeTcp(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<IsolationFinding> {
  const started = Date.now();
  return new Promise<IsolationFinding>((resolve) => {
    const socket = connect({ host, port });
    const done = (answeredNow: boolean, detail: string): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve({ answered: answeredNow, detail: `${host}:${port} ${detail}`, ms: Date.now() - started });
    };
    const onAbort = (): void => done(false, 'probe abandoned at the deadline');
    const timer = setTimeout(() => done(false, `did not answer within ${timeoutMs} ms`), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done(true, 'accepted a connection'));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done(true, 'refused the connection (it answers)');
      else done(false, `unreachable: ${err.code ?? err.message}`);
    });
  });
}
