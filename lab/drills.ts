import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { inHost, nsenterArgs, run, sleep, waitFor } from './exec.js';
import {
  CLOSING_WRITES_MS, judgeDrill, judgeTopology, lostIds, staleAcks, writeOutageMs,
  type Ack, type DrillJudgement, type Expectation, type Figures, type NodeFinal, type TopologyVerdict,
} from './judge.js';
import { holderPid, labProfile, requireHolder, sql, startKeepalived, startMysqld, stopWatcher, up, vipHolders, type LabOptions } from './lab.js';
import { STEPDOWN_FILE, parseStepDown } from '../src/state/files.js';
import { Observer } from './observer.js';
import { drillName } from './plan.js';
import { DEFAULT_SETTING, REPORTED_UNDER_TRADE_OFF, type Setting } from './settings.js';
import { DB_HOSTS, HOSTS, KEEPALIVED_PID, PASSWORDS, REPO_IN_HOST, USERS, VIP, peerOf, rootPath, type DbHostId } from './topology.js';

// One drill: fresh lab, writer through the VIP, observer on both nodes, a fault, operator steps, a verdict
// (lab/judge.ts).

export type { Expectation } from './judge.js';

export interface Mark {
  at: number;
  label: string;
}

export interface DrillCtx {
  readonly marks: Mark[];
  /** When the fault that the figures measure from happened (default: when the scenario started). */
  faultAt: number;
  /** Marks now as the measured fault (for scenarios that prepare a condition first). */
  faultNow(label: string): void;
  /** Hosts powered off, and since when: their leftover VIP address serves nothing. */
  readonly deadSince: Partial<Record<DbHostId, number>>;
  mark(label: string): void;
  sh(h: DbHostId, script: string, timeoutMs?: number): Promise<string>;
  waitVip(h: DbHostId, timeoutMs: number): Promise<boolean>;
  operatorStartMysqld(h: DbHostId): Promise<void>;
  operatorStartKeepalived(h: DbHostId): Promise<void>;
  operatorStopKeepalived(h: DbHostId): Promise<void>;
  log(s: string): void;
}

export interface Scenario {
  name: string;
  title: string;
  expect: Expectation;
  /**
   * Without a witness this fault cannot be told apart from a dead peer: under a no-witness setting the figures
   * its documented trade-off allows (REPORTED_UNDER_TRADE_OFF) are reported instead of judged.
   */
  tradeOff?: boolean;
  run(ctx: DrillCtx): Promise<void>;
}

export interface DrillResult {
  scenario: string;
  setting: Setting;
  /** The scenario's name, with `@setting` unless it ran under the default setting. */
  drill: string;
  title: string;
  startedAt: string;
  pass: boolean;
  failures: string[];
  /** Figures the setting's trade-off allows, reported instead of failing the drill. */
  reported: string[];
  writeOutageS: number | null;
  vipMoveS: number | null;
  promotionS: number | null;
  acked: number;
  lost: number;
  lostIds: number[];
  /** Proven by the samples: both writable and holding the VIP. Must be 0. */
  splitBrainMs: number;
  /** Sample-and-hold upper bound (includes up to one sampling interval around each change). */
  splitBrainUpperMs: number;
  /** Writes acknowledged by the old master after the new master acknowledged its first. Must be 0. */
  staleAcks: number;
  /** Both nodes writable at all, VIP or not (proven by the samples; goal 0). */
  bothWritableMs: number;
  /**
   * Seconds from the fault until the final replica replicated without a break to the end (issue 8's "redundant
   * again"); 0 when it never stopped, null when it does not replicate at the end.
   */
  redundantS: number | null;
  topology: string;
  finalMaster: string | null;
  marks: { t: number; label: string }[];
  durationS: number;
  /** Timeline data for the picture (ms relative to t0). */
  timeline: {
    t0: number;
    end: number;
    faultAt: number;
    ackBuckets: number[];
    vip: { host: string; from: number; to: number }[];
    writable: { host: string; from: number; to: number }[];
    errors: { t: number; msg: string }[];
  };
  notes: string[];
}

const WARMUP_MS = 3000;
const SETTLE_MS = 30_000;
/** Where a setting's trade-off allows any end, waiting for the expected one only costs time. */
const SETTLE_TRADE_OFF_MS = 10_000;

export function startWriter(onLine: (o: Record<string, unknown>) => void): ChildProcess {
  rmSync(rootPath('c', '/run/writer.stop'), { force: true });
  const child = spawn('nsenter', [...nsenterArgs(requireHolder('c')), 'node', `${REPO_IN_HOST}/dist/lab/writer.js`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env, KM_WRITER_HOST: VIP, KM_WRITER_USER: USERS.app, KM_WRITER_PASSWORD: PASSWORDS.app,
      KM_WRITER_STOP_FILE: '/run/writer.stop', KM_WRITER_MAX_MS: '300000',
    },
  });
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      onLine(JSON.parse(l) as Record<string, unknown>);
    } catch {
      /* not ours */
    }
  });
  child.stderr!.on('data', () => {});
  return child;
}

export async function stopWriter(child: ChildProcess): Promise<void> {
  writeFileSync(rootPath('c', '/run/writer.stop'), '1');
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  const ok = await Promise.race([done.then(() => true), sleep(5000).then(() => false)]);
  if (!ok) child.kill('SIGKILL');
}

function makeCtx(marks: Mark[], log: (s: string) => void): DrillCtx {
  return {
    marks,
    faultAt: Date.now(),
    faultNow(label) {
      this.faultAt = Date.now();
      this.mark(label);
    },
    deadSince: {},
    mark(label) {
      marks.push({ at: Date.now(), label });
      log(`  ${label}`);
    },
    async sh(h, script, timeoutMs = 15_000) {
      return (await inHost(requireHolder(h), script, { timeoutMs })).stdout.trim();
    },
    async waitVip(h, timeoutMs) {
      try {
        await waitFor(`the VIP on ${HOSTS[h].hostname}`, timeoutMs, async () => ((await vipHolders()).includes(h) ? true : undefined), 50);
        return true;
      } catch {
        return false;
      }
    },
    async operatorStartMysqld(h) {
      const r = await inHost(requireHolder(h), 'mariadb-admin -uroot --connect-timeout=1 ping', { timeoutMs: 5000, allowFail: true });
      if (r.code !== 0) {
        this.mark(`operator: start mysqld on ${HOSTS[h].hostname}`);
        await startMysqld(h);
      }
    },
    async operatorStartKeepalived(h) {
      const r = await inHost(requireHolder(h), `p=$(cat ${KEEPALIVED_PID} 2>/dev/null) && kill -0 "$p"`, { timeoutMs: 5000, allowFail: true });
      if (r.code !== 0) {
        this.mark(`operator: start keepalived on ${HOSTS[h].hostname}`);
        await startKeepalived(h);
      }
    },
    async operatorStopKeepalived(h) {
      this.mark(`operator: stop keepalived on ${HOSTS[h].hostname}`);
      await inHost(requireHolder(h), `p=$(cat ${KEEPALIVED_PID} 2>/dev/null) && kill -TERM "$p"
for i in $(seq 100); do kill -0 "$p" 2>/dev/null || exit 0; sleep 0.1; done; exit 1`, { timeoutMs: 15_000 });
      // The watcher's unit is PartOf keepalived's: stopping keepalived stops it too.
      if (labProfile() === 'fast') await stopWatcher(h);
    },
    log,
  };
}

async function nodeFinal(h: DbHostId): Promise<NodeFinal> {
  const alive = holderPid(h) !== undefined;
  const vip = alive && (await vipHolders()).includes(h);
  if (!alive) return { host: h, alive, mysqld: false, vip };
  const ro = await sql(h, 'SELECT @@read_only, @@gtid_current_pos', 4000).catch(() => undefined);
  if (ro === undefined) return { host: h, alive, mysqld: false, vip };
  const [roFlag, gtid] = ro.split('\t');
  const st = await sql(h, 'SHOW SLAVE STATUS\\G', 4000, true).catch(() => '');
  return {
    host: h, alive, mysqld: true, vip, readOnly: roFlag === '1', gtid: gtid ?? '',
    io: /Slave_IO_Running: (\w+)/.exec(st)?.[1], sqlThread: /Slave_SQL_Running: (\w+)/.exec(st)?.[1], masterHost: /Master_Host: (\S+)/.exec(st)?.[1],
  };
}

/**
 * The toolkit's own reason for leaving a node fenced: its step-down marker (a newer master fenced it, or it
 * fenced itself), else the last failed BACKUP transition in its notify log.
 */
function fencedReason(h: DbHostId): string | undefined {
  const read = (path: string): string | undefined => {
    try {
      return readFileSync(rootPath(h, path), 'utf8');
    } catch {
      return undefined;
    }
  };
  const marker = read(`/var/lib/keepalived-mysql/${STEPDOWN_FILE}`);
  if (marker !== undefined) {
    try {
      const m = parseStepDown(marker, STEPDOWN_FILE);
      return `stepped down by ${m.by} (term ${m.term}): ${m.reason}`.slice(0, 160);
    } catch {
      return undefined;
    }
  }
  const line = (read('/var/log/keepalived-mysql/notify.log') ?? '').split('\n').reverse().find((l) => /transition to BACKUP ended: /.test(l));
  if (!line) return undefined;
  return (/transition to BACKUP ended: ([^{]*)/.exec(line)?.[1] ?? '').trim().slice(0, 160);
}

async function topologyNow(exp: Expectation): Promise<{ nodes: NodeFinal[]; verdict: TopologyVerdict }> {
  const nodes = await Promise.all(DB_HOSTS.map((h) => nodeFinal(h)));
  return { nodes, verdict: judgeTopology(nodes, exp, fencedReason) };
}

/** The drill's moving parts: the observer, the writer and what it reported, the scenario's context. */
class DrillSession {
  readonly obs = new Observer();
  readonly acks: Ack[] = [];
  readonly errors: { t: number; msg: string }[] = [];
  readonly marks: Mark[] = [];
  readonly ctx: DrillCtx;
  readonly t0: number;
  private writer: ChildProcess | undefined;

  constructor(log: (s: string) => void) {
    this.ctx = makeCtx(this.marks, log);
    this.t0 = Date.now();
  }

  async start(): Promise<void> {
    await this.obs.start();
    this.writer = startWriter((o) => {
      if (o['e'] === 'ack') this.acks.push({ id: Number(o['id']), at: Number(o['at']), ...serverOf(Number(o['sid'])) });
      else if (o['e'] === 'err') this.errors.push({ t: Number(o['at']), msg: String(o['msg']) });
    });
  }

  /** Warm-up writes, then the fault and the scenario's steps; a step that throws is the drill's failure. */
  async inject(sc: Scenario): Promise<string | undefined> {
    try {
      await waitFor('the writer to get acknowledgements', 20_000, async () => (this.acks.length > 20 ? true : undefined), 100);
      await sleep(Math.max(0, this.t0 + WARMUP_MS - Date.now()));
      this.ctx.faultAt = Date.now();
      await sc.run(this.ctx);
      return undefined;
    } catch (err) {
      const failure = `drill step failed: ${(err as Error).message.split('\n')[0]}`;
      this.ctx.log(`  ${failure}`);
      return failure;
    }
  }

  /** Waits (bounded) for the expected topology, keeps writing CLOSING_WRITES_MS more, stops the writer and the observer. */
  async settle(exp: Expectation, timeoutMs: number): Promise<number> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const { verdict } = await topologyNow(exp);
      if (verdict.ok) {
        this.ctx.mark('topology settled');
        break;
      }
      if (Date.now() > until) break;
      await sleep(500);
    }
    await sleep(CLOSING_WRITES_MS);
    if (this.writer) await stopWriter(this.writer);
    const end = Date.now();
    await this.obs.stop();
    return end;
  }
}

function serverOf(sid: number): { server?: DbHostId } {
  const h = DB_HOSTS.find((x) => HOSTS[x].serverId === sid);
  return h === undefined ? {} : { server: h };
}

/** Acknowledged ids missing on the final master (or on the live node when there is none), and notes. */
async function countLost(acks: readonly Ack[], nodes: readonly NodeFinal[], verdict: TopologyVerdict, notes: string[]): Promise<number[]> {
  const finalHost = verdict.master ?? nodes.find((n) => n.mysqld)?.host;
  if (finalHost === undefined) {
    notes.push('no live server to read the rows from');
    return acks.map((a) => a.id);
  }
  const rows = await sql(finalHost, 'SELECT id FROM drill.writes', 10_000).catch(() => undefined);
  if (rows === undefined) {
    notes.push(`could not read drill.writes on ${HOSTS[finalHost].hostname}`);
    return [];
  }
  const lost = lostIds(acks, new Set(rows.split('\n').filter(Boolean).map(Number)));
  // The replica, if it replicates, must hold every row too once caught up.
  const other = verdict.master ? nodes.find((n) => n.host !== verdict.master) : undefined;
  const master = nodes.find((n) => n.host === finalHost);
  if (other?.io === 'Yes') {
    await waitFor('the replica to catch up', 10_000, async () => ((await sql(other.host, 'SELECT @@gtid_slave_pos', 3000)) === master?.gtid ? true : undefined), 200)
      .catch(() => notes.push(`replica ${HOSTS[other.host].hostname} did not reach the master's GTID ${master?.gtid ?? ''}`));
    const rc = await sql(other.host, 'SELECT COUNT(*) FROM drill.writes', 5000).catch(() => '?');
    const mc = await sql(finalHost, 'SELECT COUNT(*) FROM drill.writes', 5000).catch(() => '?');
    if (rc !== mc) notes.push(`replica has ${rc} rows, master ${mc}`);
  }
  return lost;
}

export async function runDrill(sc: Scenario, labOpts: LabOptions, log: (s: string) => void, logDir?: string): Promise<DrillResult> {
  const tStart = Date.now();
  const setting = labOpts.setting ?? DEFAULT_SETTING;
  const tradeOff = sc.tradeOff ? REPORTED_UNDER_TRADE_OFF[setting] : [];
  log(`drill ${drillName(sc.name, setting)}: ${sc.title}`);
  await up({ ...labOpts, log: () => {} });
  const session = new DrillSession(log);
  await session.start();
  const stepFailure = await session.inject(sc);
  const end = await session.settle(sc.expect, tradeOff.includes('topology') ? SETTLE_TRADE_OFF_MS : SETTLE_MS);
  const { nodes, verdict } = await topologyNow(sc.expect);
  const notes: string[] = [];
  const lost = await countLost(session.acks, nodes, verdict, notes);
  const figures = measure(session, end, sc.expect);
  const judgement = judgeDrill({ ...(stepFailure ? { stepFailure } : {}), figures: { ...figures, lost: lost.length }, topology: verdict, expect: sc.expect, tradeOff });
  const result = buildResult({ sc, setting, tStart, end, session, figures, lost, verdict, judgement, notes });
  if (logDir) saveHostLogs(logDir);
  log(`  → ${result.pass ? 'PASS' : 'FAIL'} outage ${result.writeOutageS}s vip ${result.vipMoveS ?? '-'}s lost ${result.lost} split ${result.splitBrainMs}ms (≤${result.splitBrainUpperMs}) stale ${result.staleAcks} both-writable ${result.bothWritableMs}ms; ${verdict.text}`);
  for (const f of judgement.failures) log(`    ✗ ${f}`);
  for (const r of judgement.reported) log(`    ~ ${r} (${setting}: reported)`);
  return result;
}

interface Measured extends Omit<Figures, 'lost'> {
  outageMs: number;
  vipArrival?: number;
  promotedAt?: number;
  firstNewAckAt?: number;
  bothWritableMs: number;
  vipAt: (h: DbHostId, t: number) => boolean;
}

/** The figures from the observer and the writer's acknowledgements. */
function measure(s: DrillSession, end: number, expect: Expectation): Measured {
  const faultAt = s.ctx.faultAt;
  // A switchover and back ends on db1: the move to judge is the one to the expected master.
  const newMaster = expect.failover && typeof expect.master === 'string' ? expect.master : peerOf('a');
  const vipArrival = s.obs.vipArrival(newMaster, faultAt);
  const promotedAt = s.obs.firstWritable(newMaster, faultAt);
  // A powered-off host's leftover VIP address serves nothing.
  const vipAt = (h: DbHostId, t: number): boolean => s.obs.vipAt(h, t) && !((s.ctx.deadSince[h] ?? Infinity) <= t);
  const stale = staleAcks(s.acks, faultAt);
  return {
    outageMs: writeOutageMs(s.acks.map((a) => a.at), faultAt, end),
    ...(vipArrival !== undefined ? { vipArrival, vipMoveMs: vipArrival - faultAt } : {}),
    ...(promotedAt !== undefined ? { promotedAt } : {}),
    ...(stale.firstNewAt !== undefined ? { firstNewAckAt: stale.firstNewAt } : {}),
    staleAcks: stale.count,
    splitBrainMs: s.obs.splitBrainMs(s.t0, end, vipAt, 'proven'),
    splitBrainUpperMs: s.obs.splitBrainMs(s.t0, end, vipAt, 'upper'),
    bothWritableMs: s.obs.splitBrainMs(s.t0, end, () => true, 'proven'),
    vipAt,
  };
}

function buildResult(r: {
  sc: Scenario; setting: Setting; tStart: number; end: number; session: DrillSession; figures: Measured; lost: number[];
  verdict: TopologyVerdict; judgement: DrillJudgement; notes: string[];
}): DrillResult {
  const { session: s, figures: f, end } = r;
  const t0 = s.t0;
  const faultAt = s.ctx.faultAt;
  const rel = (t: number): number => t - t0;
  const newMaster = HOSTS[peerOf('a')].hostname;
  const allMarks = [{ at: faultAt, label: 'fault' }, ...s.marks.filter((m) => m.label !== 'fault')];
  if (f.vipArrival !== undefined) allMarks.push({ at: f.vipArrival, label: `VIP on ${newMaster}` });
  if (f.promotedAt !== undefined) allMarks.push({ at: f.promotedAt, label: `${newMaster} writable` });
  if (f.firstNewAckAt !== undefined) allMarks.push({ at: f.firstNewAckAt, label: `first ack from ${newMaster}` });
  allMarks.sort((x, y) => x.at - y.at);
  return {
    scenario: r.sc.name,
    setting: r.setting,
    drill: drillName(r.sc.name, r.setting),
    title: r.sc.title,
    startedAt: new Date(r.tStart).toISOString(),
    pass: r.judgement.failures.length === 0,
    failures: r.judgement.failures,
    reported: r.judgement.reported,
    writeOutageS: round(f.outageMs / 1000),
    vipMoveS: f.vipMoveMs === undefined ? null : round(f.vipMoveMs / 1000),
    promotionS: f.promotedAt === undefined ? null : round((f.promotedAt - faultAt) / 1000),
    acked: s.acks.length,
    lost: r.lost.length,
    lostIds: r.lost.slice(0, 50),
    splitBrainMs: f.splitBrainMs,
    splitBrainUpperMs: f.splitBrainUpperMs,
    staleAcks: f.staleAcks,
    bothWritableMs: f.bothWritableMs,
    redundantS: redundantS(s, r.verdict, faultAt),
    topology: r.verdict.text,
    finalMaster: r.verdict.master ? HOSTS[r.verdict.master].hostname : null,
    marks: allMarks.map((m) => ({ t: rel(m.at), label: m.label })),
    durationS: round((Date.now() - r.tStart) / 1000),
    timeline: {
      t0, end: rel(end), faultAt: rel(faultAt), ackBuckets: ackBuckets(s.acks, t0, end),
      vip: intervals(t0, end, f.vipAt),
      writable: intervals(t0, end, (h, t) => s.obs.writableAt(h, t)),
      errors: s.errors.slice(0, 200).map((e) => ({ t: rel(e.t), msg: e.msg })),
    },
    notes: r.notes,
  };
}

function redundantS(s: DrillSession, verdict: TopologyVerdict, faultAt: number): number | null {
  if (verdict.master === null) return null;
  const since = s.obs.redundantSince(peerOf(verdict.master));
  return since === undefined ? null : round(Math.max(0, since - faultAt) / 1000);
}

function ackBuckets(acks: readonly Ack[], t0: number, end: number): number[] {
  const buckets = new Array<number>(Math.ceil((end - t0) / 100) + 1).fill(0);
  for (const a of acks) {
    const i = Math.floor((a.at - t0) / 100);
    if (i >= 0 && i < buckets.length) buckets[i] = (buckets[i] ?? 0) + 1;
  }
  return buckets;
}

/** Spans (ms relative to t0, 25 ms resolution) during which `pred` holds, per host, for the picture. */
function intervals(t0: number, end: number, pred: (h: DbHostId, t: number) => boolean): { host: string; from: number; to: number }[] {
  const out: { host: string; from: number; to: number }[] = [];
  for (const h of DB_HOSTS) {
    let open: number | undefined;
    for (let t = t0; t <= end; t += 25) {
      const v = pred(h, t);
      if (v && open === undefined) open = t;
      if (!v && open !== undefined) {
        out.push({ host: HOSTS[h].hostname, from: open - t0, to: t - t0 });
        open = undefined;
      }
    }
    if (open !== undefined) out.push({ host: HOSTS[h].hostname, from: open - t0, to: end - t0 });
  }
  return out;
}

/** Keeps each host's logs (keepalived, the toolkit, mysqld, sshd) for reading after the lab is gone. */
function saveHostLogs(dir: string): void {
  for (const h of DB_HOSTS) {
    const dest = join(dir, HOSTS[h].hostname);
    try {
      rmSync(dest, { recursive: true, force: true });
      mkdirSync(dest, { recursive: true });
      cpSync(rootPath(h, '/var/log'), dest, { recursive: true, dereference: false });
      cpSync(rootPath(h, '/var/lib/keepalived-mysql'), join(dest, 'state'), { recursive: true });
    } catch {
      /* a host's logs are a courtesy */
    }
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

// The drills run the real bins; refuse early while they are still placeholders.
export async function binsNotReady(repo: string): Promise<string | undefined> {
  for (const bin of ['check-mysql', 'notify']) {
    const r = await run(`${repo}/bin/${bin}`, ['--config', '/nonexistent/km-drill-probe.json'], { timeoutMs: 10_000, allowFail: true });
    if (r.code === 70 && /not implemented/.test(r.stderr)) return `bin/${bin} is not implemented yet (${r.stderr.trim()})`;
  }
  return undefined;
}
