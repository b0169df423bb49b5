import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ACCOUNTS, MariaDbFarm, mariadbSkipReason, type MariaDbServer } from '../helpers/mariadb.js';
import { namespaceSkipReason } from '../helpers/namespaces.js';

const skip = mariadbSkipReason() ?? namespaceSkipReason('host cache test', 'network and mount', ['/usr/bin/unshare', '/usr/bin/nsenter', '/usr/sbin/ip']);
const dist = fileURLToPath(new URL('../..', import.meta.url));
// A client address that is not 127.0.0.1 (the server keeps no host cache for loopback) and resolves both ways through
// the namespace's own /etc/hosts, as a pair listed in /etc/hosts or DNS does: the case where MariaDB counts errors.
const ADDRESS = '10.201.0.1';
const MAX_CONNECT_ERRORS = 3;
const PROBES = 2 * MAX_CONNECT_ERRORS;

// Runs in the server's network namespace: PROBES probes of one kind, then one ordinary login, reported as JSON.
const CLIENT = `
import { connect } from 'node:net';
import { probeMysqlByLogin } from ${JSON.stringify(join(dist, 'src/health/mysql-answer.js'))};
import { mysql2Connector } from ${JSON.stringify(join(dist, 'src/mysql/mysql2-client.js'))};
const [kind, port] = [process.argv[2], Number(process.argv[3])];
const target = { host: ${JSON.stringify(ADDRESS)}, port, user: ${JSON.stringify(ACCOUNTS.admin.user)}, password: ${JSON.stringify(ACCOUNTS.admin.password)}, connectTimeoutMs: 2000, queryTimeoutMs: 2000 };
const details = [];
for (let i = 0; i < ${PROBES}; i++) {
  if (kind === 'login') details.push((await probeMysqlByLogin(mysql2Connector, target, 2000, new AbortController().signal)).detail);
  else await new Promise((resolve) => { const s = connect(port, target.host, () => { s.destroy(); resolve(); }); s.on('error', resolve); });
}
await new Promise((r) => setTimeout(r, 200));
const login = await mysql2Connector.connect(target).then((c) => { c.close(); return 'ok'; }, (err) => String(err.errno ?? err.message));
process.stdout.write(JSON.stringify({ details, login }));
process.exit(0);
`;

function inNamespace(pid: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=/proc/${pid}/ns/net`, '--', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`client exited ${code}: ${err}`))));
  });
}

describe('the isolation guard\'s probe of the peer and MySQL\'s host cache (max_connect_errors)', { skip }, () => {
  const farm = new MariaDbFarm();
  let work: string;
  let db: MariaDbServer;
  let client: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'km-host-cache-'));
    const hosts = join(work, 'hosts');
    writeFileSync(hosts, `127.0.0.1 localhost\n${ADDRESS} km-peer\n`);
    client = join(work, 'client.mjs');
    writeFileSync(client, CLIENT);
    const setup = `ip link set lo up && ip addr add ${ADDRESS}/32 dev lo && mount --bind ${hosts} /etc/hosts && exec "$0" "$@"`;
    db = await farm.start({
      name: 'host-cache', serverId: 1,
      launcher: ['unshare', '--net', '--mount', '--propagation', 'private', 'sh', '-c', setup],
      // Name resolution on (the server's default) and the host cache on: what most my.cnf files have.
      extraArgs: [`--bind-address=${ADDRESS}`, '--skip-name-resolve=0', `--max-connect-errors=${MAX_CONNECT_ERRORS}`],
    });
  });
  after(async () => {
    await farm.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  const aborted = async (): Promise<string> => (await db.sql<{ Variable_name: string; Value: string }>(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Aborted_clients', 'Aborted_connects')")).map((r) => `${r.Variable_name}=${r.Value}`).join(' ');
  const warnings = (): number => db.errorLogTail(10_000).split('\n').filter((l) => l.includes('Aborted connection')).length;

  it(`when the peer is asked ${PROBES} times with a login at max_connect_errors=${MAX_CONNECT_ERRORS} then its host stays unblocked, with nothing aborted or logged`, async () => {
    await db.sql('FLUSH HOSTS');
    const before = { counters: await aborted(), warnings: warnings() };
    const r = JSON.parse(await inNamespace(db.pid ?? 0, [client, 'login', String(db.port)])) as { details: string[]; login: string };
    assert.deepEqual(new Set(r.details), new Set([`${ADDRESS}:${db.port} answered a login`]));
    assert.equal(r.login, 'ok');
    assert.deepEqual({ counters: await aborted(), warnings: warnings() }, before);
  });

  it('when the peer is asked as often with a bare TCP connect then its host is blocked (the fault the login avoids)', async () => {
    await db.sql('FLUSH HOSTS');
    const r = JSON.parse(await inNamespace(db.pid ?? 0, [client, 'connect', String(db.port)])) as { login: string };
    // ER_HOST_IS_BLOCKED: "Host '10.201.0.1' is blocked because of many connection errors".
    assert.equal(r.login, '1129');
    await db.sql('FLUSH HOSTS');
  });
});
