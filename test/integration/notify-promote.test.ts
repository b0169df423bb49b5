import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MariaDbFarm, mariadbSkipReason, waitFor, writePrivate, type MariaDbServer } from '../helpers/mariadb.js';
import { runBin } from '../helpers/run-bin.js';
import type { AlertEvent, TransitionRecord } from '../../src/history/transitions.js';
import {
  readJsonFile, readNotifyLog, readOnly, runNotify, slaveStatus, waitReceived, writeNodeConfig, startPair } from '../helpers/notify-env.js';

const skip = mariadbSkipReason();
// Far longer than the catch-up's 5 s.
const CONNECT_RETRY_S = 30;

describe('notify MASTER on a real MariaDB replica', { skip }, () => {
  let farm: MariaDbFarm;
  let a: MariaDbServer;
  let b: MariaDbServer;

  beforeEach(async () => {
    ({ farm, master: a, replica: b } = await startPair());
  });
  afterEach(() => farm.cleanup());

  it('when the master is killed with rows still in the relay log then notify applies them before opening writes', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a);
    await b.sql('STOP SLAVE SQL_THREAD');
    await a.sql("INSERT INTO appdb.t VALUES (1, 'one'), (2, 'two')", "INSERT INTO appdb.t VALUES (3, 'three')");
    await waitReceived(a, b);
    await a.kill();

    const r = await runNotify(['--config', dirs.configPath, '--foreground', 'master']);

    assert.equal(r.code, 0, r.stderr);
    const rows = await b.sql<{ id: number }>('SELECT id FROM appdb.t ORDER BY id');
    assert.deepEqual(rows.map((x) => Number(x.id)), [1, 2, 3]);
    assert.equal(await readOnly(b), 0);
    assert.equal(await slaveStatus(b), undefined, 'replication detached (RESET SLAVE ALL)');
    await b.sql("INSERT INTO appdb.t VALUES (4, 'written on the new master')");
    const [semi] = await b.sql("SELECT @@rpl_semi_sync_master_enabled AS m, @@rpl_semi_sync_slave_enabled AS s, @@sync_binlog AS sb");
    // No replica attached yet: asynchronous, recorded first; check-mysql's guard turns semi-sync on when one connects.
    assert.deepEqual([Number(semi?.['m']), Number(semi?.['s']), Number(semi?.['sb'])], [0, 0, 1]);
    assert.match(readFileSync(join(dirs.stateDir, 'semisync-async.jsonl'), 'utf8'), /promoted at term 1 with no replica attached/);
    assert.equal(readJsonFile(join(dirs.stateDir, 'term.json'))?.['term'], 1);
    const pos = readJsonFile(join(dirs.stateDir, 'position.json'));
    assert.equal(pos?.['role'], 'master');
    assert.match(String(pos?.['gtidBinlogPos']), /^0-2-\d+$|^0-1-\d+$/);
    const log = readNotifyLog(dirs);
    assert.match(log, /step catch-up done/);
    assert.match(log, /step open-writes done/);
    assert.match(log, /"transitionId":"b-/);
    assert.equal(existsSync(join(dirs.stateDir, 'notify.lock')), false, 'lock released');

    const [t] = readLedger(dirs.stateDir);
    assert.equal(t?.outcome, 'done');
    assert.equal(t?.exitCode, 0);
    assert.equal(t?.trigger, 'operator');
    assert.equal(t?.state, 'MASTER');
    assert.equal(t?.gtidAfter, pos?.['gtidBinlogPos']);
    assert.ok(t?.steps.some((s) => s.step === 'catch-up' && s.ok), JSON.stringify(t?.steps));
    assert.ok(Date.parse(t?.endedAt ?? '') >= Date.parse(t?.startedAt ?? ''));
    const h = await runBin('keepalived-mysql', ['history', '--config', dirs.configPath]);
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, new RegExp(`MASTER DONE +exit 0 .* operator \\(manual\\)  ${t?.id}\n    steps: .*catch-up \\d+ms`));
  });

  it('when the replica lags beyond catchUpTimeoutMs and the policy is refuse then notify exits 4 and the node stays read-only', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a, { catchUpTimeoutMs: 1000, onCatchUpTimeout: 'refuse' });
    await b.sql('STOP SLAVE', 'CHANGE MASTER TO MASTER_DELAY = 3600', 'START SLAVE');
    await a.sql("INSERT INTO appdb.t VALUES (10, 'delayed')");
    await waitReceived(a, b);

    const r = await runNotify(['--config', dirs.configPath, '--foreground', 'master']);

    assert.equal(r.code, 4, r.stderr + readNotifyLog(dirs));
    assert.equal(await readOnly(b), 1);
    assert.match(readNotifyLog(dirs), /onCatchUpTimeout=refuse: staying read-only/);
    assert.equal(readJsonFile(join(dirs.stateDir, 'position.json'))?.['role'], 'fenced');
    const [t] = readLedger(dirs.stateDir);
    assert.deepEqual([t?.outcome, t?.exitCode, t?.error?.code], ['refused', 4, 'PROMOTION_REFUSED']);
    assert.ok(t?.steps.some((s) => s.step === 'catch-up' && s.durationMs >= 1000), JSON.stringify(t?.steps));
  });

  it('when the replica lags beyond catchUpTimeoutMs and the policy is promote then the node is writable and the gap is logged as an error', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a, { catchUpTimeoutMs: 1000, onCatchUpTimeout: 'promote' });
    await b.sql('STOP SLAVE', 'CHANGE MASTER TO MASTER_DELAY = 3600', 'START SLAVE');
    await a.sql("INSERT INTO appdb.t VALUES (11, 'delayed')");
    await waitReceived(a, b);

    const r = await runNotify(['--config', dirs.configPath, '--foreground', 'master']);

    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readOnly(b), 0);
    assert.match(readNotifyLog(dirs), / error promoting with a gap: replica did not apply 0-1-\d+/);
    assert.equal((await b.sql('SELECT id FROM appdb.t WHERE id = 11')).length, 0, 'the delayed row is the logged gap');
    assert.equal(await readOnly(a), 1, 'the reachable old master was fenced');
  });
  it('when the old master is hung (SIGSTOP) then notify kills the replication IO thread rather than waiting on STOP, and opens writes', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a);
    await a.sql("INSERT INTO appdb.t VALUES (20, 'before the hang')");
    await waitReceived(a, b);
    a.signal('SIGSTOP');
    try {
      const r = await runNotify(['--config', dirs.configPath, '--foreground', 'master']);

      assert.equal(r.code, 0, r.stderr + readNotifyLog(dirs));
      assert.equal(await readOnly(b), 0);
      assert.equal((await b.sql('SELECT id FROM appdb.t WHERE id = 20')).length, 1);
      const log = readNotifyLog(dirs);
      assert.match(log, /sql local: KILL CONNECTION \d+/);
      assert.match(log, /step kill-io-thread done/);
      assert.doesNotMatch(log, /did not finish/, 'STOP did not have to wait on the hung source');
      assert.equal(await slaveStatus(b), undefined, 'replication detached');
    } finally {
      a.signal('SIGCONT');
    }
  });

  // Both hosts lost power: the replica booted first, its master refused it, and its IO thread sleeps MASTER_CONNECT_RETRY.
  it('when the old master returns while the IO thread sleeps out its connect retry then notify restarts it and fetches the rest at once', async () => {
    const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a, { catchUpTimeoutMs: 5000, onCatchUpTimeout: 'refuse' });
    await b.sql('STOP SLAVE', `CHANGE MASTER TO MASTER_CONNECT_RETRY = ${CONNECT_RETRY_S}`);
    await a.stop();
    await b.sql('START SLAVE');
    await waitFor(async () => /error connecting to master/.test(String((await slaveStatus(b))?.['Last_IO_Error'] ?? '')), 10_000, 'the refusal');
    await a.start();
    await a.sql("INSERT INTO appdb.t VALUES (30, 'after the boot')");

    const r = await runNotify(['--config', dirs.configPath, '--foreground', 'master']);

    const log = readNotifyLog(dirs);
    // Left to its retry timer the IO thread would connect after up to 30 s: the 5 s catch-up would refuse.
    assert.equal(r.code, 0, r.stderr + log);
    assert.match(log, /sql local: STOP SLAVE IO_THREAD[^\n]*"step":"start-io-thread"/);
    assert.equal((await b.sql('SELECT id FROM appdb.t WHERE id = 30')).length, 1, 'the row written after the boot was fetched');
    assert.equal(await readOnly(b), 0);
  });

  describe('alerts.command on real notify transitions', () => {
    // Node b's config with alerts.command set (and any other edit).
    function config(command: string[], edit: (c: Record<string, Record<string, unknown>>) => void = () => undefined, timeoutMs = 5000): string {
      const dirs = writeNodeConfig(farm.baseDir, 'b', b, 'a', a, { catchUpTimeoutMs: 1000, onCatchUpTimeout: 'refuse' });
      const c = JSON.parse(readFileSync(dirs.configPath, 'utf8')) as Record<string, Record<string, unknown>>;
      c['alerts'] = { command, timeoutMs };
      edit(c);
      const path = join(farm.baseDir, `alerts-${Math.random().toString(36).slice(2)}.json`);
      writePrivate(path, JSON.stringify(c));
      return path;
    }

    // A script that appends each event it is given to a file.
    function recorder(): { command: string[]; events: () => AlertEvent[] } {
      const out = join(farm.baseDir, `events-${Math.random().toString(36).slice(2)}.jsonl`);
      const script = join(farm.baseDir, 'record-alert.sh');
      writeFileSync(script, `#!/bin/sh\ncat >> "$1"\n`, { mode: 0o755 });
      return {
        command: [script, out],
        events: () => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AlertEvent) : []),
      };
    }

    it('when a promotion is refused then the command gets the transition event with outcome refused', async () => {
      const rec = recorder();
      await b.sql('STOP SLAVE', 'CHANGE MASTER TO MASTER_DELAY = 3600', 'START SLAVE');
      await a.sql("INSERT INTO appdb.t VALUES (10, 'delayed')");
      await waitReceived(a, b);
      const r = await runNotify(['--config', config(rec.command), '--foreground', 'master']);
      assert.equal(r.code, 4, r.stderr);
      await waitFor(async () => rec.events().length === 1, 5000, 'the alert event');
      const [e] = rec.events();
      assert.equal(e?.kind, 'transition');
      assert.deepEqual(e?.kind === 'transition' ? [e.node, e.transition.state, e.transition.outcome, e.transition.exitCode] : [], ['b', 'MASTER', 'refused', 4]);
    });

    it('when a step fails then the command gets a step-failed event, then the failed transition', async () => {
      const rec = recorder();
      // An account that can read but not change the server: the first write step fails.
      await b.sql('SET sql_log_bin = 0', "CREATE USER 'reader'@'%' IDENTIFIED BY 'reader-pw'", "GRANT SELECT, PROCESS, SLAVE MONITOR ON *.* TO 'reader'@'%'");
      const r = await runNotify(['--config', config(rec.command, (c) => { c['mysql'] = { ...c['mysql'], user: 'reader', password: 'reader-pw' }; }), '--foreground', 'master']);
      assert.notEqual(r.code, 0);
      await waitFor(async () => rec.events().length === 2, 5000, 'two alert events');
      // Both commands start when the transition ends, detached: they may arrive in either order.
      const step = rec.events().find((e) => e.kind === 'step-failed');
      const transition = rec.events().find((e) => e.kind === 'transition');
      assert.equal(step?.kind, 'step-failed');
      assert.equal(step?.kind === 'step-failed' ? step.step : '', 'read-local');
      assert.equal(transition?.kind === 'transition' ? transition.transition.outcome : '', 'failed');
    });

    it('when the command hangs or does not exist then the transition still succeeds and a hung command is killed after timeoutMs', async () => {
      const pidFile = join(farm.baseDir, 'hung.pid');
      const hang = join(farm.baseDir, 'hang.sh');
      writeFileSync(hang, `#!/bin/sh\necho $$ > "${pidFile}"\nexec sleep 60\n`, { mode: 0o755 });
      const started = async (): Promise<number> => {
        await waitFor(async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 5000, 'the hung command to start');
        const pid = Number(readFileSync(pidFile, 'utf8'));
        writeFileSync(pidFile, '');
        return pid;
      };
      // With a 30 s bound, notify has returned while the command still runs: it never waits for it.
      const r = await runNotify(['--config', config([hang], () => undefined, 30_000), '--foreground', 'backup']);
      assert.equal(r.code, 0, r.stderr);
      const lingering = await started();
      assert.equal(alive(lingering), true);
      process.kill(lingering, 'SIGKILL');
      // With a 1 s bound, timeout(1) ends it although notify is long gone.
      const bounded = await runNotify(['--config', config([hang], () => undefined, 1000), '--foreground', 'backup']);
      assert.equal(bounded.code, 0, bounded.stderr);
      const pid = await started();
      await waitFor(async () => !alive(pid), 10_000, 'the hung alert command to be killed');

      const missing = await runNotify(['--config', config([join(farm.baseDir, 'no-such-alert')]), '--foreground', 'backup']);
      assert.equal(missing.code, 0, missing.stderr);
    });

    it('when alerts.command is not an argv array with an absolute path then the config is refused (78)', async () => {
      const r = await runNotify(['--config', config(['relative-cmd']), '--foreground', 'backup']);
      assert.equal(r.code, 78);
      assert.match(r.stderr, /alerts\.command: expected an argv array starting with an absolute path/);
    });
  });
});

function readLedger(stateDir: string): TransitionRecord[] {
  return readFileSync(join(stateDir, 'transitions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TransitionRecord);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
