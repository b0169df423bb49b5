import { AppError } from '../errors.js';

/** One MariaDB GTID: domain-server-seq. seq is a 64-bit counter, kept exact as bigint. */
export interface MariaGtid {
  readonly domain: number;
  readonly server: number;
  readonly seq: bigint;
}

// Parses a MariaDB GTID list ("0-1-10,1-2-5"; empty string = none).
export function parseMariaGtidList(text: string): MariaGtid[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  return trimmed.split(',').map((part) => {
    const m = /^\s*(\d+)-(\d+)-(\d+)\s*$/.exec(part);
    if (!m) throw new AppError('MYSQL_QUERY_FAILED', `not a MariaDB GTID: ${JSON.stringify(part)}`);
    return { domain: Number(m[1]), server: Number(m[2]), seq: BigInt(m[3] ?? '0') };
  });
}

export const formatMariaGtid = (g: MariaGtid): string => `${g.domain}-${g.server}-${g.seq}`;

export function formatMariaGtidList(list: readonly MariaGtid[]): string {
  return [...list].sort((a, b) => a.domain - b.domain || a.server - b.server).map(formatMariaGtid).join(',');
}

/** What the new master is known to hold: its gtid_binlog_state (exact), or only its gtid_binlog_pos (last GTID per domain). */
export type PeerGtids =
  | { readonly kind: 'state'; readonly binlogState: string }
  | { readonly kind: 'pos'; readonly binlogPos: string };

export interface ErrantCheck {
  /** GTID ranges this node holds that the peer lacks, e.g. "0-1-11..0-1-12". Empty: safe to rejoin. */
  readonly errant: readonly string[];
  /** Entries that could not be proven present on the peer (only its last GTID per domain was known). */
  readonly unproven: readonly string[];
}

/**
 * MariaDB errant-transaction check, per (domain, server): gtid_binlog_state keeps the last seq of every
 * server in every domain, and one server's GTIDs reach a replica in order, so a local (d, s, n) is in the
 * peer iff the peer's entry for (d, s) is ≥ n. Comparing per domain only (gtid_binlog_pos) is wrong: a crashed
 * master's un-acked 0-1-11 looks "behind" a new master at 0-2-12 although the new master never had it.
 */
export function mariaErrantCheck(localBinlogState: string, peer: PeerGtids): ErrantCheck {
  const local = parseMariaGtidList(localBinlogState);
  const errant: string[] = [];
  const unproven: string[] = [];
  if (peer.kind === 'state') {
    const theirs = new Map(parseMariaGtidList(peer.binlogState).map((g) => [`${g.domain}-${g.server}`, g.seq]));
    for (const g of local) {
      const have = theirs.get(`${g.domain}-${g.server}`);
      if (have === undefined) errant.push(`${g.domain}-${g.server}-1..${formatMariaGtid(g)}`);
      else if (g.seq > have) errant.push(`${g.domain}-${g.server}-${have + 1n}..${formatMariaGtid(g)}`);
    }
    return { errant, unproven };
  }
  // Only the peer's last GTID per domain is known: a local entry is proven present only when that last GTID
  // comes from the same server with a seq at least as high; anything else cannot be decided.
  const lastByDomain = new Map(parseMariaGtidList(peer.binlogPos).map((g) => [g.domain, g]));
  for (const g of local) {
    const last = lastByDomain.get(g.domain);
    if (last === undefined) errant.push(`${g.domain}-${g.server}-1..${formatMariaGtid(g)}`);
    else if (last.server === g.server && last.seq >= g.seq) continue;
    else if (last.seq < g.seq) errant.push(`${formatMariaGtid(g)} (peer's domain ${g.domain} ends at ${formatMariaGtid(last)})`);
    else unproven.push(formatMariaGtid(g));
  }
  return { errant, unproven };
}

// Per domain, the GTID with the higher seq: where a node that was master must resume as a slave_pos replica.
export function mergeMariaPositions(...positions: readonly string[]): string {
  const best = new Map<number, MariaGtid>();
  for (const text of positions) {
    for (const g of parseMariaGtidList(text)) {
      const cur = best.get(g.domain);
      if (cur === undefined || g.seq > cur.seq) best.set(g.domain, g);
    }
  }
  return formatMariaGtidList([...best.values()]);
}

// True when every domain of `target` is reached by `applied` (MASTER_GTID_WAIT's own rule: seq per domain).
export function mariaPositionReached(applied: string, target: string): boolean {
  const have = new Map(parseMariaGtidList(applied).map((g) => [g.domain, g.seq]));
  return parseMariaGtidList(target).every((g) => (have.get(g.domain) ?? -1n) >= g.seq);
}
