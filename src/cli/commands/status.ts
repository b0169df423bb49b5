import { readFileSync } from 'node:fs';
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { KEEPALIVED_COMM } from '../../keepalived/pidfile.js';
import { mysql2Connector } from '../../mysql/mysql2-client.js';
import { deadline } from '../../platform/deadline.js';
import { canonicalIp, localAddresses } from '../../platform/ip.js';
import { readPidFile, readProcess } from '../../platform/procfs.js';
import { gatherStatus, type StatusPorts } from '../../status/gather.js';
import type { NodeView, PairStatus } from '../../status/model.js';
import { STATUS_EXIT, type ExitCode } from '../exit-codes.js';

export interface StatusOptions {
  readonly config: string;
  readonly json?: boolean;
}

// `keepalived-mysql status`: both nodes side by side and one verdict; exit code in the Nagios convention.
export async function statusMain(opts: StatusOptions, io: { stdout(text: string): void }): Promise<ExitCode> {
  const status = await readPairStatus(loadConfig(opts.config));
  io.stdout(opts.json === true ? `${JSON.stringify(status)}\n` : formatStatus(status));
  return STATUS_EXIT[status.verdict];
}

// The pair as status and metrics see it, bounded by the MySQL and SSH timeouts of the config.
export function readPairStatus(config: Config): Promise<PairStatus> {
  const ssh = config.peer.ssh;
  const overall = 2 * (config.mysql.connectTimeoutMs + 4 * config.mysql.queryTimeoutMs) + ssh.connectTimeoutMs + ssh.commandTimeoutMs;
  return gatherStatus(config, vipOf(config), realPorts(config), deadline(overall));
}

function realPorts(config: Config): StatusPorts {
  return {
    sql: mysql2Connector,
    peerFiles: async () => (await import('../../ssh/ssh2-peer-files.js')).ssh2PeerFilesConnector,
    localAddresses,
    keepalived: () => keepalivedAlive(config),
    now: () => new Date(),
  };
}

// keepalived's pid file names a live keepalived.
export function keepalivedAlive(config: Config): { running: boolean; detail: string } {
  const read = readPidFile(config.paths.keepalivedPidFile);
  if (!read.ok) return { running: false, detail: read.why };
  const p = readProcess(read.pid);
  if (p === undefined) return { running: false, detail: `pid ${read.pid} from ${config.paths.keepalivedPidFile} is not running` };
  if (p.comm !== KEEPALIVED_COMM) return { running: false, detail: `pid ${read.pid} from ${config.paths.keepalivedPidFile} is ${p.comm}` };
  return { running: true, detail: `pid ${read.pid}` };
}

// heal.vip, else the first virtual_ipaddress of keepalived.confFile, else none.
function vipOf(config: Config): string | null {
  if (config.heal.vip !== undefined) return canonicalIp(config.heal.vip);
  let text: string;
  try {
    text = readFileSync(config.keepalived.confFile, 'utf8');
  } catch {
    return null;
  }
  const found = firstVirtualIp(text);
  return found === undefined ? null : canonicalIp(found);
}

export function firstVirtualIp(keepalivedConf: string): string | undefined {
  const withoutComments = keepalivedConf.replace(/[#!].*$/gm, '');
  return /virtual_ipaddress\s*\{\s*([0-9A-Fa-f.:]+)/.exec(withoutComments)?.[1];
}

const yesNo = (v: boolean | undefined): string => (v === undefined ? '-' : v ? 'ON' : 'OFF');

function column(n: NodeView): Map<string, string> {
  const rows = new Map<string, string>();
  const m = n.mysql;
  rows.set('read via', n.source === 'none' ? `nothing (${n.errors.join('; ')})` : n.source === 'ssh' ? `SSH (${n.errors.join('; ')})` : `MySQL ${n.host}:${n.port}`);
  if (n.keepalived !== undefined) rows.set('keepalived', n.keepalived.running ? `running (${n.keepalived.detail})` : `NOT RUNNING (${n.keepalived.detail})`);
  if (n.vipLocal !== undefined) rows.set('VIP here', n.vipLocal ? 'yes' : 'no');
  if (m !== null) {
    rows.set('writes', m.writable ? 'WRITABLE' : `read-only${m.superReadOnly === true ? ' (super)' : ''}`);
    rows.set('server', `${m.flavor} ${m.version}, server_id ${m.serverId}`);
    const r = m.replication;
    rows.set('replication', r === null ? 'none'
      : `from ${r.sourceHost}:${r.sourcePort}, IO ${r.ioRunning}, SQL ${r.sqlRunning}, ${r.secondsBehind === null ? 'lag unknown' : `${r.secondsBehind} s behind`}`);
    if (r !== null && (r.lastIoError || r.lastSqlError)) rows.set('replication error', [r.lastIoError, r.lastSqlError].filter(Boolean).join('; '));
    const s = m.semiSync;
    rows.set('semi-sync source', s.sourceEnabled === undefined ? 'not installed'
      : `${yesNo(s.sourceEnabled)}, ${s.sourceActive === true ? 'active' : 'inactive'}, ${s.clients ?? 0} clients, ${s.waitPoint ?? '?'}, no_tx ${s.noTx ?? '?'}`);
    rows.set('semi-sync replica', s.replicaEnabled === undefined ? 'not installed' : `${yesNo(s.replicaEnabled)}, ${s.replicaActive === true ? 'active' : 'inactive'}`);
    rows.set('GTID', m.gtidPosition || '(none)');
    rows.set('transactions', m.transactions === null ? 'unknown (no PROCESS privilege?)' : `${m.transactions.open} open, ${m.transactions.olderThan60s} over 60 s`);
  }
  const f = n.files;
  if (f.position !== undefined) rows.set('position.json', `${String(f.position['role'])} at ${String(f.position['recordedAt'])}, ${String(f.position['gtidBinlogPos'] ?? '')}`);
  if (f.term !== undefined) rows.set('term', `${String(f.term['term'])} held by ${String(f.term['node'])} since ${String(f.term['since'])}`);
  if (f.lastAsyncSwitch !== undefined) rows.set('last async switch', `${String(f.lastAsyncSwitch['at'])} at ${String(f.lastAsyncSwitch['gtidBinlogPos'])}: ${String(f.lastAsyncSwitch['reason'])}`);
  if (f.stepdown !== undefined) rows.set('stepped down', `by ${String(f.stepdown['by'])} in term ${String(f.stepdown['term'])}: ${String(f.stepdown['reason'])}`);
  return rows;
}

function formatStatus(s: PairStatus): string {
  const left = column(s.local);
  const right = column(s.peer);
  const labels = [...new Set([...left.keys(), ...right.keys()])];
  const lw = Math.max(...labels.map((l) => l.length)) + 2;
  const cw = Math.max(24, ...[...left.values()].map((v) => Math.min(v.length, 60))) + 2;
  const lines = [`${s.local.name} + ${s.peer.name}: ${s.verdict}${s.reasons.length > 0 ? `: ${s.reasons[0]}` : ''}`];
  for (const r of s.reasons.slice(1)) lines.push(`  also: ${r}`);
  lines.push(`VIP: ${s.vip.address ?? 'none'}${s.vip.address !== null ? ` (${s.vip.detail})` : ''}`);
  lines.push('', `${''.padEnd(lw)}${`${s.local.name} (this node)`.padEnd(cw)}${s.peer.name} (peer)`);
  for (const l of labels) lines.push(`${l.padEnd(lw)}${(left.get(l) ?? '-').padEnd(cw)}${right.get(l) ?? '-'}`);
  const e = s.errant;
  lines.push('', e.localOnly === null
    ? `errant: ${e.method}`
    : `GTIDs only on ${s.local.name}: ${e.localOnly.join(',') || 'none'}; only on ${s.peer.name}: ${e.peerOnly === null ? 'unknown' : e.peerOnly.join(',') || 'none'} (${e.method})`);
  for (const n of [s.local, s.peer]) {
    for (const t of n.files.lastTransitions ?? []) {
      lines.push(`  ${n.name} ${String(t['startedAt'])} ${String(t['state'])} ${String(t['outcome']).toUpperCase()} ${String(t['durationMs'])} ms (${String(t['trigger'])})`);
    }
    for (const w of n.files.warnings ?? []) lines.push(`  warning: ${w}`);
  }
  return `${lines.join('\n')}\n`;
}
