import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFifoLine, parseNotifyArgv, parseTransitionArgs } from '../../../src/keepalived/notify-args.js';

describe('transition arguments', () => {
  it('when keepalived passes INSTANCE name STATE priority then the state is read case-insensitively', () => {
    assert.deepEqual(parseTransitionArgs(['INSTANCE', 'VI_1', 'MASTER', '100']),
      { state: 'MASTER', origin: 'keepalived', instance: { kind: 'INSTANCE', name: 'VI_1', priority: 100 } });
    assert.equal(parseTransitionArgs(['group', 'G', 'backup', '0']).state, 'BACKUP');
  });

  it('when an operator types master|backup|stop|fault in any case then it is a manual transition', () => {
    for (const [arg, state] of [['master', 'MASTER'], ['Backup', 'BACKUP'], ['STOP', 'STOP'], ['fault', 'FAULT']] as const) {
      assert.deepEqual(parseTransitionArgs([arg]), { state, origin: 'manual' });
    }
  });

  it('when keepalived reports DELETED then the node is fenced like FAULT', () => {
    assert.equal(parseTransitionArgs(['INSTANCE', 'VI_1', 'DELETED', '0']).state, 'FAULT');
  });

  it('when the arguments are anything else then a USAGE error names the problem', () => {
    for (const args of [[], ['deleted'], ['promote'], ['a', 'b'], ['INSTANCE', 'VI_1', 'MASTER', '-1'], ['VRRP', 'x', 'MASTER', '1'], ['INSTANCE', '', 'MASTER', '1']]) {
      assert.throws(() => parseTransitionArgs(args), (err: Error & { code?: string }) => err.code === 'USAGE', JSON.stringify(args));
    }
  });
});

describe('notify argv', () => {
  it('when flags come before keepalived\'s appended arguments then both are read', () => {
    const a = parseNotifyArgv(['--config', '/etc/x.json', '--foreground', 'INSTANCE', 'VI_1', 'BACKUP', '50']);
    assert.equal(a.configPath, '/etc/x.json');
    assert.equal(a.foreground, true);
    assert.equal(a.transition?.state, 'BACKUP');
  });

  it('when --config=PATH, --dry-run and --request-seq are given then they are parsed', () => {
    const a = parseNotifyArgv(['--config=/c.json', '--dry-run', '--request-seq', '42', 'master']);
    assert.deepEqual([a.configPath, a.dryRun, a.requestSeq, a.transition?.state], ['/c.json', true, 42, 'MASTER']);
  });

  it('when --standby is given then no state is expected and one is refused', () => {
    const a = parseNotifyArgv(['--config', '/c.json', '--standby']);
    assert.deepEqual([a.standby, a.transition], [true, undefined]);
    assert.throws(() => parseNotifyArgv(['--standby', 'master']), /reads its request number on stdin/);
  });

  it('when --fifo is given then no state is expected and one is refused', () => {
    assert.equal(parseNotifyArgv(['--fifo', '/run/k.fifo']).fifoPath, '/run/k.fifo');
    assert.throws(() => parseNotifyArgv(['--fifo', '/run/k.fifo', 'master']), /give no state/);
    assert.throws(() => parseNotifyArgv(['--fifo', '/f', '--dry-run']), /do not go together/);
  });

  it('when an option is unknown or lacks its value then USAGE', () => {
    assert.throws(() => parseNotifyArgv(['--force', 'master']), /unknown option "--force"/);
    assert.throws(() => parseNotifyArgv(['master', '--config']), /--config needs a value/);
    assert.throws(() => parseNotifyArgv(['--request-seq', '1.5', 'master']), /positive integer/);
  });

  it('when -h is given then help wins over a missing state', () => {
    assert.equal(parseNotifyArgv(['-h']).help, true);
  });
});

describe('notify FIFO lines', () => {
  it('when keepalived writes INSTANCE "VI_1" MASTER 100 then it is a MASTER transition', () => {
    const l = parseFifoLine('INSTANCE "VI_1" MASTER 100');
    assert.equal(l.kind, 'transition');
    assert.equal(l.kind === 'transition' ? l.transition.instance?.name : '', 'VI_1');
  });

  it('when the line is a priority change or lower-priority advert then it is ignored with a reason', () => {
    assert.deepEqual(parseFifoLine('INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100'), { kind: 'ignored', reason: 'MASTER_RX_LOWER_PRI is not a state change' });
    assert.equal(parseFifoLine('INSTANCE "VI_1" BACKUP_PRIORITY 90').kind, 'ignored');
    assert.equal(parseFifoLine('GROUP "G1" MASTER_PRIORITY 90').kind, 'ignored');
  });

  it('when the line is not a VRRP state line then it is ignored, never an exit', () => {
    for (const line of ['', 'VS 10.0.0.1:80 UP', 'INSTANCE VI_1 MASTER 100', 'INSTANCE "VI_1" WEIRD 100']) {
      assert.equal(parseFifoLine(line).kind, 'ignored', line);
    }
  });
});
