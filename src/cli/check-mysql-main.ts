import { parseArgs } from 'node:util';
import { loadNodeConfig } from '../config/load.js';
import { DEFAULT_CONFIG_PATH, type Config, type GroupReplicationConfig, type NodeConfig } from '../config/schema.js';
import { AppError, describeError, isAppError } from '../errors.js';
import type { HealthDeps, HealthRun } from '../health/check.js';
import { checkRound, type Round, type RoundIo, type RoundRun } from '../health/round.js';
import { actedFor, decisionFor, recordCheckEntry, type CheckJournalEntry } from '../health/decision-journal.js';
import { describeAttempt, isQuiet, type Attempt, type Verdict } from '../health/evaluate.js';
import type { GroupCheckDeps } from '../health/group-check.js';
import { GROUP_ROLES, type GroupRole } from '../health/group-evaluate.js';
import { localAddresses } from '../platform/ip.js';
import { checkGroupMemberOnce } from './check-group-member.js';
import { spawn } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stopKeepalived, type ProcessControl, type StopOutcome } from '../keepalived/pidfile.js';
import type { LogFields, Logger } from '../log/types.js';
import { createLineLogger } from '../log/stderr-logger.js';
import { mysql2Connector } from '../mysql/mysql2-client.js';
import { mysqlTarget, peerMysqlTarget } from '../mysql/targets.js';
import type { MysqlTarget } from '../mysql/types.js';
import { systemClock } from '../platform/clock.js';
import { scope } from '../platform/deadline.js';
import { createMysqldInspector } from '../platform/mysqld-inspector.js';
import { readPidFile, readProcess, sendSigterm } from '../platform/procfs.js';
import { installWatchdog } from '../platform/process.js';
import { probeTcp } from '../platform/tcp-probe.js';
import { readLocalGuard, type GuardOutcome } from '../health/guard.js';
import { isolationEndpoints, probeAny, PROBE_TIMEOUT_MS, type Endpoint } from '../health/isolation.js';
import { probeMysqlByLogin, type LoginProbe } from '../health/mysql-answer.js';
import { appendAsyncSwitch, readStepDown, WATCH_BEAT_FILE, writeStepDown } from '../state/files.js';
import { beatIsFresh } from '../health/watch.js';
import { EXIT, type ExitCode } from './exit-codes.js';

export const CHECK_MYSQL_USAGE = `Usage: check-mysql [--config PATH] [--explain]
       check-mysql [--config PATH] --role write|read|member [--explain]     (mode group-replication)

keepalived's vrrp_script: exit 0 while the local MySQL answers; on "down" stop keepalived
(check.onDown "stop-keepalived") or only exit 1 (check.onDown "exit").
In mode group-replication: exit 0 while this member may hold the VIP of --role (write: the
PRIMARY; read: an ONLINE SECONDARY; member: either), in a majority, with the gateway answering.

Options:
  --config PATH  node config (default ${DEFAULT_CONFIG_PATH})
  --role ROLE    mode group-replication only: the role of the instance this check tracks
  --explain      print each probe, its timing and the verdict; never signals keepalived
  -h, --help     show this help

Exit codes: 0 healthy, 1 down, 64 usage, 70 internal, 75 deadline passed before a verdict, 78 config.
`;

export interface CheckMysqlArgs {
  readonly configPath: string;
  readonly role?: GroupRole;
  readonly explain: boolean;
  readonly help: boolean;
}

// node:util parseArgs, not a CLI framework: keepalived runs this every second. Its own call, `--config <path>`, is
// answered without it: loading and first running parseArgs cost 0.8 ms of every run (a test keeps both answers equal).
export function parseCheckMysqlArgs(argv: readonly string[]): CheckMysqlArgs {
  const [flag, path, ...rest] = argv;
  if (flag === '--config' && path !== undefined && path !== '' && !path.startsWith('-') && rest.length === 0) {
    return { configPath: path, explain: false, help: false };
  }
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string' },
        explain: { type: 'boolean', default: false },
        role: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.config === '') throw new AppError('USAGE', 'option --config needs a path (try --help)');
    const role = values.role;
    if (role !== undefined && !(GROUP_ROLES as readonly string[]).includes(role)) throw new AppError('USAGE', `--role ${role}: expected write, read or member`);
    return {
      configPath: values.config ?? DEFAULT_CONFIG_PATH, explain: values.explain === true, help: values.help === true,
      ...(role !== undefined ? { role: role as GroupRole } : {}),
    };
  } catch (err) {
    if (isAppError(err)) throw err;
    const first = describeError(err).split('. ')[0] ?? 'bad arguments';
    throw new AppError('USAGE', `${first} (try --help)`);
  }
}

/** The outside world of one run; tests replace parts of it. */
export interface CheckMysqlIo extends RoundIo {
  readonly stdout: (text: string) => void;
  readonly loadConfig: (path: string) => NodeConfig;
  readonly groupMember: (config: GroupReplicationConfig) => GroupCheckDeps;
  readonly processControl: ProcessControl;
  /** Opens the daily-rotated file log; only reached on a run that has something to say. */
  readonly openLog: (config: NodeConfig) => Promise<Logger>;
  /** Synchronous fsynced append to the decision journal: runs before the action it announces. */
  readonly record: (config: Config, entry: CheckJournalEntry) => void;
  /** Whether a resident watcher (fast profile) beats: it then runs the semi-sync guard, and this run does not. */
  readonly watcherBeating: (config: Config) => boolean;
}

export const realCheckMysqlIo: CheckMysqlIo = {
  stdout: (text) => void process.stdout.write(text),
  loadConfig: (path) => loadNodeConfig(path),
  health: (config) => ({
    connector: mysql2Connector,
    ask: 'SELECT 1',
    clock: systemClock,
    inspector: createMysqldInspector({
      port: config.mysql.port,
      ...(config.paths.mysqldPidFile !== undefined ? { pidFile: config.paths.mysqldPidFile } : {}),
      ...(config.mysql.socketPath !== undefined ? { socketPath: config.mysql.socketPath } : {}),
    }),
    isolation: isolationProber(isolationEndpoints(config), (t, ms, signal) => probeMysqlByLogin(mysql2Connector, t, ms, signal)),
    readLocal: readLocalGuard,
  }),
  groupMember: (config) => {
    const g = config.check.gateway;
    return {
      connector: mysql2Connector,
      clock: systemClock,
      localAddresses,
      ...(g !== undefined ? { gateway: (signal: AbortSignal) => probeTcp(g.host, g.port, g.timeoutMs, signal) } : {}),
    };
  },
  guard: (config) => ({
    sql: mysql2Connector,
    // A literal specifier: the bundle keeps ssh2 out of the healthy path and loads it only for a proof through the witness.
    witness: async () => (await import('../ssh/ssh2-peer-files.js')).ssh2WitnessConnector,
    recordAsyncSwitch: (r) => appendAsyncSwitch(config.paths.stateDir, r),
    stepDown: (r) => writeStepDown(config.paths.stateDir, r),
    now: () => Date.now(),
  }),
  stepDown: {
    read: (config) => readStepDown(config.paths.stateDir),
    peerInSight: async (config, signal) => (await probeMysqlByLogin(mysql2Connector, peerMysqlTarget(config, PROBE_TIMEOUT_MS), PROBE_TIMEOUT_MS, signal)).answered,
    requestRejoin: (config, configPath) => requestRejoin(config, configPath, Date.now()),
  },
  processControl: { readPidFile: (p) => readPidFile(p), readProcess: (pid) => readProcess(pid), sendSigterm },
  openLog: async (config) => {
    // winston is loaded here and only here: a healthy run never pays for it.
    const { createFileLogger } = await import('../log/winston-logger.js');
    return createFileLogger({ logDir: config.paths.logDir, stem: 'check-mysql', base: { command: 'check-mysql', node: config.node.name, pid: process.pid } });
  },
  record: (config, entry) => recordCheckEntry(config.paths.stateDir, entry, (line) => void process.stderr.write(`${line}\n`)),
  watcherBeating: (config) => beatIsFresh(statSync(join(config.paths.stateDir, WATCH_BEAT_FILE), { throwIfNoEntry: false })?.mtimeMs, Date.now(), config.check),
};

const who = (config: Config): { node: string; pid: number; at: string } => ({ node: config.node.name, pid: process.pid, at: new Date().toISOString() });

/** The isolation guard: the peer asked with `login`, the witness and the gateway with a bare connect. */
export function isolationProber(endpoints: readonly Endpoint[], login: LoginProbe): NonNullable<HealthDeps['isolation']> {
  return (signal) => probeAny(endpoints, (e, s) => e.login !== undefined ? login(e.login, e.timeoutMs, s) : probeTcp(e.host, e.port, e.timeoutMs, s), signal);
}

// Slack after check.deadlineMs for the watchdog: the run's own deadline handling comes first.
const WATCHDOG_GRACE_MS = 1000;

export async function checkMysqlMain(argv: readonly string[], io: CheckMysqlIo = realCheckMysqlIo): Promise<ExitCode> {
  const args = parseCheckMysqlArgs(argv);
  if (args.help) {
    io.stdout(CHECK_MYSQL_USAGE);
    return EXIT.OK;
  }
  const config = io.loadConfig(args.configPath);
  const startedAt = Date.now();
  const deadlineAt = startedAt + config.check.deadlineMs;
  const whole = scope(undefined, config.check.deadlineMs, 'check.deadlineMs');
  const { signal } = whole;
  const cancelWatchdog = installWatchdog(config.check.deadlineMs + WATCHDOG_GRACE_MS, EXIT.DEADLINE);
  try {
    if (config.mode === 'group-replication') {
      const writeGroupLog = (write: (log: Logger) => void): Promise<void> => writeLog(io, config, { deadlineAt }, write);
      return await checkGroupMemberOnce(config, args, io.groupMember(config), { stdout: io.stdout, writeLog: writeGroupLog }, { signal });
    }
    if (args.role !== undefined) throw new AppError('USAGE', '--role is for mode group-replication; this node is a semisync-pair node');
    return await checkOnce(config, args, io, { signal, startedAt, deadlineAt });
  } finally {
    whole.end();
    cancelWatchdog();
  }
}

async function checkOnce(
  config: Config,
  args: CheckMysqlArgs,
  io: CheckMysqlIo,
  run: RoundRun,
): Promise<ExitCode> {
  const target = mysqlTarget(config);
  // One actor while a watcher beats: its rounds run the semi-sync guard and the isolation probe, whose answer reaches
  // keepalived through check.down. Two probers would log in to the peer twice a second, and ask the witness's sshd
  // twice a second while the peer is silent (OpenSSH 9.8+ refuses a source that often leaves before authenticating).
  const watcher = !args.explain && io.watcherBeating(config);
  const roundIo: RoundIo = watcher ? { ...io, health: (c) => withoutIsolation(io.health(c)) } : io;
  let round: Round;
  try {
    round = await checkRound(config, args.configPath, target, roundIo, run, () => !args.explain && !watcher);
  } catch (err) {
    if (!isAppError(err) || err.code !== 'DEADLINE_EXCEEDED') throw err;
    if (args.explain) io.stdout(`verdict: none, ${err.message} (exit ${EXIT.DEADLINE})\n`);
    else io.record(config, decisionFor(undefined, config.check.onDown, EXIT.DEADLINE, who(config), err.message));
    await writeLog(io, config, run, (log) => log.error('no verdict: deadline passed; keepalived is left alone', { error: err.message, deadlineMs: config.check.deadlineMs }));
    throw err;
  }
  const { health, guard } = round;
  const { verdict } = health;
  if (isQuiet(verdict) && guard.action === 'none' && !args.explain) return EXIT.OK;

  const code = verdict.status === 'healthy' ? EXIT.OK : EXIT.DOWN;
  // On disk before acting: keepalived kills its scripts as it stops, so what comes after may never be written.
  if (!args.explain && !isQuiet(verdict)) io.record(config, decisionFor(verdict, config.check.onDown, code, who(config)));
  const stop = verdict.status === 'down' && config.check.onDown === 'stop-keepalived'
    ? stopKeepalived(config.paths.keepalivedPidFile, io.processControl, { dryRun: args.explain })
    : undefined;
  if (stop && !args.explain) io.record(config, actedFor(stop, who(config)));
  if (args.explain) io.stdout(explainRun(config, health, stop, code));
  if (!isQuiet(verdict) || guard.action !== 'none') {
    await writeLog(io, config, run, (log) => {
      logRound(log, config, round);
      if (!isQuiet(verdict)) logRun(log, target, health, stop, config, code);
    });
  }
  return code;
}

function withoutIsolation({ isolation: _, ...deps }: HealthDeps): HealthDeps {
  return deps;
}

/** The lines every round with something to say starts with: a rejoin request, the semi-sync guard's action. */
export function logRound(log: Logger, config: Config, round: Round): void {
  if (round.rejoin === 'requested') log.warn(`${config.peer.name}'s MySQL is in sight: asked notify to rejoin (it decides whether a newer master is there)`);
  logGuard(log, round.guard);
}

const REJOIN_REQUEST_EVERY_MS = 15_000;

// notify records the request and detaches its worker; the stamp file keeps this to one request per interval.
function requestRejoin(config: Config, configPath: string, now: number): 'requested' | 'recently-requested' {
  const stamp = join(config.paths.stateDir, 'rejoin-requested');
  try {
    if (now - statSync(stamp).mtimeMs < REJOIN_REQUEST_EVERY_MS) return 'recently-requested';
  } catch {
    // No stamp yet: request.
  }
  writeFileSync(stamp, `${new Date(now).toISOString()}\n`);
  const notify = join(dirname(process.argv[1] ?? ''), 'notify');
  spawn(notify, ['--config', configPath, 'rejoin'], { detached: true, stdio: 'ignore' }).unref();
  return 'requested';
}

function logGuard(log: Logger, g: GuardOutcome): void {
  if (g.action === 'none') return;
  const level = g.action === 'enabled-semi-sync' ? 'info' : g.action === 'kept-waiting' ? 'warn' : 'error';
  log[level](`semi-sync guard: ${g.action}: ${g.detail}`, { action: g.action });
}


// Opens the file log, writes, and flushes within what is left of the deadline; a broken log dir falls back to stderr.
async function writeLog(io: CheckMysqlIo, config: NodeConfig, run: { deadlineAt: number }, write: (log: Logger) => void): Promise<void> {
  let log: Logger;
  try {
    log = await io.openLog(config);
  } catch (err) {
    log = createLineLogger();
    log.error(`cannot open the log in ${config.paths.logDir}: ${describeError(err)}`);
  }
  write(log);
  await log.close(Math.max(100, run.deadlineAt - Date.now()));
}

function logRun(log: Logger, target: MysqlTarget, health: HealthRun, stop: StopOutcome | undefined, config: Config, code: ExitCode): void {
  const { probes, verdict } = health;
  const where: LogFields = target.socketPath !== undefined
    ? { socketPath: target.socketPath, user: target.user }
    : { host: target.host, port: target.port, user: target.user };
  logAttempt(log, 'first attempt', probes.first, where);
  if (probes.process) log.info(`process: ${probes.process.detail}`, { found: probes.process.found });
  if (probes.port) log.info(`port: ${probes.port.detail}`, { listening: probes.port.listening });
  probes.retries.forEach((a, i) => logAttempt(log, `retry ${i + 1} of ${config.check.retries}`, a, where));
  if (probes.retriesCutShort) log.warn('retries cut short: another one would not end before check.deadlineMs', { deadlineMs: config.check.deadlineMs });
  if (probes.isolation) log.info(`isolation guard: ${probes.isolation.detail}`, { answered: probes.isolation.answered, ms: probes.isolation.ms });
  logVerdict(log, verdict, code);
  if (stop) {
    const level = stop.action === 'signalled' || stop.action === 'dry-run' ? 'warn' : 'error';
    log[level](`stop-keepalived: ${stop.detail}`, { action: stop.action });
  } else if (verdict.status === 'down') {
    log.warn('check.onDown is "exit": keepalived is left running; its fall/weight settings decide', {});
  }
}

function logAttempt(log: Logger, name: string, a: Attempt, where: LogFields): void {
  const fields = { ...where, at: a.at, ms: a.ms, ...(a.ok ? {} : { kind: a.kind }) };
  if (a.ok) log.info(`${name}: ok`, fields);
  else if (a.kind === 'alive-but-refusing') log.error(`${name}: mysqld alive but refusing: ${a.detail}`, fields);
  else log.warn(`${name}: ${a.kind}: ${a.detail}`, fields);
}

function logVerdict(log: Logger, verdict: Verdict, code: ExitCode): void {
  if (verdict.status === 'down') log.error(`verdict: down (${verdict.reason}): ${verdict.summary}`, { exit: code });
  else if (verdict.how === 'alive-but-refusing') log.error(`verdict: healthy, but ${verdict.summary}`, { exit: code });
  else log.warn(`verdict: healthy: ${verdict.summary}`, { exit: code });
}

// For a human at a terminal: every probe with its start offset and duration, then the verdict and the action.
export function explainRun(config: Config, health: HealthRun, stop: StopOutcome | undefined, code: ExitCode): string {
  const { probes, verdict } = health;
  const m = config.mysql;
  const where = m.socketPath !== undefined ? `socket ${m.socketPath}` : `${m.host}:${m.port}`;
  const lines = [`check-mysql: ${where} as ${m.user}, deadline ${config.check.deadlineMs} ms, ${config.check.retries} retries ${config.check.retryIntervalMs} ms apart`];
  const attempt = (name: string, a: Attempt): string => `  +${a.at} ms  ${name}: connect + SELECT 1: ${describeAttempt(a)}`;
  lines.push(attempt('first attempt', probes.first));
  if (probes.process) lines.push(`  process: ${probes.process.found ? 'found' : 'MISSING'}: ${probes.process.detail}`);
  if (probes.port) lines.push(`  port: ${probes.port.listening ? 'open' : 'CLOSED'}: ${probes.port.detail}`);
  probes.retries.forEach((a, i) => lines.push(attempt(`retry ${i + 1}`, a)));
  if (probes.retriesCutShort) lines.push('  retries cut short: another one would not end before the deadline');
  if (probes.isolation) lines.push(`  isolation guard: ${probes.isolation.answered ? 'answers' : 'SILENT'} in ${probes.isolation.ms} ms: ${probes.isolation.detail}`);
  if (probes.steppedDown) lines.push(`  stepped down: ${probes.steppedDown}`);
  lines.push(verdict.status === 'down' ? `verdict: DOWN (${verdict.reason}): ${verdict.summary}` : `verdict: healthy: ${verdict.summary}`);
  if (stop) lines.push(`action: ${stop.detail}${stop.action === 'dry-run' ? ' (--explain never signals)' : ''}`);
  else if (verdict.status === 'down') lines.push('action: none (check.onDown is "exit")');
  lines.push(`exit: ${code}`);
  return `${lines.join('\n')}\n`;
}
