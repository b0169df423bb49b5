import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, closeSync, constants, copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ssh2PeerFilesConnector } from '../../src/ssh/ssh2-peer-files.js';
import type { SshSettings } from '../../src/config/schema.js';
import { isAppError, type ErrorCode } from '../../src/errors.js';
import { MariaDbFarm, freePort, mariadbSkipReason, waitForSync, type MariaDbServer } from '../helpers/mariadb.js';
import { startSshd, sshdSkipReason, type Sshd } from '../helpers/sshd.js';

const skip = mariadbSkipReason() ?? sshdSkipReason();
const HOST = '127.0.0.1';

function rejectsWith(code: ErrorCode, pattern: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(isAppError(e), `expected an AppError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), 'one-line message');
    return true;
  };
}

describe('ssh2 peer files against a real sshd and a real MariaDB pair', { skip }, () => {
  let farm: MariaDbFarm;
  let master: MariaDbServer;
  let replica: MariaDbServer;
  let sshd: Sshd;
  let work: string;

  const settings = (over: Partial<SshSettings> = {}): SshSettings => ({
    user: sshd.user,
    port: sshd.port,
    identityFile: sshd.identityFile,
    knownHostsFile: sshd.knownHostsFile,
    connectTimeoutMs: 3000,
    commandTimeoutMs: 10_000,
    ...over,
  });
  const connect = (over: Partial<SshSettings> = {}, signal = AbortSignal.timeout(20_000)) =>
    ssh2PeerFilesConnector.connect(HOST, settings(over), signal);

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'km-sshpeer-'));
    farm = new MariaDbFarm();
    // allSettled: when one start fails the other is still assigned, so after() stops it and nothing keeps the run alive.
    const started = await Promise.allSettled([
      farm.startPair().then((pair) => ({ master, replica } = pair)),
      startSshd().then((s) => (sshd = s)),
    ]);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    await master.sql(
      "INSERT INTO appdb.t VALUES (1, 'one'), (2, 'two')",
      "UPDATE appdb.t SET note = 'uno' WHERE id = 1",
      'CREATE TABLE appdb.u (id INT PRIMARY KEY) ENGINE=InnoDB',
    );
  });

  after(async () => {
    await Promise.all([farm?.cleanup(), sshd?.stop()]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("when the master's binlog tail is read over SFTP then endPos is its SHOW MASTER STATUS position and lastGtid its gtid_binlog_pos", async () => {
    const [status] = await master.sql<{ File: string; Position: number }>('SHOW MASTER STATUS');
    const [vars] = await master.sql<{ idx: string; gtid: string }>('SELECT @@log_bin_index AS idx, @@gtid_binlog_pos AS gtid');
    assert.ok(status && vars);
    assert.match(vars.gtid, /^0-1-\d+$/, 'single domain');
    const peer = await connect();
    try {
      const tail = await peer.readBinlogTail(vars.idx, AbortSignal.timeout(10_000));
      assert.equal(tail.file, join(master.datadir, status.File));
      assert.equal(tail.endPos, Number(status.Position));
      assert.equal(tail.tornBytes, 0);
      assert.equal(tail.lastGtid, vars.gtid);
      assert.ok(Math.abs((tail.lastEventTimestamp ?? 0) - Date.now() / 1000) < 600);
    } finally {
      peer.close();
    }
  });

  test("when the replica's read position is given as a hint then only the tail after it is walked and the end is still the master's", async () => {
    await waitForSync(master, replica);
    const [st] = await replica.sql<{ Master_Log_File: string; Read_Master_Log_Pos: number }>('SHOW SLAVE STATUS');
    assert.ok(st);
    const hint = { file: st.Master_Log_File, pos: Number(st.Read_Master_Log_Pos) };
    await master.sql("INSERT INTO appdb.t VALUES (10, 'after the hint')", 'INSERT INTO appdb.u VALUES (1)');
    const [status] = await master.sql<{ File: string; Position: number }>('SHOW MASTER STATUS');
    const [vars] = await master.sql<{ idx: string; gtid: string }>('SELECT @@log_bin_index AS idx, @@gtid_binlog_pos AS gtid');
    assert.ok(status && vars);
    assert.equal(status.File, hint.file, 'no rotation in between');
    const peer = await connect();
    try {
      const tail = await peer.readBinlogTail(vars.idx, AbortSignal.timeout(10_000), hint);
      assert.deepEqual([tail.walkedFrom, tail.endPos, tail.tornBytes, tail.lastGtid], [hint.pos, Number(status.Position), 0, vars.gtid]);
      const otherFile = await peer.readBinlogTail(vars.idx, AbortSignal.timeout(10_000), { file: 'mysql-bin.000099', pos: hint.pos });
      assert.deepEqual([otherFile.walkedFrom, otherFile.endPos], [4, Number(status.Position)]);
    } finally {
      peer.close();
    }
  });

  test('when a large real binlog is walked then its end and last GTID are found', async () => {
    // About 14 MB of row events (ROW format splits them at binlog_row_event_max_size, 8 KiB).
    await master.sql('CREATE TABLE appdb.big (id INT PRIMARY KEY, pad CHAR(60)) ENGINE=InnoDB',
      "INSERT INTO appdb.big SELECT seq, REPEAT('x', 60) FROM appdb.seq_1_to_200000");
    const [status] = await master.sql<{ File: string; Position: number }>('SHOW MASTER STATUS');
    const [vars] = await master.sql<{ idx: string; gtid: string }>('SELECT @@log_bin_index AS idx, @@gtid_binlog_pos AS gtid');
    assert.ok(status && vars && Number(status.Position) > 10_000_000);
    const peer = await connect();
    try {
      const tail = await peer.readBinlogTail(vars.idx, AbortSignal.timeout(20_000));
      assert.deepEqual([tail.endPos, tail.tornBytes, tail.lastGtid], [Number(status.Position), 0, vars.gtid]);
    } finally {
      peer.close();
    }
  });

  test('when an SFTP read never answers then the command deadline ends it and drops the connection', async () => {
    // open() of a FIFO without a writer blocks the server's SFTP session: a peer whose disk hangs.
    const fifo = join(work, 'hung.index');
    execFileSync('/usr/bin/mkfifo', [fifo], { timeout: 5000 });
    const hurried = await connect({ commandTimeoutMs: 300 });
    try {
      const started = Date.now();
      await assert.rejects(hurried.readBinlogTail(fifo, AbortSignal.timeout(20_000)), rejectsWith('DEADLINE_EXCEEDED', /binlog tail/));
      const took = Date.now() - started;
      assert.ok(took >= 250 && took < 1500, `${took} ms`);
      // The deadline destroyed the connection: later calls fail at once instead of queueing behind the hung read.
      const after = Date.now();
      await assert.rejects(hurried.readPositionRecord(work, AbortSignal.timeout(5000)), rejectsWith('SSH_FAILED', /No response/));
      assert.ok(Date.now() - after < 200, `${Date.now() - after} ms`);
    } finally {
      hurried.close();
      // Release the blocked open() so the server's session process can exit.
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    }
  });

  test('when a copy of the binlog has garbage appended (a torn write) then endPos is unchanged and tornBytes is the garbage length', async () => {
    const [status] = await master.sql<{ File: string; Position: number }>('SHOW MASTER STATUS');
    const [vars] = await master.sql<{ gtid: string }>('SELECT @@gtid_binlog_pos AS gtid');
    assert.ok(status && vars);
    const dir = join(work, 'torn');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(master.datadir, status.File), join(dir, 'copy-bin.000007'));
    const garbage = Buffer.from('\x13\x00\x00\x00torn-tail-garbage-bytes', 'latin1');
    appendFileSync(join(dir, 'copy-bin.000007'), garbage);
    // A relative entry, as MariaDB writes when log_bin is relative: resolved against the index's directory.
    writeFileSync(join(dir, 'copy-bin.index'), './copy-bin.000006\n./copy-bin.000007\n');
    const peer = await connect();
    try {
      const tail = await peer.readBinlogTail(join(dir, 'copy-bin.index'), AbortSignal.timeout(10_000));
      assert.equal(tail.file, join(dir, 'copy-bin.000007'));
      assert.equal(tail.endPos, Number(status.Position));
      assert.equal(tail.tornBytes, garbage.length);
      assert.equal(tail.lastGtid, vars.gtid);
    } finally {
      peer.close();
    }
  });

  test('when the index or its last binlog is missing then the read fails with SSH_FAILED naming the path', async () => {
    const dir = join(work, 'missing');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'x.index'), `${join(dir, 'x.000001')}\n`);
    const peer = await connect();
    try {
      await assert.rejects(peer.readBinlogTail(join(dir, 'nope.index'), AbortSignal.timeout(10_000)),
        rejectsWith('SSH_FAILED', /nope\.index not found/));
      await assert.rejects(peer.readBinlogTail(join(dir, 'x.index'), AbortSignal.timeout(10_000)),
        rejectsWith('SSH_FAILED', /x\.000001 \(last in .*x\.index\) not found/));
    } finally {
      peer.close();
    }
  });

  test('when position.json is absent, present or malformed then the record is undefined, parsed, or a clear error', async () => {
    const stateDir = join(work, 'state');
    mkdirSync(stateDir, { recursive: true });
    const peer = await connect();
    try {
      assert.equal(await peer.readPositionRecord(stateDir, AbortSignal.timeout(10_000)), undefined);
      const record = { node: 'a', role: 'master', recordedAt: new Date().toISOString(), transitionId: 't1',
        binlogFile: 'mysql-bin.000001', binlogPos: 1234, gtidBinlogPos: '0-1-9' };
      writeFileSync(join(stateDir, 'position.json'), JSON.stringify(record));
      assert.deepEqual(await peer.readPositionRecord(stateDir, AbortSignal.timeout(10_000)), record);
      writeFileSync(join(stateDir, 'position.json'), '{"node": "a", "role": "master", "recordedAt": ');
      await assert.rejects(peer.readPositionRecord(stateDir, AbortSignal.timeout(10_000)),
        rejectsWith('SSH_FAILED', /position\.json is not JSON/));
    } finally {
      peer.close();
    }
  });

  test('when known_hosts does not list the host then the connection is refused with the fingerprint received and the file checked', async () => {
    const empty = join(work, 'known_hosts.empty');
    writeFileSync(empty, '');
    await assert.rejects(connect({ knownHostsFile: empty }),
      rejectsWith('SSH_HOST_KEY_REJECTED', new RegExp(`${escape(sshd.hostKeyFingerprint)} .* unknown in ${escape(empty)}`)));
  });

  test('when the host key is pinned by fingerprint then the right pin is accepted and a wrong one refused', async () => {
    const { knownHostsFile: _unused, ...base } = settings();
    const pinned = await ssh2PeerFilesConnector.connect(HOST, { ...base, hostKeySha256: sshd.hostKeyFingerprint }, AbortSignal.timeout(20_000));
    try {
      assert.equal(await pinned.readPositionRecord(join(work, 'no-such-dir'), AbortSignal.timeout(10_000)), undefined);
    } finally {
      pinned.close();
    }
    const wrong = 'SHA256:oR0T/dWKtbVgesLeclrczdbULhzfK2dKJxD8u6QzBdo';
    await assert.rejects(ssh2PeerFilesConnector.connect(HOST, { ...base, hostKeySha256: wrong }, AbortSignal.timeout(20_000)),
      rejectsWith('SSH_HOST_KEY_REJECTED', new RegExp(`${escape(sshd.hostKeyFingerprint)} .*does not match the pinned ${escape(wrong)}`)));
  });

  test('when the client key is not authorized then the connection fails with SSH_FAILED naming the key', async () => {
    const other = join(work, 'other_ed25519');
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other], { timeout: 10_000 });
    await assert.rejects(connect({ identityFile: other }), rejectsWith('SSH_FAILED', /other_ed25519 not accepted/));
  });

  test('when the peer port is closed then PEER_UNREACHABLE comes within the connect deadline', async () => {
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(connect({ port, connectTimeoutMs: 1000 }), rejectsWith('PEER_UNREACHABLE', /ECONNREFUSED/));
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
  });

  test('when the server accepts TCP and never speaks SSH then the connect fails by its deadline', async () => {
    const silent = await silentServer();
    try {
      const started = Date.now();
      await assert.rejects(connect({ port: silent.port, connectTimeoutMs: 700 }), rejectsWith('PEER_UNREACHABLE', /700 ms/));
      const took = Date.now() - started;
      assert.ok(took >= 600 && took < 2000, `${took} ms`);
      // The caller's own signal ends the wait earlier than the connect deadline.
      const early = Date.now();
      await assert.rejects(connect({ port: silent.port, connectTimeoutMs: 10_000 }, AbortSignal.timeout(300)),
        rejectsWith('DEADLINE_EXCEEDED', /SSH connect/));
      assert.ok(Date.now() - early < 1500, `${Date.now() - early} ms`);
    } finally {
      await silent.close();
    }
  });

  // Last: it changes the server's host key for good.
  test('when the host key changed since known_hosts was written then the connection is refused, never accepted', async () => {
    const old = sshd.hostKeyFingerprint;
    const fresh = await sshd.regenerateHostKey();
    assert.notEqual(fresh, old);
    await assert.rejects(connect(),
      rejectsWith('SSH_HOST_KEY_REJECTED', new RegExp(`${escape(fresh)} .* changed in ${escape(sshd.knownHostsFile)}`)));
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

// Accepts connections and never writes a byte (a hung sshd, a firewall that swallows the banner).
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
