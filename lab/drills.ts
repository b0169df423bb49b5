import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { inHost, nsenterArgs, run, sleep, waitFor } from './exec.js';
import { holderPid, requireHolder, sql, startKeepalived, startMysqld, up, vipHolders, type LabOptions } from './lab.js';
import { Observer, SAMPLE_MS } from './observer.js';
import { DB_HOSTS, HOSTS, KEEPALIVED_PID, PASSWORDS, REPO_IN_HOST, USERS, VIP, peerOf, rootPath, type DbHostId } from './topology.js';

// One drill: fresh lab, writer through the VIP, observer on both nodes, a fault, operator steps, a verdict.

export type OtherExpectation = 'replica' | 'down' | 'fenced';
export interface Expectation {
  /** Who must hold the VIP and be writable at the end. */
  master: DbHostId;
  /** What the other node may end as; 'fenced' also needs the toolkit's logged reason. */
  other: OtherExpectation | readonly OtherExpectation[];
  /** A VIP move is expected (failover) or forbidden (no failover). */
  failover: boolean;
  /** The topology may legitimately end without a writable master (a refusal); only loss and split brain are judged. */
  refusalAllowed?: boolean;
}

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
  log(s: string): void;
}

export interface Scenario {
  name: string;
  title: string;
  expect: Expectation;
  run(ctx: DrillCtx): Promise<void>;
}

export interface Ack {
  id: number;
  at: number;
}

export interface DrillResult {
  scenario: string;
  title: string;
  startedAt: string;
  pass: boolean;
  failures: string[];
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

function startWriter(onLine: (o: Record<string, unknown>) => void): ChildProcess {
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

async function stopWriter(child: ChildProcess): Promise<void> {
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
    log,
  };
}

interface NodeFinal {
  host: DbHostId;
  alive: boolean;
  mysqld: boolean;
  vip: boolean;
  readOnly?: boolean;
  io?: string;
  sqlThread?: string;
  masterHost?: string;
  gtid?: string;
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

/** Judges the pair: undefined while it matches the expectation, else what differs. */
function judgeTopology(nodes: NodeFinal[], exp: Expectation): { ok: boolean; text: string; master: DbHostId | null } {
  const holders = nodes.filter((n) => n.alive && n.vip);
  const writable = nodes.filter((n) => n.mysqld && n.readOnly === false);
  const describe = (n: NodeFinal): string => {
    const name = HOSTS[n.host].hostname;
    if (!n.alive) return `${name}: host down`;
    if (!n.mysqld) return `${name}: mysqld down${n.vip ? ' (holds VIP!)' : ''}`;
    const repl = n.io === undefined ? 'no replication configured'
      : n.io === 'Yes' && n.sqlThread === 'Yes' ? `replicating from ${n.masterHost}`
      : `replication from ${n.masterHost} stopped (io=${n.io} sql=${n.sqlThread})`;
    return `${name}: ${n.readOnly ? 'read-only' : 'WRITABLE'}${n.vip ? ' +VIP' : ''}, ${repl}`;
  };
  const text = nodes.map(describe).join('; ');
  if (holders.length === 0 && writable.length === 0 && exp.refusalAllowed) return { ok: true, text: `no master (refused): ${text}`, master: null };
  if (holders.length !== 1) return { ok: false, text: `${holders.length} VIP holders: ${text}`, master: null };
  const m = holders[0]!;
  if (!(m.mysqld && m.readOnly === false)) return { ok: false, text: `VIP holder not writable: ${text}`, master: null };
  if (writable.length !== 1) return { ok: false, text: `two writable nodes: ${text}`, master: m.host };
  if (m.host !== exp.master && !exp.refusalAllowed) return { ok: false, text: `master is ${HOSTS[m.host].hostname}, expected ${HOSTS[exp.master].hostname}: ${text}`, master: m.host };
  const o = nodes.find((n) => n.host !== m.host)!;
  const replicaOk = o.mysqld && o.readOnly === true && o.io === 'Yes' && o.sqlThread === 'Yes' && o.masterHost === HOSTS[m.host].ip;
  const otherState: OtherExpectation = !o.alive || !o.mysqld ? 'down' : replicaOk ? 'replica' : o.readOnly ? 'fenced' : 'replica';
  if (o.mysqld && o.readOnly === false) return { ok: false, text: `other node writable: ${text}`, master: m.host };
  const allowed: readonly OtherExpectation[] = typeof exp.other === 'string' ? [exp.other] : exp.other;
  if (!allowed.includes(otherState)) return { ok: false, text: `other node is ${otherState}, expected ${allowed.join(' or ')}: ${text}`, master: m.host };
  if (otherState === 'fenced') {
    const why = fencedReason(o.host);
    if (why === undefined) return { ok: false, text: `other node fenced without a logged reason: ${text}`, master: m.host };
    return { ok: true, text: `${text} [fenced: ${why}]`, master: m.host };
  }
  return { ok: true, text, master: m.host };
}

/** The toolkit's own reason for leaving a node fenced: the last failed BACKUP transition in its notify log. */
function fencedReason(h: DbHostId): string | undefined {
  let text = '';
  try {
    text = readFileSync(rootPath(h, '/var/log/keepalived-mysql/notify.log'), 'utf8');
  } catch {
    return undefined;
  }
  const line = text.split('\n').reverse().find((l) => /transition to BACKUP ended: /.test(l));
  if (!line) return undefined;
  return (/transition to BACKUP ended: ([^{]*)/.exec(line)?.[1] ?? '').trim().slice(0, 160);
}

export async function runDrill(sc: Scenario, labOpts: LabOptions, log: (s: string) => void, logDir?: string): Promise<DrillResult> {
  const tStart = Date.now();
  log(`drill ${sc.name}: ${sc.title}`);
  await up({ ...labOpts, log: () => {} });
  const obs = new Observer();
  await obs.start();
  const acks: Ack[] = [];
  const errors: { t: number; msg: string }[] = [];
  const notes: string[] = [];
  const writer = startWriter((o) => {
    if (o['e'] === 'ack') acks.push({ id: Number(o['id']), at: Number(o['at']) });
    else if (o['e'] === 'err') errors.push({ t: Number(o['at']), msg: String(o['msg']) });
  });
  const marks: Mark[] = [];
  const ctx = makeCtx(marks, log);
  const t0 = Date.now();
  let failure: string | undefined;
  let faultAt = t0 + WARMUP_MS;
  try {
    await waitFor('the writer to get acknowledgements', 20_000, async () => (acks.length > 20 ? true : undefined), 100);
    await sleep(Math.max(0, t0 + WARMUP_MS - Date.now()));
    faultAt = Date.now();
    ctx.faultAt = faultAt;
    await sc.run(ctx);
  } catch (err) {
    failure = `drill step failed: ${(err as Error).message.split('\n')[0]}`;
    log(`  ${failure}`);
  }
  faultAt = ctx.faultAt;
  // Settle: wait for the expected topology (bounded), then keep writing 2 s more.
  let nodes: NodeFinal[] = [];
  let verdict = { ok: false, text: '', master: null as DbHostId | null };
  const settleEnd = Date.now() + SETTLE_MS;
  for (;;) {
    nodes = await Promise.all(DB_HOSTS.map((h) => nodeFinal(h)));
    verdict = judgeTopology(nodes, sc.expect);
    if (verdict.ok || Date.now() > settleEnd) break;
    await sleep(500);
  }
  if (verdict.ok) ctx.mark('topology settled');
  await sleep(2000);
  await stopWriter(writer);
  const end = Date.now();
  await obs.stop();
  nodes = await Promise.all(DB_HOSTS.map((h) => nodeFinal(h)));
  verdict = judgeTopology(nodes, sc.expect);

  // Acknowledged rows missing on the final master (or on the most advanced live node when there is none).
  let lostIds: number[] = [];
  const finalHost = verdict.master ?? nodes.filter((n) => n.mysqld).map((n) => n.host)[0];
  if (finalHost !== undefined) {
    const rows = await sql(finalHost, 'SELECT id FROM drill.writes', 10_000).catch(() => undefined);
    if (rows === undefined) notes.push(`could not read drill.writes on ${HOSTS[finalHost].hostname}`);
    else {
      const have = new Set(rows.split('\n').filter(Boolean).map(Number));
      lostIds = acks.filter((a) => !have.has(a.id)).map((a) => a.id);
    }
  } else {
    lostIds = acks.map((a) => a.id);
    notes.push('no live server to read the rows from');
  }
  // The replica, if it replicates, must hold every acknowledged row too once caught up.
  const other = verdict.master ? nodes.find((n) => n.host !== verdict.master) : undefined;
  if (other && other.io === 'Yes' && finalHost) {
    const master = nodes.find((n) => n.host === finalHost);
    await waitFor('the replica to catch up', 10_000, async () => {
      const g = await sql(other.host, 'SELECT @@gtid_slave_pos', 3000);
      return g === master?.gtid ? true : undefined;
    }, 200).catch(() => notes.push(`replica ${HOSTS[other.host].hostname} did not reach the master's GTID ${master?.gtid ?? ''}`));
    const rc = await sql(other.host, 'SELECT COUNT(*) FROM drill.writes', 5000).catch(() => '?');
    const mc = await sql(finalHost, 'SELECT COUNT(*) FROM drill.writes', 5000).catch(() => '?');
    if (rc !== mc) notes.push(`replica has ${rc} rows, master ${mc}`);
  }

  const newMaster = peerOf('a');
  const vipArr = sc.expect.failover ? obs.vipArrival(newMaster, faultAt) : undefined;
  const anyMove = obs.vipArrival('b', faultAt);
  const prom = sc.expect.failover ? obs.firstWritable(newMaster, faultAt) : undefined;
  // Write outage: the longest gap between acknowledgements from the last one before the fault on.
  const ackTimes = acks.map((a) => a.at).sort((x, y) => x - y);
  const before = ackTimes.filter((t) => t <= faultAt);
  let prev = before.length > 0 ? before[before.length - 1]! : faultAt;
  let gap = 0;
  for (const t of ackTimes.filter((x) => x > faultAt)) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  gap = Math.max(gap, end - 2000 > prev ? end - prev : 0);
  const vipAt = (h: DbHostId, t: number): boolean => obs.vipAt(h, t) && !((ctx.deadSince[h] ?? Infinity) <= t);
  const split = obs.splitBrainMs(t0, end, vipAt, 'proven');
  const splitUpper = obs.splitBrainMs(t0, end, vipAt, 'upper');

  const failures: string[] = [];
  if (failure) failures.push(failure);
  if (lostIds.length > 0) failures.push(`${lostIds.length} acknowledged rows missing on the final master`);
  if (split > 0) failures.push(`${split} ms with both nodes writable and holding the VIP`);
  if (splitUpper > 2 * SAMPLE_MS) failures.push(`up to ${splitUpper} ms with both nodes writable and holding the VIP (sample-and-hold)`);
  if (!verdict.ok) failures.push(`topology: ${verdict.text}`);
  if (sc.expect.failover && vipArr === undefined && !sc.expect.refusalAllowed) failures.push('the VIP never moved');
  if (!sc.expect.failover && anyMove !== undefined) failures.push(`the VIP moved (at +${((anyMove - faultAt) / 1000).toFixed(2)} s) though no failover was expected`);

  const rel = (t: number): number => t - t0;
  const buckets = new Array<number>(Math.ceil((end - t0) / 100) + 1).fill(0);
  for (const t of ackTimes) {
    const i = Math.floor((t - t0) / 100);
    if (i >= 0 && i < buckets.length) buckets[i] = (buckets[i] ?? 0) + 1;
  }
  const intervals = (pred: (h: DbHostId, t: number) => boolean): { host: string; from: number; to: number }[] => {
    const out: { host: string; from: number; to: number }[] = [];
    for (const h of DB_HOSTS) {
      let open: number | undefined;
      for (let t = t0; t <= end; t += 25) {
        const v = pred(h, t);
        if (v && open === undefined) open = t;
        if (!v && open !== undefined) {
          out.push({ host: HOSTS[h].hostname, from: rel(open), to: rel(t) });
          open = undefined;
        }
      }
      if (open !== undefined) out.push({ host: HOSTS[h].hostname, from: rel(open), to: rel(end) });
    }
    return out;
  };
  const allMarks = [{ at: faultAt, label: 'fault' }, ...marks.filter((m) => m.label !== 'fault')];
  if (vipArr !== undefined) allMarks.push({ at: vipArr, label: `VIP on ${HOSTS[newMaster].hostname}` });
  if (prom !== undefined) allMarks.push({ at: prom, label: `${HOSTS[newMaster].hostname} writable` });
  allMarks.sort((x, y) => x.at - y.at);

  const result: DrillResult = {
    scenario: sc.name,
    title: sc.title,
    startedAt: new Date(tStart).toISOString(),
    pass: failures.length === 0,
    failures,
    writeOutageS: round(gap / 1000),
    vipMoveS: vipArr === undefined ? null : round((vipArr - faultAt) / 1000),
    promotionS: prom === undefined ? null : round((prom - faultAt) / 1000),
    acked: acks.length,
    lost: lostIds.length,
    lostIds: lostIds.slice(0, 50),
    splitBrainMs: split,
    splitBrainUpperMs: splitUpper,
    topology: verdict.text,
    finalMaster: verdict.master ? HOSTS[verdict.master].hostname : null,
    marks: allMarks.map((m) => ({ t: rel(m.at), label: m.label })),
    durationS: round((Date.now() - tStart) / 1000),
    timeline: {
      t0, end: rel(end), faultAt: rel(faultAt), ackBuckets: buckets,
      vip: intervals(vipAt),
      writable: intervals((h, t) => obs.writableAt(h, t)),
      errors: errors.slice(0, 200).map((e) => ({ t: rel(e.t), msg: e.msg })),
    },
    notes,
  };
  if (logDir) saveHostLogs(logDir);
  log(`  → ${result.pass ? 'PASS' : 'FAIL'} outage ${result.writeOutageS}s vip ${result.vipMoveS ?? '-'}s lost ${result.lost} split ${split}ms (≤${splitUpper}); ${verdict.text}`);
  for (const f of failures) log(`    ✗ ${f}`);
  return result;
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
