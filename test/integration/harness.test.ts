import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MariaDbFarm, mariadbSkipReason, waitForSync, type MariaDbServer } from '../helpers/mariadb.js';

const skip = mariadbSkipReason();

describe('test harness: a real MariaDB master and GTID semi-sync replica', { skip }, () => {
  const farm = new MariaDbFarm();
  let master: MariaDbServer;
  let replica: MariaDbServer;

  before(async () => {
    ({ master, replica } = await farm.startPair());
  });
  after(() => farm.cleanup());

  it('when a row is written on the master then the replica has it, with semi-sync acknowledging (AFTER_SYNC)', async () => {
    await master.sql("INSERT INTO appdb.t VALUES (1, 'one')");
    await waitForSync(master, replica);
    const rows = await replica.sql('SELECT note FROM appdb.t WHERE id = 1');
    assert.equal(rows[0]?.['note'], 'one');
    const [st] = await master.sql("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_status'");
    assert.equal(st?.['Value'], 'ON');
    const [wp] = await master.sql('SELECT @@rpl_semi_sync_master_wait_point AS w');
    assert.equal(wp?.['w'], 'AFTER_SYNC');
    const [ro] = await replica.sql('SELECT @@read_only AS ro');
    assert.equal(Number(ro?.['ro']), 1);
  });
});
