import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

// A listener whose accept queue is full: the kernel drops further SYNs, so a connect neither succeeds nor is refused.
export async function startStalledListener(): Promise<{ port: number; child: ChildProcess } | undefined> {
  if (!existsSync('/usr/bin/python3')) return undefined;
  const script = [
    'import socket, sys, time',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
    'port = s.getsockname()[1]',
    'fill = []',
    'for _ in range(4):',
    '    c = socket.socket(); c.setblocking(False)',
    '    try: c.connect(("127.0.0.1", port))',
    '    except BlockingIOError: pass',
    '    fill.append(c)',
    'time.sleep(0.2); print(port, flush=True); time.sleep(60)',
  ].join('\n');
  const child = spawn('/usr/bin/python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`stalled listener exited ${code}`)));
  });
  return { port, child };
}
