import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SshSettings } from '../../src/config/schema.js';
import { isAppError } from '../../src/errors.js';
import { mysql2Connector } from '../../src/mysql/mysql2-client.js';
import { ssh2PeerFilesConnector, ssh2WitnessConnector } from '../../src/ssh/ssh2-peer-files.js';
import type { Witness } from '../../src/ssh/types.js';
import { ACCOUNTS, freePort, MariaDbFarm, mariadbSkipReason, type MariaDbServer } from '../helpers/mariadb.js';
import { startSshd, sshdSkipReason, type Sshd } from '../helpers/sshd.js';

// The witness is a plain OpenSSH server used for port forwarding: the peer's MySQL and sshd are reached through it
// when the direct path is cut. Here the witness and the "peer" are a real sshd and a real MariaDB on loopback.
const skip = mariadbSkipReason() ?? sshdSkipReason();
const HOST = '127.0.0.1';

describe('the witness route (ssh2 direct-tcpip through a real sshd)', { skip }, () => {
  let farm: MariaDbFarm;
  let db: MariaDbServer;
  let sshd: Sshd;
  let work: string;
  let witness: Witness;
  const ssh = (): SshSettings => ({ user: sshd.user, port: sshd.port, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile,
    connectTimeoutMs: 3000, commandTimeoutMs: 5000 });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'km-witness-'));
    farm = new MariaDbFarm();
    const started = await Promise.allSettled([farm.start({ name: 'peer', serverId: 7 }).then((s) => (db = s)), startSshd().then((s) => (sshd = s))]);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    witness = await ssh2WitnessConnector.connect({ host: HOST, ssh: ssh(), forwardTimeoutMs: 2000 }, AbortSignal.timeout(10_000));
  });
  after(async () => {
    witness?.close();
    await Promise.allSettled([farm?.cleanup(), sshd?.stop()]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('when the peer MySQL is reached through the witness then a query answers over the forwarded stream', async () => {
    const signal = AbortSignal.timeout(10_000);
    const stream = await witness.forward(HOST, db.port, signal);
    const client = await mysql2Connector.connect({ host: HOST, port: db.port, user: ACCOUNTS.admin.user, password: ACCOUNTS.admin.password,
      connectTimeoutMs: 3000, queryTimeoutMs: 3000, stream }, signal);
    try {
      const [row] = await client.query<{ id: unknown }>('SELECT @@GLOBAL.server_id AS id');
      assert.equal(Number(row?.id), 7);
    } finally {
      client.close();
    }
  });

  it('when the witness cannot connect to the target port then the error says it was refused (the host is up, the service is not)', async () => {
    const closed = await freePort();
    await assert.rejects(witness.forward(HOST, closed, AbortSignal.timeout(10_000)), (e: unknown) =>
      isAppError(e) && e.code === 'PEER_UNREACHABLE' && /refused/i.test(e.message) && !e.message.includes('\n'));
  });

  it('when SFTP is opened through the witness then a state file is written atomically and read back', async () => {
    const files = await ssh2PeerFilesConnector.connect(HOST, ssh(), AbortSignal.timeout(10_000), witness);
    try {
      const text = '{"by":"db2","term":3,"reason":"fenced through the witness","at":"now"}\n';
      await files.writeStateFile(work, 'stepdown.json', text, AbortSignal.timeout(5000));
      assert.equal(readFileSync(join(work, 'stepdown.json'), 'utf8'), text);
      writeFileSync(join(work, 'term.json'), '{"term":3,"node":"db2"}\n');
      assert.equal(await files.readStateFile(work, 'term.json', AbortSignal.timeout(5000)), '{"term":3,"node":"db2"}\n');
      assert.equal(await files.readStateFile(work, 'absent.json', AbortSignal.timeout(5000)), undefined);
    } finally {
      files.close();
    }
  });

  it('when the witness host key is unknown then the witness is refused before anything is sent', async () => {
    const empty = join(work, 'empty_known_hosts');
    writeFileSync(empty, '');
    await assert.rejects(ssh2WitnessConnector.connect({ host: HOST, ssh: { ...ssh(), knownHostsFile: empty }, forwardTimeoutMs: 2000 }, AbortSignal.timeout(10_000)),
      (e: unknown) => isAppError(e) && e.code === 'SSH_HOST_KEY_REJECTED');
  });
});
