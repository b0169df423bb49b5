import { posix } from 'node:path';
import type { Config } from '../config/schema.js';
import { beatIsFresh } from '../health/watch.js';
import { CHECK_DOWN_FILE, TAKEOVER_FILE, WATCH_BEAT_FILE, WEIGHT_FILE } from '../state/files.js';

// doctor's rules as pure functions: facts in, one PASS/WARN/FAIL line each (with the fix) out. No I/O here.

type Level = 'PASS' | 'WARN' | 'FAIL';

export interface Finding {
  readonly id: string;
  readonly level: Level;
  readonly message: string;
  /** What to change; empty on PASS. */
  readonly fix: string;
}

const pass = (id: string, message: string): Finding => ({ id, level: 'PASS', message, fix: '' });
const warn = (id: string, message: string, fix: string): Finding => ({ id, level: 'WARN', message, fix });
const fail = (id: string, message: string, fix: string): Finding => ({ id, level: 'FAIL', message, fix });

/** One server's answers: SHOW GLOBAL VARIABLES (lower-case names) and SHOW GRANTS of the toolkit account. */
export interface ServerFacts {
  readonly node: string;
  readonly flavor: 'mariadb' | 'mysql';
  readonly variables: Readonly<Record<string, string>>;
  readonly grants: readonly string[];
}

const on = (v: string | undefined): boolean => v !== undefined && ['ON', '1', 'YES', 'TRUE'].includes(v.toUpperCase());
const either = (vars: Readonly<Record<string, string>>, ...names: string[]): string | undefined => names.map((n) => vars[n]).find((v) => v !== undefined);

// The settings one server needs (README "MySQL/MariaDB settings"); the fix names the my.cnf line.
export function serverChecks(s: ServerFacts, config: Config): Finding[] {
  const v = s.variables;
  const at = (id: string): string => `${s.node}.${id}`;
  const out: Finding[] = [];
  out.push(on(v['log_bin']) ? pass(at('log_bin'), 'binary log on') : fail(at('log_bin'), 'binary log off', 'my.cnf [mysqld]: log-bin = <node>-bin'));
  const updates = either(v, 'log_slave_updates', 'log_replica_updates');
  out.push(on(updates) ? pass(at('log_slave_updates'), 'log_slave_updates on')
    : fail(at('log_slave_updates'), `log_slave_updates is ${updates ?? 'unknown'}: a promoted replica's binlog would miss what it applied`, 'my.cnf: log-slave-updates = ON (restart)'));
  out.push((v['binlog_format'] ?? '').toUpperCase() === 'ROW' ? pass(at('binlog_format'), 'binlog_format ROW')
    : warn(at('binlog_format'), `binlog_format ${v['binlog_format'] ?? 'unknown'}`, 'my.cnf: binlog-format = ROW'));
  if (s.flavor === 'mariadb') {
    out.push(on(v['gtid_strict_mode']) ? pass(at('gtid'), 'gtid_strict_mode on')
      : fail(at('gtid'), 'gtid_strict_mode off: out-of-order GTIDs (errant writes) are accepted silently', 'my.cnf: gtid-strict-mode = ON'));
  } else {
    const ok = (v['gtid_mode'] ?? '').toUpperCase() === 'ON' && on(v['enforce_gtid_consistency']);
    out.push(ok ? pass(at('gtid'), 'gtid_mode ON, enforce_gtid_consistency ON')
      : fail(at('gtid'), `gtid_mode ${v['gtid_mode'] ?? '?'}, enforce_gtid_consistency ${v['enforce_gtid_consistency'] ?? '?'}`, 'my.cnf: gtid-mode = ON, enforce-gtid-consistency = ON'));
  }
  const durable = v['sync_binlog'] === '1' && v['innodb_flush_log_at_trx_commit'] === '1';
  out.push(durable ? pass(at('durability'), 'sync_binlog=1, innodb_flush_log_at_trx_commit=1')
    : warn(at('durability'), `sync_binlog=${v['sync_binlog'] ?? '?'}, innodb_flush_log_at_trx_commit=${v['innodb_flush_log_at_trx_commit'] ?? '?'} (notify sets both on a new master)`, 'my.cnf: sync-binlog = 1, innodb-flush-log-at-trx-commit = 1'));

  const source = either(v, 'rpl_semi_sync_master_enabled', 'rpl_semi_sync_source_enabled');
  const replica = either(v, 'rpl_semi_sync_slave_enabled', 'rpl_semi_sync_replica_enabled');
  if (source === undefined || replica === undefined) {
    out.push(fail(at('semisync_plugins'), `semi-sync ${source === undefined ? 'source' : 'replica'} side not installed`,
      s.flavor === 'mariadb' ? 'MariaDB ≥ 10.3 has it built in: upgrade' : "INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'; INSTALL PLUGIN rpl_semi_sync_replica SONAME 'semisync_replica.so' (and plugin-load-add in my.cnf)"));
  } else {
    out.push(pass(at('semisync_plugins'), 'semi-sync source and replica sides installed'));
  }
  const waitPoint = either(v, 'rpl_semi_sync_master_wait_point', 'rpl_semi_sync_source_wait_point');
  if (waitPoint !== undefined) {
    out.push(waitPoint.toUpperCase() === 'AFTER_SYNC' ? pass(at('wait_point'), 'semi-sync wait point AFTER_SYNC')
      : fail(at('wait_point'), `semi-sync wait point ${waitPoint}: a commit is visible before a replica has it (not lossless)`, 'my.cnf: rpl-semi-sync-master-wait-point = AFTER_SYNC'));
  }
  const timeout = Number(either(v, 'rpl_semi_sync_master_timeout', 'rpl_semi_sync_source_timeout') ?? NaN);
  if (!Number.isNaN(timeout)) {
    out.push(timeout > config.check.deadlineMs ? pass(at('semisync_timeout'), `semi-sync timeout ${timeout} ms above check.deadlineMs ${config.check.deadlineMs} ms`)
      : warn(at('semisync_timeout'), `semi-sync timeout ${timeout} ms is not above check.deadlineMs ${config.check.deadlineMs} ms: the server falls back to async by itself before check-mysql's guard has proved the replica lost`,
        'my.cnf: rpl-semi-sync-master-timeout = 3600000 (a backstop; the guard decides)'));
  }
  const noReplica = either(v, 'rpl_semi_sync_master_wait_no_slave', 'rpl_semi_sync_source_wait_no_replica');
  if (noReplica !== undefined) {
    out.push(/^(on|1)$/i.test(noReplica) ? pass(at('wait_no_slave'), 'semi-sync waits even with no replica connected (the guard decides when to go async)')
      : fail(at('wait_no_slave'), 'semi-sync wait_no_slave is OFF: a master whose replica vanished commits asynchronously by itself, unproved and unrecorded',
        'my.cnf: rpl-semi-sync-master-wait-no-slave = ON'));
  }
  out.push(grantsCheck(s));
  return out.map((f) => ({ ...f, message: `${s.node}: ${f.message}` }));
}

// ALL PRIVILEGES on *.*, or SUPER + PROCESS + a replication monitor privilege on *.*.
function grantsCheck(s: ServerFacts): Finding {
  const global = s.grants.filter((g) => / ON \*\.\* TO /i.test(g)).map((g) => g.toUpperCase());
  if (global.some((g) => g.includes('ALL PRIVILEGES'))) return pass(`${s.node}.grants`, 'toolkit account has ALL PRIVILEGES on *.*');
  const needed: [string, string[]][] = [['SUPER', ['SUPER']], ['PROCESS', ['PROCESS']], ['REPLICATION CLIENT', ['REPLICATION CLIENT', 'BINLOG MONITOR', 'SLAVE MONITOR', 'REPLICA MONITOR']]];
  const missing = needed.filter(([, any]) => !global.some((g) => any.some((p) => g.includes(p)))).map(([name]) => name);
  return missing.length === 0 ? pass(`${s.node}.grants`, 'toolkit account has SUPER, PROCESS and replication monitoring on *.*')
    : fail(`${s.node}.grants`, `toolkit account lacks ${missing.join(', ')} on *.*: it cannot fence, kill sessions or read replication`,
      `GRANT ${missing.join(', ')} ON *.* TO <toolkit user> (on both nodes)`);
}

export function pairChecks(local: ServerFacts, peer: ServerFacts): Finding[] {
  const a = local.variables['server_id'];
  const b = peer.variables['server_id'];
  return [a !== undefined && a === b
    ? fail('pair.server_id', `${local.node} and ${peer.node} share server_id ${a}: replication drops the other's events as its own`, 'my.cnf: a distinct server-id on each node (restart)')
    : pass('pair.server_id', `server ids distinct (${a ?? '?'}, ${b ?? '?'})`)];
}

// my_print_defaults output for the server groups: read_only must be on at start.
export function bootReadOnlyCheck(printDefaults: string, source: string): Finding {
  const opts = printDefaults.split('\n').map((l) => l.trim()).filter((l) => /^--read[-_]only(=|$)/.test(l));
  const last = opts.at(-1);
  const value = last === undefined ? undefined : last.includes('=') ? last.slice(last.indexOf('=') + 1) : 'ON';
  return value !== undefined && on(value)
    ? pass('my.cnf.read_only', `read_only on at start (${source})`)
    : fail('my.cnf.read_only', `read_only ${value === undefined ? 'not set' : `is ${value}`} at start in ${source}: a restarted old master would take writes before notify fences it`,
      'my.cnf [mysqld]: read-only = ON');
}

export function clockSkewCheck(skewMs: number, peer: string): Finding {
  const abs = Math.abs(Math.round(skewMs));
  if (abs <= 250) return pass('pair.clock', `clock skew with ${peer} ${abs} ms`);
  const f = abs > 1000 ? fail : warn;
  return f('pair.clock', `clock skew with ${peer} ${abs} ms: logs, ledgers and lag do not line up`, 'run chrony or systemd-timesyncd on both nodes');
}

/** A keepalived.conf reduced to what doctor checks. */
interface KeepalivedConfFacts {
  readonly globalDefs: readonly string[];
  /** vrrp_script blocks whose script runs check-mysql. */
  readonly checkScripts: readonly { readonly name: string; readonly script: string; readonly timeoutS?: number }[];
  readonly instances: readonly {
    readonly name: string; readonly state?: string; readonly nopreempt: boolean; readonly vrid?: number; readonly notify?: string; readonly tracks: readonly string[];
    /** Its track_file block: names, with the weight given there. */
    readonly trackFiles: readonly TrackRef[];
  }[];
  /** Top-level track_file blocks. */
  readonly trackFiles: readonly (TrackRef & { readonly file?: string })[];
}

interface TrackRef {
  readonly name: string;
  readonly weight?: number;
}

// A small block reader for keepalived.conf: `name [arg] { … }` nesting, comments (# !) stripped, quoted strings kept.
export function parseKeepalivedConf(text: string): KeepalivedConfFacts {
  interface Block { head: string[]; lines: string[][]; children: Block[] }
  const root: Block = { head: [], lines: [], children: [] };
  const stack: Block[] = [root];
  let line: string[] = [];
  // One statement per line in keepalived.conf.
  for (const raw of text.split('\n').map((l) => l.replace(/\s[#!].*$|^\s*[#!].*$/, ''))) {
    const parts = raw.match(/"[^"]*"|\{|\}|[^\s{}"]+/g) ?? [];
    for (const p of parts) {
      const top = stack[stack.length - 1] ?? root;
      if (p === '{') {
        const child: Block = { head: line, lines: [], children: [] };
        top.children.push(child);
        stack.push(child);
        line = [];
      } else if (p === '}') {
        if (line.length > 0) top.lines.push(line);
        line = [];
        if (stack.length > 1) stack.pop();
      } else {
        line.push(p.startsWith('"') ? p.slice(1, -1) : p);
      }
    }
    const top = stack[stack.length - 1] ?? root;
    if (line.length > 0) top.lines.push(line);
    line = [];
  }
  const value = (b: Block, key: string): string | undefined => b.lines.find((l) => l[0] === key)?.slice(1).join(' ');
  const globalDefs = root.children.filter((b) => b.head[0] === 'global_defs').flatMap((b) => b.lines.map((l) => l.join(' ')));
  const checkScripts = root.children.filter((b) => b.head[0] === 'vrrp_script' && (value(b, 'script') ?? '').includes('check-mysql')).map((b) => {
    const t = value(b, 'timeout');
    return { name: b.head[1] ?? '', script: value(b, 'script') ?? '', ...(t !== undefined ? { timeoutS: Number(t) } : {}) };
  });
  const instances = root.children.filter((b) => b.head[0] === 'vrrp_instance').map((b) => {
    const state = value(b, 'state');
    const vrid = value(b, 'virtual_router_id');
    const notify = value(b, 'notify');
    return {
      name: b.head[1] ?? '', nopreempt: b.lines.some((l) => l[0] === 'nopreempt'),
      ...(state !== undefined ? { state } : {}), ...(vrid !== undefined ? { vrid: Number(vrid) } : {}), ...(notify !== undefined ? { notify } : {}),
      tracks: b.children.filter((c) => c.head[0] === 'track_script').flatMap((c) => c.lines.map((l) => l[0] ?? '')),
      trackFiles: b.children.filter((c) => c.head[0] === 'track_file').flatMap((c) => c.lines.map((l) => trackRef(l[0] ?? '', l.slice(1)))),
    };
  });
  const trackFiles = root.children.filter((b) => b.head[0] === 'track_file').map((b) => {
    const file = value(b, 'file');
    return { ...trackRef(b.head[1] ?? '', b.lines.find((l) => l[0] === 'weight') ?? []), ...(file !== undefined ? { file } : {}) };
  });
  return { globalDefs, checkScripts, instances, trackFiles };
}

// `name weight N` in an instance, or the `weight N` line of a track_file block.
function trackRef(name: string, words: readonly string[]): TrackRef {
  const i = words.indexOf('weight');
  const w = i >= 0 ? Number(words[i + 1]) : NaN;
  return { name, ...(Number.isFinite(w) ? { weight: w } : {}) };
}

export function keepalivedChecks(k: KeepalivedConfFacts, path: string, config: Config, peerVrids?: readonly number[]): Finding[] {
  const out: Finding[] = [];
  const id = (s: string): string => `keepalived.${s}`;
  if (k.checkScripts.length === 0) {
    out.push(fail(id('check_script'), `${path}: no vrrp_script runs check-mysql`, 'add vrrp_script chk_mysql { script "<bin>/check-mysql --config <config>" … } (templates/keepalived.conf.tmpl)'));
  }
  for (const s of k.checkScripts) {
    const needS = Math.ceil(config.check.deadlineMs / 1000) + 1;
    out.push(s.timeoutS !== undefined && s.timeoutS * 1000 > config.check.deadlineMs
      ? pass(id(`${s.name}.timeout`), `vrrp_script ${s.name} timeout ${s.timeoutS} s above check.deadlineMs ${config.check.deadlineMs} ms`)
      : fail(id(`${s.name}.timeout`), `vrrp_script ${s.name} timeout ${s.timeoutS === undefined ? 'not set' : `${s.timeoutS} s`} is not above check.deadlineMs ${config.check.deadlineMs} ms: keepalived kills the check mid-retry`,
        `vrrp_script ${s.name} { timeout ${needS} }`));
  }
  if (k.instances.length === 0) out.push(fail(id('instance'), `${path}: no vrrp_instance`, 'see templates/keepalived.conf.tmpl'));
  const fifo = k.globalDefs.some((l) => l.startsWith('vrrp_notify_fifo_script') && l.includes('notify'));
  for (const i of k.instances) {
    out.push((i.state ?? '').toUpperCase() === 'BACKUP' ? pass(id(`${i.name}.state`), `vrrp_instance ${i.name} state BACKUP`)
      : fail(id(`${i.name}.state`), `vrrp_instance ${i.name} state ${i.state ?? 'not set'}: a node starting as MASTER takes the VIP before notify has fenced anything`, `vrrp_instance ${i.name} { state BACKUP }`));
    out.push(i.nopreempt ? pass(id(`${i.name}.nopreempt`), `vrrp_instance ${i.name} nopreempt`)
      : fail(id(`${i.name}.nopreempt`), `vrrp_instance ${i.name} without nopreempt: a returning node takes the VIP back by itself`, `vrrp_instance ${i.name} { nopreempt }`));
    const tracked = k.checkScripts.some((s) => i.tracks.includes(s.name));
    out.push(tracked ? pass(id(`${i.name}.track`), `vrrp_instance ${i.name} tracks check-mysql`)
      : fail(id(`${i.name}.track`), `vrrp_instance ${i.name} does not track the check-mysql script`, `vrrp_instance ${i.name} { track_script { chk_mysql } }`));
    out.push(fifo || (i.notify ?? '').includes('notify') ? pass(id(`${i.name}.notify`), `notify wired (${fifo ? 'vrrp_notify_fifo_script' : 'notify'})`)
      : fail(id(`${i.name}.notify`), `vrrp_instance ${i.name} runs no keepalived-mysql notify`, `vrrp_instance ${i.name} { notify "<bin>/notify --config <config>" } or vrrp_notify_fifo_script in global_defs`));
    if (peerVrids !== undefined) {
      out.push(i.vrid !== undefined && peerVrids.includes(i.vrid) ? pass(id(`${i.name}.vrid`), `virtual_router_id ${i.vrid} on both nodes`)
        : fail(id(`${i.name}.vrid`), `virtual_router_id ${i.vrid ?? 'not set'} here, ${peerVrids.join(', ') || 'none'} on ${config.peer.name}: the nodes are not one VRRP pair`, 'the same virtual_router_id in both keepalived.conf'));
    }
  }
  out.push(k.globalDefs.some((l) => l === 'enable_script_security') ? pass(id('script_security'), 'enable_script_security set')
    : warn(id('script_security'), 'enable_script_security not set: keepalived runs scripts from paths others may write', 'global_defs { enable_script_security; script_user root }'));
  return out;
}

/** The two files a switchover writes for keepalived, what their track_file must be, and what a wrong one costs. */
interface SwitchoverTrack {
  readonly file: string;
  readonly block: string;
  readonly id: 'switchover' | 'takeover';
  readonly fileId: string;
  readonly weight: number;
  readonly weightOk: (w: number | undefined) => boolean;
  /** Why the wiring matters: what a switchover cannot do (or does slower) without it. */
  readonly without: string;
  readonly missing: 'FAIL' | 'WARN';
  /** What a non-zero value left behind does. */
  readonly leftOver: string;
}

const SWITCHOVER_TRACKS: readonly SwitchoverTrack[] = [
  { file: WEIGHT_FILE, block: 'km_switchover', id: 'switchover', fileId: 'files.switchover_weight', weight: 0, weightOk: (w) => w === 0, missing: 'FAIL',
    without: 'switchover cannot hold this node out of the race', leftOver: 'this node is held out of the VRRP race (FAULT)' },
  // A weight of 0 would turn the lift into FAULT on the target, a negative one would lower it.
  { file: TAKEOVER_FILE, block: 'km_takeover', id: 'takeover', fileId: 'files.switchover_takeover', weight: 254, weightOk: (w) => w !== undefined && w > 0, missing: 'WARN',
    without: 'a switchover hands over after the VRRP skew time, (256 - priority)/256 s, instead of 8 ms',
    leftOver: "this node's VRRP priority is lifted to 254: in a failover it takes over before the master's own fence has run" },
];

/**
 * keepalived-mysql switchover drives keepalived through two files in <stateDir>: switchover.weight (weight 0: a 1 is
 * FAULT at once) holds the master out, switchover.takeover (weight 254) lifts the target for the hand-over. Each
 * instance must track both, and both must read 0 when no switchover runs (a 1 left behind stays: init_file does not
 * overwrite it at a restart).
 */
export function switchoverTrackChecks(k: KeepalivedConfFacts, path: string, config: Config, read: (file: string) => string | undefined): Finding[] {
  return SWITCHOVER_TRACKS.flatMap((t) => {
    const file = posix.join(config.paths.stateDir, t.file);
    const blocks = k.trackFiles.filter((b) => b.file !== undefined && posix.normalize(b.file) === file);
    const report = t.missing === 'FAIL' ? fail : warn;
    const fix = `track_file ${t.block} { file "${file}"; weight ${t.weight}; init_file 0 } and in each vrrp_instance track_file { ${t.block} weight ${t.weight} } ` +
      '(templates/keepalived.conf.tmpl)';
    const wired = k.instances.map((i) => {
      const id = `keepalived.${i.name}.${t.id}`;
      const ref = i.trackFiles.find((r) => blocks.some((b) => b.name === r.name));
      if (ref === undefined) {
        return report(id, blocks.length === 0 ? `${path}: no track_file reads ${file}: ${t.without}`
          : `vrrp_instance ${i.name} does not track ${blocks.map((b) => b.name).join(', ')} (${file}): ${t.without}`, fix);
      }
      const weight = ref.weight ?? blocks.find((b) => b.name === ref.name)?.weight;
      return t.weightOk(weight) ? pass(id, `vrrp_instance ${i.name} tracks ${file} (track_file ${ref.name}) with weight ${weight ?? '?'}`)
        : fail(id, `vrrp_instance ${i.name} tracks ${file} with weight ${weight ?? 'not set'}, not ${t.weight}`, `vrrp_instance ${i.name} { track_file { ${ref.name} weight ${t.weight} } }`);
    });
    if (blocks.length === 0) return wired;
    const text = read(file);
    const value = text?.trim();
    const id = t.fileId;
    return [...wired, value === '0' ? pass(id, `${file} reads 0 (no switchover running)`)
      : fail(id, text === undefined ? `${file} is missing or unreadable: keepalived creates it with init_file 0 when it starts with this wiring`
        : `${file} reads ${JSON.stringify(value)}: ${t.leftOver}, by a switchover still running or one that died`,
      text === undefined ? 'start keepalived with the rendered keepalived.conf (track_file … init_file 0)' : `unless a switchover is running: echo 0 > ${file}`)];
  });
}

/**
 * The fast profile: keepalived tracks <stateDir>/check.down, which only a running `keepalived-mysql watch` keeps true.
 * A watcher that does not beat leaves the file at its last value (check-mysql is then the only detection).
 */
export function watchChecks(k: KeepalivedConfFacts, config: Config, beatMs: number | undefined, now: number, trackValue: string | undefined): Finding[] {
  const file = posix.join(config.paths.stateDir, CHECK_DOWN_FILE);
  const beat = posix.join(config.paths.stateDir, WATCH_BEAT_FILE);
  const tracked = k.trackFiles.some((b) => b.file !== undefined && posix.normalize(b.file) === file);
  const fresh = beatIsFresh(beatMs, now, config.check);
  const unit = 'systemctl enable --now keepalived-mysql-watch (templates/keepalived-mysql-watch.service)';
  if (!tracked) {
    return fresh ? [warn('watch.wired', `keepalived-mysql watch beats (${beat}) but no track_file reads ${file}: its verdicts reach nobody`,
      'render keepalived.conf from templates/keepalived-fast.conf.tmpl, or stop the watcher')] : [];
  }
  const ago = beatMs === undefined ? 'never' : `${Math.round(now - beatMs)} ms ago`;
  return [fresh
    ? pass('watch.beat', `keepalived-mysql watch beats (last round ended ${ago}); ${file} reads ${trackValue ?? 'nothing'}`)
    : fail('watch.beat', `keepalived tracks ${file} but no watcher beats (${beat}: ${ago}): the file keeps ${trackValue ?? 'nothing'}; only check-mysql detects a failure`, unit)];
}

export function exitFor(findings: readonly Finding[]): 'ok' | 'fail' {
  return findings.some((f) => f.level === 'FAIL') ? 'fail' : 'ok';
}
