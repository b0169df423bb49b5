import { open, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { AppError } from '../errors.js';
import { writePrivate } from '../mysql/binlog-applier.js';
import { writeFileAtomic } from '../platform/atomic-write.js';
import { binlogsFromIndex, walkBinlog, type RandomAccessFile } from '../ssh/binlog-tail.js';
import type { BinlogGroup } from '../ssh/types.js';
import { formatRange, inRanges, type ErrantRange } from './gtid-sets.js';

const BINLOG_MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
// Errant tails are a handful of transactions; more than this is not a tail to rewind but a node to rebuild.
const MAX_SAVED_TRANSACTIONS = 100_000;

/** Errant transactions found in one local binlog: its format description and their groups, in file order. */
export interface ErrantChunk {
  readonly sourceFile: string;
  readonly formatDescriptionEnd: number;
  readonly groups: readonly BinlogGroup[];
}

export interface LocatedErrant {
  readonly chunks: readonly ErrantChunk[];
  /** Errant GTIDs expected but not found in the local binlogs (purged): they cannot be saved. */
  readonly missing: number;
  readonly found: number;
  /** Timestamp (unix ms) of the oldest errant transaction's GTID event. */
  readonly firstWrittenAtMs?: number;
  /** Errant GTIDs logged as statements (DDL, standalone): mariadb-binlog --flashback skips them silently. */
  readonly statements: readonly string[];
}

function localFile(path: string): { file: RandomAccessFile; close: () => Promise<void> } {
  const fh = open(path, 'r');
  return {
    file: {
      size: async () => (await (await fh).stat()).size,
      read: async (offset, length) => {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await (await fh).read(buf, 0, length, offset);
        return buf.subarray(0, bytesRead);
      },
    },
    close: async () => { await (await fh).close(); },
  };
}

const countRanges = (ranges: readonly ErrantRange[]): bigint => ranges.reduce((n, r) => n + (r.to - r.from + 1n), 0n);

/** Walks this node's binlogs newest first until every errant GTID is found (or the oldest binlog was walked). */
export async function locateErrant(indexFile: string, ranges: readonly ErrantRange[], signal: AbortSignal): Promise<LocatedErrant> {
  const expected = countRanges(ranges);
  if (expected > BigInt(MAX_SAVED_TRANSACTIONS)) {
    return { chunks: [], missing: Number(expected), found: 0, statements: [] };
  }
  const index = await readFile(indexFile, 'utf8');
  const files = binlogsFromIndex(index, indexFile).map((f) => (isAbsolute(f) ? f : join(dirname(indexFile), basename(f))));
  const chunks: ErrantChunk[] = [];
  const statements: string[] = [];
  let found = 0;
  for (const path of [...files].reverse()) {
    if (BigInt(found) >= expected) break;
    const { file, close } = localFile(path);
    try {
      const tail = await walkBinlog(file, path, signal);
      if (tail.groups === undefined || tail.formatDescriptionEnd === undefined) {
        throw new AppError('FAILOVER_STEP_FAILED', `${path}: too many transactions to list; save the errant ones by rebuilding instead`);
      }
      const groups = tail.groups.filter((g) => g.gtid !== undefined && inRanges(ranges, g.gtid));
      if (groups.length > 0) chunks.unshift({ sourceFile: path, formatDescriptionEnd: tail.formatDescriptionEnd, groups });
      for (const g of groups) if ((await gtidFlags(file, g.start)) & (FL_STANDALONE | FL_DDL)) statements.push(g.gtid ?? '?');
      found += groups.length;
    } finally {
      await close();
    }
  }
  const oldest = chunks[0];
  const firstWrittenAtMs = oldest?.groups[0] === undefined ? undefined : await eventTimestampMs(oldest.sourceFile, oldest.groups[0].start);
  return { chunks, statements, missing: Math.max(0, Number(expected) - found), found, ...(firstWrittenAtMs !== undefined ? { firstWrittenAtMs } : {}) };
}

// MariaDB GTID event: 19-byte header, then seq_no (8), domain_id (4), flags2 (1).
const GTID_FLAGS_OFFSET = 19 + 8 + 4;
const FL_STANDALONE = 0x01;
const FL_DDL = 0x20;
async function gtidFlags(file: RandomAccessFile, groupStart: number): Promise<number> {
  return (await file.read(groupStart + GTID_FLAGS_OFFSET, 1))[0] ?? 0xff;
}

// A v4 event header starts with its timestamp (uint32 LE, seconds).
async function eventTimestampMs(path: string, at: number): Promise<number> {
  const { file, close } = localFile(path);
  try {
    return (await file.read(at, 4)).readUInt32LE(0) * 1000;
  } finally {
    await close();
  }
}

/** Rendering of saved binlogs with MariaDB's own tool: `replay` (mariadb-binlog FILE…) or `readable` (-v, rows decoded). */
export interface BinlogRenderer {
  render(files: readonly string[], out: string, form: 'replay' | 'readable', signal: AbortSignal): Promise<void>;
}

export interface SaveManifest {
  readonly savedAt: string;
  readonly node: string;
  readonly reason: string;
  /** Errant GTID ranges (this node vs the new master), and every saved GTID one by one. */
  readonly errant: readonly string[];
  readonly gtids: readonly string[];
  /** Errant GTIDs that may have been acknowledged to a client (committed during a recorded async span). */
  readonly maybeAcknowledged: readonly string[];
  readonly localBinlogState: string;
  readonly newMaster: { readonly host: string; readonly binlogState: string };
  readonly files: readonly { readonly file: string; readonly source: string; readonly gtids: readonly string[] }[];
  readonly replaySql: string;
  readonly readableSql: string;
  /** What happens to them next on this node, written before it happens. */
  readonly discard: { readonly method: 'flashback' | 'rebuild'; readonly resetMaster: boolean; readonly note: string };
}

export interface SavedTail {
  readonly dir: string;
  readonly manifest: SaveManifest;
}

// A directory name from the ranges: "0-1-4..0-1-6" → "0-1-4_0-1-6", joined by "+", bounded.
function savedDirName(at: Date, ranges: readonly ErrantRange[]): string {
  const stamp = at.toISOString().replace(/[:.]/g, '').replace('T', '-');
  const gtids = ranges.map(formatRange).join('+').replace(/\.\./g, '_').slice(0, 120);
  return `${stamp}-${gtids}`;
}

/**
 * Saves the errant transactions into stateDir/saved/<time>-<gtids>/: one binlog per source file holding exactly
 * those events (magic + format description + their groups, as cut from this node's binlog), their replayable
 * (mariadb-binlog) and readable (-v, rows decoded) SQL, and manifest.json. The manifest is written last.
 */
export async function saveErrant(args: {
  stateDir: string; at: Date; node: string; ranges: readonly ErrantRange[]; located: LocatedErrant; renderer: BinlogRenderer;
  manifest: Pick<SaveManifest, 'reason' | 'maybeAcknowledged' | 'localBinlogState' | 'newMaster' | 'discard'>; signal: AbortSignal;
}): Promise<SavedTail> {
  const { located } = args;
  if (located.missing > 0) {
    throw new AppError('FAILOVER_STEP_FAILED', `${located.missing} errant transaction(s) are not in this node's binlogs (purged?): ` +
      'they cannot be saved, so nothing is discarded');
  }
  const dir = join(args.stateDir, 'saved', savedDirName(args.at, args.ranges));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files: SaveManifest['files'][number][] = [];
  for (const [i, c] of located.chunks.entries()) {
    const { file, close } = localFile(c.sourceFile);
    try {
      const parts = [BINLOG_MAGIC, await file.read(4, c.formatDescriptionEnd - 4)];
      for (const g of c.groups) parts.push(await file.read(g.start, g.end - g.start));
      const name = `events-${String(i).padStart(3, '0')}.binlog`;
      await writePrivate(join(dir, name), Buffer.concat(parts));
      files.push({ file: name, source: c.sourceFile, gtids: c.groups.map((g) => g.gtid ?? '') });
    } finally {
      await close();
    }
  }
  const binlogs = files.map((f) => join(dir, f.file));
  await args.renderer.render(binlogs, join(dir, 'replay.sql'), 'replay', args.signal);
  await args.renderer.render(binlogs, join(dir, 'readable.sql'), 'readable', args.signal);
  const manifest: SaveManifest = {
    savedAt: args.at.toISOString(),
    node: args.node,
    errant: args.ranges.map(formatRange),
    gtids: files.flatMap((f) => f.gtids),
    files,
    replaySql: 'replay.sql',
    readableSql: 'readable.sql',
    ...args.manifest,
  };
  await writeFileAtomic(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, 0o600);
  return { dir, manifest };
}
