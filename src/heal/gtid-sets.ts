import { formatMariaGtidList, parseMariaGtidList, type MariaGtid } from '../failover/gtid.js';

// MariaDB GTID arithmetic for healing, over gtid_binlog_state strings (last seq of every server in every domain).

const key = (domain: number, server: number): string => `${domain}-${server}`;

/** What this node holds beyond the peer: per (domain, server), seqs in (peerSeq, localSeq]. */
export interface ErrantRange {
  readonly domain: number;
  readonly server: number;
  /** First errant seq (the peer's seq + 1, or 1 when the peer never saw this server in this domain). */
  readonly from: bigint;
  readonly to: bigint;
}

export function errantRanges(localState: string, peerState: string): ErrantRange[] {
  const theirs = new Map(parseMariaGtidList(peerState).map((g) => [key(g.domain, g.server), g.seq]));
  return parseMariaGtidList(localState).flatMap((g) => {
    const have = theirs.get(key(g.domain, g.server)) ?? 0n;
    return g.seq > have ? [{ domain: g.domain, server: g.server, from: have + 1n, to: g.seq }] : [];
  });
}

export const formatRange = (r: ErrantRange): string =>
  r.from === r.to ? `${r.domain}-${r.server}-${r.to}` : `${r.domain}-${r.server}-${r.from}..${r.domain}-${r.server}-${r.to}`;

/** True when "d-s-n" falls in one of the ranges. */
export function inRanges(ranges: readonly ErrantRange[], gtid: string): boolean {
  const [g] = parseMariaGtidList(gtid);
  return g !== undefined && ranges.some((r) => r.domain === g.domain && r.server === g.server && g.seq >= r.from && g.seq <= r.to);
}

/** The local binlog state without the errant ranges: what both nodes hold (per (domain, server), the lower seq). */
export function commonState(localState: string, peerState: string): string {
  const theirs = new Map(parseMariaGtidList(peerState).map((g) => [key(g.domain, g.server), g.seq]));
  const kept: MariaGtid[] = parseMariaGtidList(localState).flatMap((g) => {
    const have = theirs.get(key(g.domain, g.server));
    if (have === undefined) return [];
    return [{ ...g, seq: g.seq < have ? g.seq : have }];
  });
  return formatMariaGtidList(kept);
}

/** Per domain, the GTID with the highest seq of a state (strict mode keeps seqs increasing within a domain). */
export function positionOfState(state: string): string {
  const best = new Map<number, MariaGtid>();
  for (const g of parseMariaGtidList(state)) {
    const cur = best.get(g.domain);
    if (cur === undefined || g.seq > cur.seq) best.set(g.domain, g);
  }
  return formatMariaGtidList([...best.values()]);
}

/**
 * A rewind can undo the errant transactions only when they are the end of each domain: every errant seq is above
 * every seq both nodes share in that domain (gtid_strict_mode keeps seqs increasing). Returns the offending domains.
 */
export function domainsNotEndingInErrant(localState: string, peerState: string): number[] {
  const ranges = errantRanges(localState, peerState);
  const common = parseMariaGtidList(commonState(localState, peerState));
  const bad = new Set<number>();
  for (const r of ranges) {
    if (common.some((g) => g.domain === r.domain && g.seq >= r.from)) bad.add(r.domain);
  }
  return [...bad].sort((a, b) => a - b);
}
