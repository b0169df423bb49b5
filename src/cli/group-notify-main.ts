import type { VipInstance } from '../config/group-replication.js';
import type { GroupReplicationConfig } from '../config/schema.js';
import { AppError, describeError, isAppError } from '../errors.js';
import { handleGroupTransition, type GroupNotifyPorts } from '../failover/group-notify.js';
import type { Transition } from '../failover/transition.js';
import type { NotifyArgs } from '../keepalived/notify-args.js';
import { createLineLogger } from '../log/stderr-logger.js';
import type { Logger } from '../log/types.js';
import { mysql2Connector } from '../mysql/mysql2-client.js';
import { deadline } from '../platform/deadline.js';
import { localAddresses } from '../platform/ip.js';
import { installWatchdog } from '../platform/process.js';
import { tcpConnectionsOnPort } from '../platform/tcp-table.js';
import { EXIT, exitCodeForError, type ExitCode } from './exit-codes.js';

// notify in mode group-replication: in the hook's own process, one instance at a time, bounded by notify.deadlineMs.
// No request store, lock or detached worker: there is no promotion to protect, and ending sessions takes milliseconds.
export async function groupNotifyMain(args: NotifyArgs, config: GroupReplicationConfig, stdout: (text: string) => void): Promise<ExitCode> {
  if (args.fifoPath !== undefined) {
    throw new AppError('USAGE', '--fifo is for mode semisync-pair; in mode group-replication each vrrp_instance calls notify itself');
  }
  const transition = args.transition;
  if (transition === undefined) throw new AppError('USAGE', 'missing state');
  const instances = instancesOf(transition, config);
  const dry = args.dryRun;
  const log = dry ? createLineLogger((l) => process.stderr.write(l), { dryRun: true }) : await openLog(config);
  const lines: string[] = [];
  const ports: GroupNotifyPorts = {
    sql: mysql2Connector,
    log: log.child({ state: transition.state, origin: transition.origin }),
    tcpConnections: (port) => tcpConnectionsOnPort(port),
    localAddresses,
    ...(dry ? { plan: (line: string) => lines.push(line) } : {}),
  };
  const stopWatchdog = installWatchdog(config.notify.deadlineMs + 2000, EXIT.DEADLINE, () => log.error('watchdog: notify overran notify.deadlineMs; exiting'));
  let code: ExitCode = EXIT.OK;
  try {
    ports.log.info(`${transition.state} for ${instances.map((i) => `${i.name} (${i.vip})`).join(', ')} (mode group-replication)`);
    await handleGroupTransition(transition.state, instances, config, ports, deadline(config.notify.deadlineMs));
  } catch (err) {
    code = isAppError(err) ? exitCodeForError(err.code) : EXIT.INTERNAL;
    ports.log.error(`${transition.state}: ${describeError(err)}`, { exitCode: code, code: isAppError(err) ? err.code : undefined });
    if (!dry) process.stderr.write(`notify: ${transition.state}: ${describeError(err)}\n`);
  } finally {
    stopWatchdog();
    await log.close(1000);
  }
  if (dry) stdout(`notify --dry-run: ${transition.state} on node ${config.node.name} (mode group-replication); nothing is changed\n${lines.map((l) => `${l}\n`).join('')}`);
  return code;
}

// keepalived names its instance; an operator's `notify backup` means every VIP of this node.
function instancesOf(t: Transition, config: GroupReplicationConfig): readonly VipInstance[] {
  const all = config.groupReplication.instances;
  if (t.instance === undefined) return all;
  if (t.instance.kind === 'GROUP') {
    throw new AppError('USAGE', `vrrp_sync_group ${t.instance.name}: mode group-replication handles instance notifications only (put notify on each vrrp_instance)`);
  }
  const found = all.find((i) => i.name === t.instance?.name);
  if (!found) {
    throw new AppError('USAGE', `vrrp_instance ${t.instance.name} is not in groupReplication.instances (${all.map((i) => i.name).join(', ')})`);
  }
  return [found];
}

// winston is loaded only by a run that logs to file (every real transition does).
async function openLog(config: GroupReplicationConfig): Promise<Logger> {
  const { createFileLogger } = await import('../log/winston-logger.js');
  return createFileLogger({ logDir: config.paths.logDir, stem: 'notify', base: { pid: process.pid, node: config.node.name }, alsoStderr: process.stderr.isTTY === true });
}
