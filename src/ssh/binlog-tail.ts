import { posix } from 'node:path';
import { AppError } from '../errors.js';
import { throwIfAborted } from '../platform/deadline.js';
import type { BinlogGroup, BinlogTail } from './types.js';

// Finds where a binlog really ends by walking v4 event headers (19 bytes each), reading large chunks and
// skipping event bodies, except the few bytes needed from format-description, GTID and query events.

/** Positioned reads of one (remote) file. */
export interface RandomAccessFile {
  size(): Promise<number>;
  /** Up to length bytes at offset; fewer only at end of file. */
  read(offset: number, length: number): Promise<Buffer>;
}

export interface WalkOptions {
  /** Bytes per read while events are small. */
  readonly chunkBytes?: number;
  /** Stop with an error after this many events (a second bound beside the signal). */
  readonly maxEvents?: number;
  /** A known event start to walk from instead of the first event; ignored unless a valid header is there. */
  readonly startPos?: number;
}

export const BINLOG_CHUNK_BYTES = 256 * 1024;
export const BINLOG_MAX_EVENTS = 20_000_000;
// Group boundaries are kept for the tail a replica lacks; a walk over more groups than this stops listing them.
export const BINLOG_MAX_GROUPS = 100_000;
const HEADER = 19;
// After an event larger than a chunk the next header is read with a small probe, not a whole chunk.
const PROBE_BYTES = 16 * 1024;

const EV = {
  QUERY: 2,
  FORMAT_DESCRIPTION: 15,
  XID: 16,
  MYSQL_GTID: 33,
  MYSQL_ANONYMOUS_GTID: 34,
  XA_PREPARE: 38,
  MYSQL_GTID_TAGGED: 42,
  MARIADB_GTID: 162,
  MARIADB_START_ENCRYPTION: 164,
} as const;
const MARIADB_FL_STANDALONE = 0x01;
const CHECKSUM_ALG_CRC32 = 1;

/** The binlogs named in an index file, in order; relative entries (`./mysql-bin.000003`) resolve against the index's directory. */
export function binlogsFromIndex(indexText: string, indexPath: string): string[] {
  return indexText.split('\n').map((l) => l.trim()).filter((l) => l !== '')
    .map((e) => (posix.isAbsolute(e) ? posix.normalize(e) : posix.join(posix.dirname(indexPath), e)));
}

/** The last binlog named in an index file. */
export function lastBinlogFromIndex(indexText: string, indexPath: string): string {
  const last = binlogsFromIndex(indexText, indexPath).at(-1);
  if (last === undefined) throw new AppError('SSH_FAILED', `binlog index ${indexPath} lists no binlog`);
  return last;
}

// Where the last event group stands: GTID groups count in lastGtid only once their commit is complete.
type GroupState = 'none' | 'awaitFirst' | 'awaitSingle' | 'inTrx';

/** Walks the binlog from offset 4 to the last complete event; bytes after it are torn. */
export async function walkBinlog(file: RandomAccessFile, path: string, signal: AbortSignal,
                                 opts: WalkOptions = {}): Promise<BinlogTail> {
  const chunkBytes = opts.chunkBytes ?? BINLOG_CHUNK_BYTES;
  const maxEvents = opts.maxEvents ?? BINLOG_MAX_EVENTS;
  const size = await file.size();
  const reader = new ChunkReader(file, size, signal, path);
  if (size < 4) return { file: path, endPos: 0, tornBytes: size };
  const magic = await reader.bytes(0, 4, chunkBytes);
  if (magic[0] === 0xfd && magic.subarray(1).toString('latin1') === 'bin') {
    throw new AppError('SSH_FAILED', `${path} is an encrypted MySQL binlog; its events cannot be walked`);
  }
  if (magic[0] !== 0xfe || magic.subarray(1).toString('latin1') !== 'bin') {
    throw new AppError('SSH_FAILED', `${path} is not a binlog (magic ${magic.toString('hex')})`);
  }

  let pos = 4;
  let events = 0;
  let readAhead = chunkBytes;
  let checksumLen = 0;
  let lastTs: number | undefined;
  let lastGtid: string | undefined;
  let pending: string | undefined;
  let group: GroupState = 'none';
  let walkedFrom = 4;
  let formatDescriptionEnd: number | undefined;
  let groupStart = 0;
  let groups: BinlogGroup[] | undefined = [];

  while (size - pos >= HEADER) {
    if (++events > maxEvents) {
      throw new AppError('SSH_FAILED', `${path}: more than ${maxEvents} events; walk stopped at offset ${pos}`);
    }
    if (events % 4096 === 0) throwIfAborted(signal, `walking ${path} at offset ${pos}`);
    const h = await reader.bytes(pos, HEADER, readAhead);
    const ts = h.readUInt32LE(0);
    const type = h[4] ?? 0;
    const serverId = h.readUInt32LE(5);
    const evSize = h.readUInt32LE(9);
    // A torn or garbage tail: the size runs past EOF, or the header's own end offset disagrees.
    if (!plausibleHeader(h, pos, size)) break;

    if (pos === 4) {
      if (type !== EV.FORMAT_DESCRIPTION) {
        throw new AppError('SSH_FAILED', `${path}: first event has type ${type}, not a format description`);
      }
      checksumLen = await formatChecksumLen(reader, pos, evSize, readAhead, path);
      lastTs = ts;
      pos += evSize;
      formatDescriptionEnd = pos;
      // The format description is always read (checksums); then jump to the hint when a real event starts there.
      const start = opts.startPos;
      if (start !== undefined && start > pos && start <= size
          && (start === size || (size - start >= HEADER && plausibleHeader(await reader.bytes(start, HEADER, readAhead), start, size)))) {
        pos = walkedFrom = start;
        lastTs = undefined;
      }
      continue;
    } else if (type === EV.MARIADB_START_ENCRYPTION) {
      throw new AppError('SSH_FAILED', `${path} is an encrypted MariaDB binlog; its events cannot be walked`);
    } else if (type === EV.MARIADB_GTID && evSize >= HEADER + 13) {
      const b = await reader.bytes(pos, HEADER + 13, readAhead);
      pending = `${b.readUInt32LE(HEADER + 8)}-${serverId}-${b.readBigUInt64LE(HEADER)}`;
      groupStart = pos;
      group = ((b[HEADER + 12] ?? 0) & MARIADB_FL_STANDALONE) !== 0 ? 'awaitSingle' : 'inTrx';
    } else if (type === EV.MYSQL_GTID && evSize >= HEADER + 25) {
      const b = await reader.bytes(pos, HEADER + 25, readAhead);
      pending = `${formatUuid(b.subarray(HEADER + 1, HEADER + 17))}:${b.readBigInt64LE(HEADER + 17)}`;
      group = 'awaitFirst';
      groupStart = pos;
    } else if (type === EV.MYSQL_ANONYMOUS_GTID || type === EV.MYSQL_GTID_TAGGED) {
      // A group without a GTID this walk can decode: it must not leave an older GTID as "last".
      pending = undefined;
      group = 'awaitFirst';
      groupStart = pos;
    } else if (group !== 'none') {
      let complete = false;
      if (group === 'awaitSingle' || type === EV.XID || type === EV.XA_PREPARE) {
        complete = true;
      } else if (type === EV.QUERY) {
        const q = await queryPrefix(reader, pos, evSize, checksumLen, readAhead);
        if (group === 'awaitFirst') {
          // MySQL: BEGIN opens a transaction; any other first statement is DDL, complete by itself.
          if (/^BEGIN\b/.test(q)) group = 'inTrx';
          else complete = true;
        } else {
          complete = /^(COMMIT|XA COMMIT|XA ROLLBACK)\b/.test(q) || /^ROLLBACK(?!\s+TO)\b/.test(q);
        }
      }
      if (complete) {
        if (groups !== undefined) {
          groups.push({ start: groupStart, end: pos + evSize, ...(pending !== undefined ? { gtid: pending } : {}) });
          if (groups.length > BINLOG_MAX_GROUPS) groups = undefined;
        }
        lastGtid = pending;
        pending = undefined;
        group = 'none';
      }
    }
    lastTs = ts;
    pos += evSize;
    readAhead = evSize > chunkBytes ? PROBE_BYTES : chunkBytes;
  }

  return {
    file: path,
    endPos: pos,
    tornBytes: size - pos,
    ...(lastTs !== undefined ? { lastEventTimestamp: lastTs } : {}),
    ...(lastGtid !== undefined ? { lastGtid } : {}),
    walkedFrom,
    // Without a format description no event was walked: there is nothing to list.
    ...(formatDescriptionEnd !== undefined ? { formatDescriptionEnd, ...(groups !== undefined ? { groups } : {}) } : {}),
  };
}

// event_size fits the file and log_pos (the event's end offset as the server wrote it) agrees, when set.
function plausibleHeader(h: Buffer, pos: number, size: number): boolean {
  const evSize = h.readUInt32LE(9);
  const logPos = h.readUInt32LE(13);
  return evSize >= HEADER && pos + evSize <= size && (logPos === 0 || logPos === pos + evSize);
}

// The format description event of a checksum-aware server always ends with alg (1 byte) + CRC (4 bytes).
async function formatChecksumLen(reader: ChunkReader, pos: number, evSize: number, readAhead: number,
                                 path: string): Promise<number> {
  const b = await reader.bytes(pos, evSize, readAhead);
  const headerLen = b[HEADER + 2 + 50 + 4];
  if (headerLen !== HEADER) throw new AppError('SSH_FAILED', `${path}: event header length ${headerLen}, expected ${HEADER}`);
  return b[evSize - 5] === CHECKSUM_ALG_CRC32 ? 4 : 0;
}

// First bytes of a query event's statement, uppercased: post-header (13 bytes), status vars, db name + NUL, then the text.
async function queryPrefix(reader: ChunkReader, pos: number, evSize: number, checksumLen: number,
                           readAhead: number): Promise<string> {
  const fixed = HEADER + 13;
  if (evSize < fixed) return '';
  const h = await reader.bytes(pos, fixed, readAhead);
  const start = fixed + h.readUInt16LE(HEADER + 11) + (h[HEADER + 8] ?? 0) + 1;
  const end = Math.min(evSize - checksumLen, start + 24);
  if (end <= start) return '';
  const text = await reader.bytes(pos + start, end - start, readAhead);
  return text.toString('latin1').trimStart().toUpperCase();
}

function formatUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// One window of the file in memory; a request outside it reads a new window of at least readAhead bytes.
class ChunkReader {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;

  constructor(private readonly file: RandomAccessFile, private readonly size: number,
              private readonly signal: AbortSignal, private readonly path: string) {}

  async bytes(pos: number, len: number, readAhead: number): Promise<Buffer> {
    if (pos < this.start || pos + len > this.start + this.buf.length) {
      throwIfAborted(this.signal, `reading ${this.path} at offset ${pos}`);
      const want = Math.min(Math.max(len, readAhead), this.size - pos);
      this.buf = await this.file.read(pos, want);
      this.start = pos;
      if (this.buf.length < len) {
        throw new AppError('SSH_FAILED', `${this.path}: short read at offset ${pos} (${this.buf.length} of ${len} bytes); the file shrank`);
      }
    }
    return this.buf.subarray(pos - this.start, pos - this.start + len);
  }
}

/**
 * The GTIDs of the complete transaction groups in bytes [from, to) of a binlog, given its format description
 * (bytes 4..): the walk runs over a virtual file holding only those parts, at their original offsets.
 */
export async function gtidsInRange(formatDescription: Buffer, from: number, events: Buffer, signal: AbortSignal, path: string): Promise<string[]> {
  const magic = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
  const fdEnd = 4 + formatDescription.length;
  const to = from + events.length;
  const file: RandomAccessFile = {
    size: async () => to,
    read: async (offset, length) => {
      const out = Buffer.alloc(Math.max(0, Math.min(length, to - offset)));
      const copy = (src: Buffer, at: number): void => {
        const start = Math.max(offset, at);
        const end = Math.min(offset + out.length, at + src.length);
        if (end > start) src.copy(out, start - offset, start - at, end - at);
      };
      copy(magic, 0);
      copy(formatDescription, 4);
      copy(events, from);
      return out;
    },
  };
  if (from < fdEnd) return [];
  const tail = await walkBinlog(file, path, signal, { startPos: from });
  return (tail.groups ?? []).flatMap((g) => (g.gtid !== undefined ? [g.gtid] : []));
}
