import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { lastBinlogFromIndex, walkBinlog } from '../../../src/ssh/binlog-tail.js';
import type { RandomAccessFile } from '../../../src/ssh/binlog-tail.js';
import { isAppError } from '../../../src/errors.js';

// dist/test/unit/ssh → repository root
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'binlog');

interface FixtureMeta { masterStatusPosition: number; gtidBinlogPos: string }

// Real binlogs recorded from mariadbd by test/helpers/record-binlog-fixtures.ts (see its header).
function fixture(name: string): { bytes: Buffer; meta: FixtureMeta } {
  return {
    bytes: readFileSync(join(FIXTURES, `${name}.bin`)),
    meta: JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as FixtureMeta,
  };
}

// A file over a buffer that counts its reads and the bytes they returned.
function memFile(bytes: Buffer): RandomAccessFile & { reads: number; bytesRead: number } {
  const f = {
    reads: 0,
    bytesRead: 0,
    size: async () => bytes.length,
    read: async (offset: number, length: number) => {
      f.reads++;
      const out = bytes.subarray(offset, offset + length);
      f.bytesRead += out.length;
      return out;
    },
  };
  return f;
}

const live = (): AbortSignal => AbortSignal.timeout(10_000);

// Synthetic events laid out per the v4 header spec (19 bytes + body + optional 4-byte CRC left as zeros,
// which the walk never checks); used only where no real server can produce the case here (MySQL, huge events).
function event(pos: number, type: number, body: Buffer, serverId = 9, crc = true): Buffer {
  const size = 19 + body.length + (crc ? 4 : 0);
  const h = Buffer.alloc(19);
  h.writeUInt32LE(1_700_000_000, 0);
  h[4] = type;
  h.writeUInt32LE(serverId, 5);
  h.writeUInt32LE(size, 9);
  h.writeUInt32LE(pos + size, 13);
  return Buffer.concat([h, body, Buffer.alloc(crc ? 4 : 0)]);
}

function append(base: Buffer, ...events: Array<(pos: number) => Buffer>): Buffer {
  let out = base;
  for (const make of events) out = Buffer.concat([out, make(out.length)]);
  return out;
}

for (const name of ['mariadb-crc32', 'mariadb-nochecksum']) {
  test(`when a complete real binlog (${name}) is walked then endPos is the server's SHOW MASTER STATUS position and lastGtid its gtid_binlog_pos`, async () => {
    const { bytes, meta } = fixture(name);
    const tail = await walkBinlog(memFile(bytes), '/var/lib/mysql/mysql-bin.000001', live());
    assert.equal(tail.file, '/var/lib/mysql/mysql-bin.000001');
    assert.equal(tail.endPos, meta.masterStatusPosition);
    assert.equal(tail.tornBytes, 0);
    assert.equal(tail.lastGtid, meta.gtidBinlogPos);
    assert.ok((tail.lastEventTimestamp ?? 0) > 1_600_000_000);
  });
}

test('when garbage follows the last event then endPos is unchanged and tornBytes is the garbage length', async () => {
  const { bytes, meta } = fixture('mariadb-crc32');
  for (const garbage of [Buffer.from('torn write!'), Buffer.alloc(40), Buffer.from('\xff'.repeat(64), 'latin1'), Buffer.alloc(7, 1)]) {
    const tail = await walkBinlog(memFile(Buffer.concat([bytes, garbage])), 'b', live());
    assert.equal(tail.endPos, meta.masterStatusPosition, garbage.toString('hex'));
    assert.equal(tail.tornBytes, garbage.length);
    assert.equal(tail.lastGtid, meta.gtidBinlogPos);
  }
});

test('when the last event is cut short then the walk ends before it and lastGtid is the last committed transaction', async () => {
  const { bytes } = fixture('mariadb-crc32');
  // 1843 ends Xid of 3-7-7 (31 bytes from 1812); 1666 ends the GTID event of 3-7-7 (mariadb-binlog listing).
  const cut = await walkBinlog(memFile(bytes.subarray(0, 1843 - 10)), 'b', live());
  assert.deepEqual([cut.endPos, cut.tornBytes, cut.lastGtid], [1812, 21, '3-7-6']);
  const afterGtid = await walkBinlog(memFile(bytes.subarray(0, 1666)), 'b', live());
  assert.deepEqual([afterGtid.endPos, afterGtid.tornBytes, afterGtid.lastGtid], [1666, 0, '3-7-6']);
});

test('when a header claims a size past the end or below 19 bytes or an end offset that disagrees then everything from it is torn', async () => {
  const { bytes, meta } = fixture('mariadb-crc32');
  const end = meta.masterStatusPosition;
  const bogus = (size: number, logPos: number): Buffer => {
    const h = Buffer.alloc(19);
    h.writeUInt32LE(1_700_000_000, 0);
    h[4] = 2;
    h.writeUInt32LE(size, 9);
    h.writeUInt32LE(logPos, 13);
    return Buffer.concat([h, Buffer.alloc(100)]);
  };
  for (const [size, logPos] of [[0, 0], [18, end + 18], [5000, end + 5000], [60, end + 61]] as const) {
    const tail = await walkBinlog(memFile(Buffer.concat([bytes, bogus(size, logPos)])), 'b', live());
    assert.equal(tail.endPos, end, `size ${size} logPos ${logPos}`);
    assert.equal(tail.tornBytes, 119);
  }
});

test('when the file is shorter than the magic or holds only the magic then endPos is 0 or 4', async () => {
  const { bytes } = fixture('mariadb-crc32');
  assert.deepEqual(await walkBinlog(memFile(bytes.subarray(0, 2)), 'b', live()), { file: 'b', endPos: 0, tornBytes: 2 });
  assert.deepEqual(await walkBinlog(memFile(bytes.subarray(0, 10)), 'b', live()), { file: 'b', endPos: 4, tornBytes: 6, walkedFrom: 4 });
});

test('when the file is not a binlog or is encrypted then the walk refuses it with an error naming the file', async () => {
  await assert.rejects(walkBinlog(memFile(Buffer.from('hello world, not a binlog')), '/x/relay.log', live()),
    (e: unknown) => isAppError(e) && e.code === 'SSH_FAILED' && /\/x\/relay\.log is not a binlog/.test(e.message));
  await assert.rejects(walkBinlog(memFile(Buffer.concat([Buffer.from([0xfd]), Buffer.from('bin'), Buffer.alloc(600)])), 'e', live()),
    (e: unknown) => isAppError(e) && /encrypted MySQL binlog/.test(e.message));
  const { bytes } = fixture('mariadb-crc32');
  const encrypted = append(bytes.subarray(0, 256), (p) => event(p, 164, Buffer.alloc(17)));
  await assert.rejects(walkBinlog(memFile(encrypted), 'm', live()), (e: unknown) => isAppError(e) && /encrypted MariaDB binlog/.test(e.message));
});

test('when MySQL GTID events (synthetic, per the documented layout) close with Xid or DDL then lastGtid is "uuid:gno" of the last complete one', async () => {
  const { bytes } = fixture('mariadb-crc32');
  const sid = Buffer.from('3e11fa47716411e39a0e0800200c9a66', 'hex');
  const gtid = (gno: bigint) => (p: number): Buffer => {
    const body = Buffer.alloc(25 + 17);
    body[0] = 1;
    sid.copy(body, 1);
    body.writeBigInt64LE(gno, 17);
    return event(p, 33, body);
  };
  const query = (sql: string) => (p: number): Buffer => {
    const post = Buffer.alloc(13);
    post[8] = 2; // db name length
    return event(p, 2, Buffer.concat([post, Buffer.from('db\0'), Buffer.from(sql)]));
  };
  const xid = (p: number): Buffer => event(p, 16, Buffer.alloc(8));
  const file = append(bytes.subarray(0, 256), gtid(41n), query('BEGIN'), xid, gtid(42n), query('CREATE TABLE x (a INT)'),
    gtid(43n), query('BEGIN'));
  const tail = await walkBinlog(memFile(file), 'm', live());
  assert.equal(tail.endPos, file.length);
  assert.equal(tail.lastGtid, '3e11fa47-7164-11e3-9a0e-0800200c9a66:42');
  const withCommit = append(file, query('COMMIT'));
  assert.equal((await walkBinlog(memFile(withCommit), 'm', live())).lastGtid, '3e11fa47-7164-11e3-9a0e-0800200c9a66:43');
  const anonymousLast = append(withCommit, (p) => event(p, 34, Buffer.alloc(25)), query('BEGIN'), xid);
  assert.equal((await walkBinlog(memFile(anonymousLast), 'm', live())).lastGtid, undefined);
});

test('when events are small then the walk reads the file in a few large chunks, not once per event', async () => {
  const { bytes, meta } = fixture('mariadb-crc32');
  const f = memFile(bytes);
  await walkBinlog(f, 'b', live());
  assert.equal(f.reads, 1);
  const small = memFile(bytes);
  const tail = await walkBinlog(small, 'b', live(), { chunkBytes: 128 });
  assert.equal(tail.endPos, meta.masterStatusPosition);
  assert.ok(small.reads < 40, `${small.reads} reads`);
});

test('when events are much larger than a chunk then the walk skips their bodies and reads a small part of the file', async () => {
  const { bytes } = fixture('mariadb-crc32');
  const big = Array.from({ length: 20 }, () => (p: number) => event(p, 30, Buffer.alloc(1024 * 1024)));
  const file = append(bytes, ...big);
  const f = memFile(file);
  const tail = await walkBinlog(f, 'b', live(), { chunkBytes: 64 * 1024 });
  assert.equal(tail.endPos, file.length);
  assert.equal(tail.lastGtid, '3-7-7');
  assert.ok(f.bytesRead < file.length / 20, `${f.bytesRead} of ${file.length} bytes read`);
});

test('when the event cap is reached or the signal has fired then the walk stops with an error', async () => {
  const { bytes } = fixture('mariadb-crc32');
  await assert.rejects(walkBinlog(memFile(bytes), 'b', live(), { maxEvents: 5 }),
    (e: unknown) => isAppError(e) && /more than 5 events/.test(e.message));
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(walkBinlog(memFile(bytes), 'b', ac.signal), (e: unknown) => isAppError(e) && e.code === 'DEADLINE_EXCEEDED');
});

test('when a start hint is a real event start then only the tail after it is read, and lastGtid comes from groups completed after it', async () => {
  const { bytes, meta } = fixture('mariadb-crc32');
  const big = append(bytes, ...Array.from({ length: 8 }, () => (p: number) => event(p, 30, Buffer.alloc(256 * 1024))));
  // 1624 ends GTID 3-7-6 (its COMMIT query); 3-7-7 starts there and completes at 1843 (mariadb-binlog listing).
  const f = memFile(big);
  const tail = await walkBinlog(f, 'b', live(), { startPos: 1624, chunkBytes: 4096 });
  assert.deepEqual([tail.walkedFrom, tail.endPos, tail.tornBytes, tail.lastGtid], [1624, big.length, 0, '3-7-7']);
  // Mid-transaction hint (after the GTID event of 3-7-7): its commit is seen but its GTID is not, so no lastGtid.
  const mid = await walkBinlog(memFile(bytes), 'b', live(), { startPos: 1666 });
  assert.deepEqual([mid.walkedFrom, mid.endPos, mid.lastGtid], [1666, meta.masterStatusPosition, undefined]);
  const atEnd = await walkBinlog(memFile(bytes), 'b', live(), { startPos: meta.masterStatusPosition });
  assert.deepEqual([atEnd.walkedFrom, atEnd.endPos, atEnd.lastEventTimestamp], [meta.masterStatusPosition, meta.masterStatusPosition, undefined]);
});

test('when a start hint is not an event start or lies past the end then the walk starts at the first event instead', async () => {
  const { bytes, meta } = fixture('mariadb-crc32');
  for (const startPos of [1625, 100, meta.masterStatusPosition + 50, 0]) {
    const tail = await walkBinlog(memFile(bytes), 'b', live(), { startPos });
    assert.deepEqual([tail.walkedFrom, tail.endPos, tail.lastGtid], [4, meta.masterStatusPosition, meta.gtidBinlogPos], String(startPos));
  }
});

test('when the index lists absolute or relative binlogs then the last one is returned as an absolute path', () => {
  assert.equal(lastBinlogFromIndex('/d/mysql-bin.000001\n/d/mysql-bin.000002\n', '/d/mysql-bin.index'), '/d/mysql-bin.000002');
  assert.equal(lastBinlogFromIndex('./mysql-bin.000001\n./mysql-bin.000003\n\n', '/var/lib/mysql/mysql-bin.index'),
    '/var/lib/mysql/mysql-bin.000003');
  assert.equal(lastBinlogFromIndex('binlog/b.000009\r\n', '/srv/db/b.index'), '/srv/db/binlog/b.000009');
});

test('when the index lists no binlog then an error names the index file', () => {
  assert.throws(() => lastBinlogFromIndex('\n \n', '/d/mysql-bin.index'), (e: unknown) => isAppError(e) && /\/d\/mysql-bin\.index lists no binlog/.test(e.message));
});

test('when a walk starts at a transaction boundary then it lists each complete group after it with its GTID and bounds, and not a torn one', async () => {
  const { bytes, meta } = fixture('mariadb-crc32');
  // 1624 ends 3-7-6; 3-7-7 runs from 1624 to 1843 (mariadb-binlog listing).
  const tail = await walkBinlog(memFile(bytes), 'b', live(), { startPos: 1624 });
  assert.deepEqual(tail.groups, [{ start: 1624, end: meta.masterStatusPosition, gtid: '3-7-7' }]);
  assert.equal(tail.formatDescriptionEnd, 4 + bytes.readUInt32LE(4 + 9));
  const torn = await walkBinlog(memFile(bytes.subarray(0, 1843 - 10)), 'b', live(), { startPos: 1624 });
  assert.deepEqual(torn.groups, []);
  const whole = await walkBinlog(memFile(bytes), 'b', live());
  assert.deepEqual(whole.groups?.map((g) => g.gtid).at(-1), '3-7-7');
  assert.ok(whole.groups?.every((g, i, all) => g.start < g.end && (i === 0 || all[i - 1]!.end <= g.start)));
});
