import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mysql2Connector } from '../src/mysql/mysql2-client.js';
import type { SqlClient } from '../src/mysql/types.js';
import { run } from './exec.js';
import { DB_HOSTS, HOSTS, MYSQL_SOCKET, PASSWORDS, USERS, VIP, rootPath, type DbHostId } from './topology.js';

// Watches both DB hosts: VIP presence (ip monitor events, exact) and read_only (sampled every SAMPLE_MS over the
// local socket). "Writable" means the server answered read_only=0; a server that does not answer cannot take a write.

export const SAMPLE_MS = 25;
// read_only, and replication as the processlist shows it (an IO thread still connecting is not replicating).
const SAMPLE_SQL = 'SELECT @@read_only AS ro, ' +
  "(SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO' AND STATE NOT LIKE '%onnecting%') AS io, " +
  "(SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_SQL') AS sqlt";

export interface Sample {
  at: number;
  host: DbHostId;
  writable: boolean;
  /** Both replication threads running and the IO thread connected to a source. */
  replicating?: boolean;
  /** 'ok' answered; 'down' refused/failed; 'slow' timed out. */
  state: 'ok' | 'down' | 'slow';
}
export interface VipEvent {
  at: number;
  host: DbHostId;
  present: boolean;
}

export class Observer {
  readonly samples: Sample[] = [];
  readonly vipEvents: VipEvent[] = [];
  private monitors: ChildProcess[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];

  async start(): Promise<void> {
    for (const h of DB_HOSTS) {
      const mon = spawn('ip', ['-n', HOSTS[h].ns, '-o', 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
      this.monitors.push(mon);
      createInterface({ input: mon.stdout }).on('line', (line) => {
        if (!line.includes(` ${VIP}/`)) return;
        this.vipEvents.push({ at: Date.now(), host: h, present: !line.startsWith('Deleted') });
      });
    }
    await new Promise((r) => setTimeout(r, 100));
    for (const h of DB_HOSTS) {
      const r = await run('ip', ['-n', HOSTS[h].ns, '-o', '-4', 'addr', 'show'], { timeoutMs: 3000, allowFail: true });
      this.vipEvents.unshift({ at: Date.now() - 1, host: h, present: r.stdout.includes(` ${VIP}/`) });
    }
    for (const h of DB_HOSTS) this.loops.push(this.sampleLoop(h));
  }

  private async sampleLoop(h: DbHostId): Promise<void> {
    let conn: SqlClient | undefined;
    while (!this.stopped) {
      const t = Date.now();
      let s: Sample;
      try {
        if (conn === undefined) {
          conn = await mysql2Connector.connect({
            host: '', port: 0, socketPath: rootPath(h, MYSQL_SOCKET), user: USERS.admin, password: PASSWORDS.admin,
            connectTimeoutMs: 150, queryTimeoutMs: 150,
          });
        }
        const rows = await conn.query<{ ro: string | number; io: string | number; sqlt: string | number }>(SAMPLE_SQL, [], { timeoutMs: 150 });
        const r = rows[0];
        s = { at: t, host: h, writable: String(r?.ro) === '0', replicating: Number(r?.io) > 0 && Number(r?.sqlt) > 0, state: 'ok' };
      } catch (err) {
        conn?.close();
        conn = undefined;
        const slow = /timeout|deadline|ETIMEDOUT/i.test((err as Error).message);
        s = { at: t, host: h, writable: false, state: slow ? 'slow' : 'down' };
      }
      this.samples.push(s);
      const wait = SAMPLE_MS - (Date.now() - t);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    conn?.close();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const m of this.monitors) m.kill('SIGTERM');
    await Promise.race([Promise.all(this.loops), new Promise((r) => setTimeout(r, 2000))]);
  }

  vipAt(h: DbHostId, t: number): boolean {
    let v = false;
    for (const e of this.vipEvents) {
      if (e.host !== h) continue;
      if (e.at > t) break;
      v = e.present;
    }
    return v;
  }

  writableAt(h: DbHostId, t: number): boolean {
    let w = false;
    for (const s of this.samples) {
      if (s.host !== h) continue;
      if (s.at > t) break;
      w = s.writable;
    }
    return w;
  }

  /**
   * Milliseconds during which both nodes were writable and held the VIP.
   * 'proven': only spans that samples prove (two consecutive writable samples of a node bracket the span);
   * 'upper': sample-and-hold, which also counts up to one sampling interval around each change.
   */
  splitBrainMs(from: number, to: number, vipAt: (h: DbHostId, t: number) => boolean = (h, t) => this.vipAt(h, t), mode: 'proven' | 'upper' = 'proven'): number {
    const spans = DB_HOSTS.map((h) => this.writableSpans(h, to, mode));
    const times = [...new Set([from, to, ...spans.flat().flatMap(([a, b]) => [a, b]), ...this.vipEvents.map((e) => e.at)])]
      .filter((t) => t >= from && t <= to)
      .sort((x, y) => x - y);
    let ms = 0;
    for (let i = 0; i + 1 < times.length; i++) {
      const t = times[i]!;
      const next = times[i + 1]!;
      const mid = (t + next) / 2;
      if (DB_HOSTS.every((h, k) => vipAt(h, mid) && spans[k]!.some(([a, b]) => a <= mid && mid < b))) ms += next - t;
    }
    return Math.round(ms);
  }

  private writableSpans(h: DbHostId, end: number, mode: 'proven' | 'upper'): [number, number][] {
    const mine = this.samples.filter((x) => x.host === h);
    const out: [number, number][] = [];
    for (let i = 0; i < mine.length; i++) {
      const cur = mine[i]!;
      const next = mine[i + 1];
      if (!cur.writable) continue;
      if (mode === 'upper') out.push([cur.at, next?.at ?? end]);
      else if (next?.writable) out.push([cur.at, next.at]);
    }
    return out;
  }

  /** First time after `from` that host h held the VIP (a VIP move to h). */
  vipArrival(h: DbHostId, from: number): number | undefined {
    if (this.vipAt(h, from)) return undefined;
    return this.vipEvents.find((e) => e.host === h && e.present && e.at >= from)?.at;
  }

  /** When host h last began replicating without a break up to its last sample; undefined if it is not replicating then. */
  redundantSince(h: DbHostId): number | undefined {
    const mine = this.samples.filter((x) => x.host === h);
    if (mine.at(-1)?.replicating !== true) return undefined;
    let i = mine.length - 1;
    while (i > 0 && mine[i - 1]!.replicating === true) i -= 1;
    return mine[i]!.at;
  }

  firstWritable(h: DbHostId, from: number): number | undefined {
    if (this.writableAt(h, from)) return undefined;
    return this.samples.find((s) => s.host === h && s.writable && s.at >= from)?.at;
  }
}
