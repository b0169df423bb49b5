import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mysql2Connector } from '../../src/mysql/mysql2-client.js';
import type { SqlClient } from '../../src/mysql/types.js';
import { ACCOUNTS, MariaDbFarm, mariadbSkipReason, writePrivate, type MariaDbServer } from '../helpers/mariadb.js';
import { readNotifyLog, runNotify, type NodeDirs } from '../helpers/notify-env.js';

const skip = mariadbSkipReason();

// No Group Replication server exists here: this drives notify's group-replication mode against a real MariaDB whose
// sessions arrive through two loopback addresses that stand in for the write VIP (127.0.0.2) and the read VIP (127.0.0.3).
const WRITE_VIP = '127.0.0.2';
const READ_VIP = '127.0.0.3';

describe('notify in mode group-replication ends the sessions that came in through a lost VIP (real MariaDB)', { skip }, () => {
  let farm: MariaDbFarm;
  let server: MariaDbServer;
  let dirs: NodeDirs;
  const open: SqlClient[] = [];

  before(async () => {
    farm = new MariaDbFarm();
    server = await farm.start({ name: 'gr', serverId: 1, extraArgs: [`--bind-address=127.0.0.1,${WRITE_VIP},${READ_VIP}`] });
    const dir = join(farm.baseDir, 'node-gr');
    dirs = { stateDir: join(dir, 'state'), logDir: join(dir, 'log'), configPath: join(dir, 'config.json') };
    mkdirSync(dir, { recursive: true });
    writePrivate(dirs.configPath, JSON.stringify({
      mode: 'group-replication',
      node: { name: 'mgr1' },
      mysql: { host: '127.0.0.1', port: server.port, user: ACCOUNTS.admin.user, password: ACCOUNTS.admin.password },
      paths: { logDir: dirs.logDir, stateDir: dirs.stateDir },
      notify: { deadlineMs: 20_000, catchUpTimeoutMs: 1000 },
      groupReplication: { instances: { VI_MGR_WRITE: { role: 'write', vip: WRITE_VIP }, VI_MGR_READ: { role: 'read', vip: READ_VIP } } },
    }));
  });
  after(async () => {
    for (const c of open) c.close();
    await farm.cleanup();
  });

  async function connect(host: string, account: { user: string; password: string } = ACCOUNTS.app): Promise<SqlClient> {
    const c = await mysql2Connector.connect(server.target({ host, user: account.user, password: account.password, queryTimeoutMs: 5000 }));
    open.push(c);
    return c;
  }
  const alive = async (c: SqlClient): Promise<boolean> => c.query('SELECT 1').then(() => true, () => false);

  it('when the write instance goes BACKUP then only app sessions through the write VIP end; the read VIP, the node address and the toolkit\'s own account stay', async () => {
    const viaWrite = [await connect(WRITE_VIP), await connect(WRITE_VIP)];
    const viaRead = await connect(READ_VIP);
    const direct = await connect('127.0.0.1');
    const ownAccount = await connect(WRITE_VIP, ACCOUNTS.admin);

    const r = await runNotify(['--config', dirs.configPath, 'INSTANCE', 'VI_MGR_WRITE', 'BACKUP', '100']);

    const log = readNotifyLog(dirs);
    assert.equal(r.code, 0, r.stderr + log);
    assert.deepEqual(await Promise.all(viaWrite.map(alive)), [false, false]);
    assert.deepEqual([await alive(viaRead), await alive(direct), await alive(ownAccount)], [true, true, true]);
    assert.match(log, /VI_MGR_WRITE: BACKUP: 2 client session\(s\) came in through 127\.0\.0\.2/);
    for (const c of viaWrite) assert.match(log, new RegExp(`ending session ${c.threadId} \\(app@127\\.0\\.0\\.\\d+:\\d+\\): socket 127\\.0\\.0\\.2:${server.port} ←`));
  });

  it('when --dry-run is asked for a FAULT of the read instance then the KILL is printed and the session lives on', async () => {
    const viaRead = await connect(READ_VIP);

    const r = await runNotify(['--config', dirs.configPath, '--dry-run', 'INSTANCE', 'VI_MGR_READ', 'FAULT', '100']);

    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`KILL CONNECTION ${viaRead.threadId}\\b`));
    assert.equal(await alive(viaRead), true);
  });

  it('when the write instance goes MASTER then nothing is killed or promoted, and the log says who sends the gratuitous ARP', async () => {
    const viaWrite = await connect(WRITE_VIP);

    const r = await runNotify(['--config', dirs.configPath, 'INSTANCE', 'VI_MGR_WRITE', 'MASTER', '100']);

    assert.equal(r.code, 0, r.stderr);
    assert.equal(await alive(viaWrite), true);
    assert.match(readNotifyLog(dirs), /VI_MGR_WRITE: MASTER: 127\.0\.0\.2 \(write\) is on this node; keepalived sends the gratuitous ARP/);
    const [ro] = await server.sql<{ ro: unknown }>('SELECT @@GLOBAL.read_only AS ro');
    assert.equal(Number(ro?.ro), 1, 'read_only untouched: MGR elects, the toolkit never promotes');
  });

  it('when keepalived names an instance the config does not have then it is a usage error in one line', async () => {
    const r = await runNotify(['--config', dirs.configPath, 'INSTANCE', 'VI_OTHER', 'BACKUP', '100']);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /vrrp_instance VI_OTHER is not in groupReplication\.instances/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
