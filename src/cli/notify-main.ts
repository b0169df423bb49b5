import { nodeStateFiles } from '../state/files.js';
import { spawn } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadNodeConfig } from '../config/load.js';
import { DEFAULT_CONFIG_PATH, type Config } from '../config/schema.js';
import { AppError, describeError, isAppError } from '../errors.js';
import { POSITION_RECORD_FILE } from '../failover/position-record.js';
import { fileRequestStore, NOTIFY_LOCK } from '../failover/request-store.js';
import { runLatestWins, type RequestStore, type TransitionRequest } from '../failover/requests.js';
import { StepRunner, type FailoverPorts, type StepTiming, type TransitionContext } from '../failover/steps.js';
import type { TargetState } from '../failover/transition.js';
import { alertEvents, appendTransition, outcomeOf, triggerOf, type TransitionRecord } from '../history/transitions.js';
import { NOTIFY_USAGE, parseFifoLine, parseNotifyArgv } from '../keepalived/notify-args.js';
import { createLineLogger } from '../log/stderr-logger.js';
import type { LogFields, Logger } from '../log/types.js';
import { mysqlTarget } from '../mysql/targets.js';
import type { BinlogApplier, BinlogChunk, SqlConnector } from '../mysql/types.js';
import { gtidsInRange } from '../ssh/binlog-tail.js';
import { fireAlert } from '../platform/alert-hook.js';
import { writeFileAtomic } from '../platform/atomic-write.js';
import { systemClock } from '../platform/clock.js';
import { deadline } from '../platform/deadline.js';
import { installWatchdog, onTerminate } from '../platform/process.js';
import type { PeerFilesConnector } from '../ssh/types.js';
import { EXIT, exitCodeForError, type ExitCode } from './exit-codes.js';
import { tcpAnswer } from '../platform/tcp-probe.js';
import { awaitHandOff, codeStamp, startStandby, type Standby } from './standby-worker.js';

/** Output streams, injectable so the command can be driven in-process. */
export interface NotifyIo {
  stdout(text: string): void;
}

const defaultIo: NotifyIo = { stdout: (t) => void process.stdout.write(t) };

// One process handles at most this many transitions in a row before leaving the rest to their own processes.
const MAX_TRANSITIONS_PER_LOCK = 4;

// notify: keepalived's hook (detaches and returns at once), the FIFO consumer, or an operator's dry run.
export async function notifyMain(argv: readonly string[], io: NotifyIo = defaultIo): Promise<ExitCode> {
  const args = parseNotifyArgv(argv);
  if (args.help) {
    io.stdout(NOTIFY_USAGE);
    return EXIT.OK;
  }
  const configPath = resolve(args.configPath ?? DEFAULT_CONFIG_PATH);
  const config = loadNodeConfig(configPath);
  if (config.mode === 'group-replication') {
    const { groupNotifyMain } = await import('./group-notify-main.js');
    return groupNotifyMain(args, config, (t) => io.stdout(t));
  }

  if (args.dryRun && args.transition) return dryRun(config, args.transition.state, io);
  if (args.standby) return standbyWorker(configPath);
  if (args.fifoPath !== undefined) return consumeFifo(config, configPath, args.fifoPath, args.foreground);

  const state = args.transition?.state;
  if (!state) return EXIT.USAGE;
  await mkdir(config.paths.stateDir, { recursive: true });
  const store = fileRequestStore(config.paths.stateDir);
  // Record first: from here on the request cannot be lost, whatever happens to this process.
  const seq = args.requestSeq ?? (await recordRequest(store, config, state, args.transition?.origin ?? 'manual')).seq;
  if (!args.foreground) {
    spawnDetachedWorker(configPath, state, seq);
    return EXIT.OK;
  }
  const log = openNotifyLog(config);
  try {
    return await runWorker(config, store, seq, log);
  } finally {
    await closeLog(log);
  }
}

// Logger.close's own bound is an unref'd timer, which cannot keep the process alive: race it with a ref'd one.
async function closeLog(log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([log.close(1000), new Promise<void>((r) => { timer = setTimeout(r, 1200); })]);
  clearTimeout(timer);
}

async function recordRequest(store: RequestStore, config: Config, state: TargetState, origin: string): Promise<TransitionRequest> {
  const now = Date.now();
  return store.record({
    state, origin, pid: process.pid, requestedAt: new Date(now).toISOString(),
    transitionId: `${config.node.name}-${now.toString(36)}-${process.pid}`,
  });
}

const NOTIFY_BIN = fileURLToPath(new URL('../../../bin/notify', import.meta.url));

// setsid + no stdio: the worker leaves keepalived's process group (its SIGTERM/SIGKILL on stop) and PDEATHSIG.
function spawnDetachedWorker(configPath: string, state: TargetState, seq: number): void {
  const child = spawn(process.execPath, [NOTIFY_BIN, '--config', configPath, '--foreground', '--request-seq', String(seq), state.toLowerCase()], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}

// Loading winston costs ~25 ms of CPU, more than a whole caught-up promotion: the file logger is attached
// off the critical path, after FILE_LOGGER_AFTER_MS or when the transition ends, whichever is first. Lines
// before that are queued (with their own time in `at`); a SIGKILL inside that window loses only them.
const FILE_LOGGER_AFTER_MS = 100;

interface NotifyLog extends Logger {
  /** Loads the file logger now (idempotent) and replays the queue into it. */
  attach(): Promise<void>;
}

function openNotifyLog(config: Config): NotifyLog {
  let real: Logger | undefined;
  let attaching: Promise<void> | undefined;
  const queue: ((l: Logger) => void)[] = [];
  const attach = (): Promise<void> => {
    attaching ??= import('../log/winston-logger.js').then(({ createFileLogger }) => {
      real = createFileLogger({ logDir: config.paths.logDir, stem: 'notify', base: { pid: process.pid }, alsoStderr: process.stderr.isTTY === true });
      for (const write of queue.splice(0)) write(real);
    });
    return attaching;
  };
  const timer = setTimeout(() => void attach(), FILE_LOGGER_AFTER_MS);
  timer.unref();
  const make = (fields: LogFields): Logger => {
    const emit = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string, f?: LogFields): void => {
      if (real) return real[level](msg, { ...fields, ...f });
      const at = new Date().toISOString();
      queue.push((l) => l[level](msg, { ...fields, ...f, at }));
    };
    return {
      debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'),
      child: (f) => make({ ...fields, ...f }),
      close: async (ms) => {
        clearTimeout(timer);
        await attach();
        await real?.close(ms);
      },
    };
  };
  return Object.assign(make({}), { attach });
}

// The ssh2 adapter is imported on first use: promotion never waits for it, and notify still runs (logging why) without it.
function lazyPeerFiles(): PeerFilesConnector {
  return {
    // Every argument passes through: a dropped `via` once sent SSH for a peer behind the witness straight at the cut link.
    async connect(...args) {
      const { ssh2PeerFilesConnector } = await import('../ssh/ssh2-peer-files.js').catch((err: unknown) => {
        throw new AppError('SSH_FAILED', `SSH adapter unavailable: ${describeError(err)}`, { cause: err });
      });
      return ssh2PeerFilesConnector.connect(...args);
    },
  };
}

// Everything a transition may load is loaded while nothing waits: ssh2 and winston too, which the hook form defers.
async function standbyWorker(configPath: string): Promise<ExitCode> {
  const code = fileURLToPath(import.meta.url);
  const stamp = codeStamp(code);
  await Promise.all([loadWorkerModules(), import('../ssh/ssh2-peer-files.js'), import('../log/winston-logger.js')]);
  const handOff = await awaitHandOff(process.stdin, process.stdout, () => codeStamp(code) === stamp);
  if (handOff.kind === 'released') return EXIT.OK;
  // Read again now: the config may have changed since keepalived started the consumer.
  const config = loadNodeConfig(configPath);
  if (config.mode !== 'semisync-pair') throw new AppError('CONFIG_INVALID', `${configPath}: mode ${config.mode} has no standby worker`);
  const log = openNotifyLog(config);
  try {
    if (handOff.kind === 'declined') {
      log.info(`standby worker: ${code} was installed anew since it started; request #${handOff.seq} is left to a worker on the new code`);
      return EXIT.OK;
    }
    return await runWorker(config, fileRequestStore(config.paths.stateDir), handOff.seq, log);
  } finally {
    await closeLog(log);
  }
}

// The hook process only records a request and spawns the worker: mysql2, proper-lockfile and the failover code
// are loaded by the processes that use them (saves ~60 ms of the hook form's time to writable).
async function loadWorkerModules(): Promise<{ sql: SqlConnector; fileLock: typeof import('../platform/lock.js').fileLock;
  handleTransition: typeof import('../failover/handle.js').handleTransition }> {
  const [mysql, lock, handle] = await Promise.all([
    import('../mysql/mysql2-client.js'), import('../platform/lock.js'), import('../failover/handle.js'),
  ]);
  return { sql: mysql.mysql2Connector, fileLock: lock.fileLock, handleTransition: handle.handleTransition };
}

// The binlog applier is loaded only when a promotion found transactions to recover.
function lazyBinlogApplier(config: Config): BinlogApplier {
  return {
    async apply(chunks, flavor, signal) {
      const { createBinlogApplier } = await import('../mysql/binlog-applier.js');
      return createBinlogApplier({ dir: config.paths.stateDir, target: mysqlTarget(config) }).apply(chunks, flavor, signal);
    },
  };
}

function realPorts(config: Config, log: Logger, peerFiles: PeerFilesConnector, sql: SqlConnector): FailoverPorts {
  return {
    sql,
    peerFiles,
    binlogApplier: lazyBinlogApplier(config),
    witness: { connect: async (w, s) => (await import('../ssh/ssh2-peer-files.js')).ssh2WitnessConnector.connect(w, s) },
    clock: systemClock,
    log,
    tcpAnswer,
    writePosition: (record) => writeFileAtomic(join(config.paths.stateDir, POSITION_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`),
    state: nodeStateFiles(config.paths.stateDir),
    recordStartupRole: async (role, reason) => (await import('../heal/startup-role.js')).writeStartupRole(config.heal.startupRoleFile, role, reason, new Date()),
    healErrant: async (signal) => {
      const { realRejoinPorts } = await import('./commands/rejoin.js');
      const { runRejoin } = await import('../heal/rejoin.js');
      await runRejoin(config, await realRejoinPorts(config, log), { method: 'auto', onlyIfProvenSafe: true, dryRun: false, print: (l) => log.info(l) }, signal);
    },
  };
}

// The worker: takes the lock (bounded), applies the newest request, and keeps doing so until none is newer.
async function runWorker(config: Config, store: RequestStore, seq: number, log: NotifyLog): Promise<ExitCode> {
  const n = config.notify;
  const stopWatchdog = installWatchdog(n.lockWaitMs + MAX_TRANSITIONS_PER_LOCK * (n.deadlineMs + 2000) + 5000, EXIT.DEADLINE,
    () => log.error('watchdog: notify overran every deadline; exiting'));
  const terminated = new AbortController();
  const offTerminate = onTerminate((sig) => {
    log.warn(`${sig} received: aborting the transition (steps are idempotent; the next notify converges)`);
    terminated.abort();
  });
  const peerFiles = lazyPeerFiles();
  const { sql, fileLock, handleTransition } = await loadWorkerModules();
  try {
    const code = await runLatestWins(seq, {
      store, clock: systemClock, log,
      lock: fileLock(join(config.paths.stateDir, NOTIFY_LOCK.name), { staleMs: NOTIFY_LOCK.staleMs }),
    }, { lockWaitMs: n.lockWaitMs, maxTransitions: MAX_TRANSITIONS_PER_LOCK }, async (req, lost) => {
      const tlog = log.child({ transitionId: req.transitionId, state: req.state, seq: req.seq });
      const real = realPorts(config, tlog, peerFiles, sql);
      const tail: AppliedTail = { chunks: [] };
      const ports: FailoverPorts = {
        ...real,
        binlogApplier: noteAppliedTail(real.binlogApplier, tail),
        newerRequestPending: async () => ((await store.latest())?.seq ?? 0) > req.seq,
      };
      const ctx: TransitionContext = { config, ports, transitionId: req.transitionId, steps: new StepRunner(ports) };
      const started = Date.now();
      const finished = async (r: { exitCode: number; outcome: string }, err?: unknown): Promise<{ exitCode: number; outcome: string }> => {
        recordInLedger(config, req, started, ctx.steps.timings, r.exitCode, err, await describeTail(tail, tlog), tlog);
        return r;
      };
      tlog.info(`transition to ${req.state} started (request #${req.seq} from ${req.origin}, pid ${req.pid})`);
      try {
        await handleTransition(req.state, ctx, deadline(n.deadlineMs, AbortSignal.any([lost, terminated.signal])));
        tlog.info(`transition to ${req.state} done`, { durationMs: Date.now() - started, steps: ctx.steps.timings });
        const r = await finished({ exitCode: EXIT.OK, outcome: 'done' });
        await log.attach();
        return r;
      } catch (err) {
        if (isAppError(err) && err.code === 'SUPERSEDED') {
          tlog.info(`transition to ${req.state} cut short: ${err.message}`, { durationMs: Date.now() - started, steps: ctx.steps.timings });
          const r = await finished({ exitCode: EXIT.OK, outcome: `superseded: ${err.message}` }, err);
          await log.attach();
          return r;
        }
        const exitCode = isAppError(err) ? exitCodeForError(err.code) : EXIT.INTERNAL;
        // One line for an operator running it by hand (a detached worker's stderr goes nowhere; the log has it all).
        process.stderr.write(`notify: ${req.state}: ${describeError(err)}\n`);
        tlog.error(`transition to ${req.state} ended: ${describeError(err)}`, {
          durationMs: Date.now() - started, exitCode, code: isAppError(err) ? err.code : undefined, steps: ctx.steps.timings,
        });
        const r = await finished({ exitCode, outcome: describeError(err) }, err);
        await log.attach();
        return r;
      }
    });
    return code as ExitCode;
  } finally {
    offTerminate();
    stopWatchdog();
  }
}

/** What the old master's tail recovery applied here during one transition. */
interface AppliedTail {
  readonly chunks: BinlogChunk[];
}

// Keeps what the tail recovery applied, for the ledger; the applier itself is unchanged.
function noteAppliedTail(applier: BinlogApplier | undefined, tail: AppliedTail): BinlogApplier | undefined {
  if (!applier) return undefined;
  return {
    async apply(chunks, flavor, signal) {
      await applier.apply(chunks, flavor, signal);
      tail.chunks.push(...chunks);
    },
  };
}

// The applied tail for the ledger: bytes, files and the GTIDs of its transactions (read back from the applied events).
async function describeTail(tail: AppliedTail, log: Logger): Promise<TransitionRecord['recoveredTail']> {
  if (tail.chunks.length === 0) return undefined;
  const gtids: string[] = [];
  for (const c of tail.chunks) {
    try {
      gtids.push(...await gtidsInRange(c.formatDescription, c.from, c.events, deadline(2000), c.sourceFile));
    } catch (err) {
      log.warn(`cannot list the GTIDs recovered from ${c.sourceFile}: ${describeError(err)}`);
    }
  }
  return { bytes: tail.chunks.reduce((n, c) => n + c.events.length, 0), files: [...new Set(tail.chunks.map((c) => c.sourceFile))], gtids };
}

// The ledger line of one finished transition (docs/history.md); a ledger that cannot be written never fails the transition.
function recordInLedger(config: Config, req: TransitionRequest, started: number, steps: readonly StepTiming[], exitCode: number,
  err: unknown, recoveredTail: TransitionRecord['recoveredTail'], log: Logger): void {
  const ended = Date.now();
  const superseded = isAppError(err) && err.code === 'SUPERSEDED';
  const gtidAfter = positionGtid(config, req.transitionId);
  const record: TransitionRecord = {
    v: 1, id: req.transitionId, node: config.node.name, state: req.state, trigger: triggerOf(req.origin), origin: req.origin,
    seq: req.seq, requestedAt: req.requestedAt, startedAt: new Date(started).toISOString(), endedAt: new Date(ended).toISOString(),
    durationMs: ended - started, steps: steps.map((t) => ({ step: t.step, durationMs: t.durationMs, ok: t.ok })),
    outcome: outcomeOf(exitCode, superseded), exitCode,
    ...(err !== undefined ? { error: { code: isAppError(err) ? err.code : 'INTERNAL', message: describeError(err) } } : {}),
    ...(gtidAfter !== undefined ? { gtidAfter } : {}),
    ...(recoveredTail !== undefined ? { recoveredTail } : {}),
  };
  try {
    appendTransition(config.paths.stateDir, record);
  } catch (e) {
    log.error(`cannot append to the transition ledger: ${describeError(e)}`);
  }
  if (config.alerts !== undefined) {
    const { command, timeoutMs } = config.alerts;
    const onError = (why: string): void => log.warn(why);
    for (const event of alertEvents(record)) fireAlert(command, timeoutMs, event, onError);
  }
}

// position.json's GTID position, when this transition wrote it.
function positionGtid(config: Config, transitionId: string): string | undefined {
  try {
    const rec = JSON.parse(readFileSync(join(config.paths.stateDir, POSITION_RECORD_FILE), 'utf8')) as { transitionId?: unknown; gtidBinlogPos?: unknown };
    return rec.transitionId === transitionId && typeof rec.gtidBinlogPos === 'string' ? rec.gtidBinlogPos : undefined;
  } catch {
    return undefined;
  }
}

// --dry-run: the reads a plan is made from run, then the plan is printed instead of executed; no request, no lock, no state file, no log file.
async function dryRun(config: Config, state: TargetState, io: NotifyIo): Promise<ExitCode> {
  const log = createLineLogger((l) => process.stderr.write(l), { dryRun: true });
  const { sql, handleTransition } = await loadWorkerModules();
  const lines: string[] = [];
  const ports: FailoverPorts = {
    sql, clock: systemClock, log, tcpAnswer, writePosition: async () => undefined, recordStartupRole: async () => undefined,
    state: { ...nodeStateFiles(config.paths.stateDir), writeTerm: async () => undefined, clearStepDown: () => undefined, recordAsyncSwitch: () => undefined },
    healErrant: async () => { throw new AppError('INTERNAL', 'a dry run heals nothing'); },
  };
  const ctx: TransitionContext = { config, ports, transitionId: 'dry-run', steps: new StepRunner(ports) };
  io.stdout(`notify --dry-run: ${state} on node ${config.node.name} (peer ${config.peer.name} ${config.peer.host}); nothing is changed\n`);
  let code: ExitCode = EXIT.OK;
  try {
    await handleTransition(state, ctx, deadline(config.notify.deadlineMs), { kind: 'print', print: (line) => lines.push(line) });
  } catch (err) {
    code = isAppError(err) ? exitCodeForError(err.code) : EXIT.INTERNAL;
    lines.push(`  cannot plan: ${describeError(err)}`);
  }
  const reads = ctx.steps.timings.map((t) => t.step).join(', ');
  io.stdout(`${lines.join('\n')}${lines.length > 0 ? '\n' : ''}reads: ${reads}\n`);
  return code;
}

// keepalived's notify FIFO: each line recorded in order (the FIFO's guarantee), then handled through the same lock path.
async function consumeFifo(config: Config, configPath: string, fifoPath: string, foreground: boolean): Promise<ExitCode> {
  await mkdir(config.paths.stateDir, { recursive: true });
  const store = fileRequestStore(config.paths.stateDir);
  const log = openNotifyLog(config);
  await log.attach();
  const input = createReadStream(fifoPath, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  const offTerminate = onTerminate((sig) => {
    log.info(`${sig} received: closing the FIFO`);
    lines.close();
    input.destroy();
  });
  let work: Promise<unknown> = Promise.resolve();
  const standbyArgv = [NOTIFY_BIN, '--config', configPath, '--standby'];
  let standby: Standby | undefined = foreground ? undefined : startStandby(standbyArgv);
  let opened = true;
  input.once('error', (err) => {
    opened = false;
    log.error(`cannot read FIFO ${fifoPath}: ${err.message}`);
    lines.close();
  });
  log.info(`reading keepalived notify FIFO ${fifoPath}`);
  try {
    for await (const line of lines) {
      const parsed = parseFifoLine(line);
      if (parsed.kind === 'ignored') {
        log.info(`FIFO line ignored (${parsed.reason}): ${line.slice(0, 200)}`);
        continue;
      }
      const req = await recordRequest(store, config, parsed.transition.state, `fifo ${parsed.transition.instance?.name ?? ''}`.trim());
      log.info(`FIFO: ${parsed.transition.state} recorded as request #${req.seq}`, { transitionId: req.transitionId });
      if (foreground) {
        // One in-process worker at a time; a later line's request supersedes an earlier one still waiting.
        work = work.then(() => runWorker(config, store, req.seq, log)).catch((err: unknown) => log.error(`FIFO worker: ${describeError(err)}`));
      } else {
        const handed = standby ?? startStandby(standbyArgv);
        standby = startStandby(standbyArgv);
        const { state } = parsed.transition;
        handed.hand(req.seq, () => {
          log.warn(`the standby worker ended without taking request #${req.seq}: starting a worker for it`);
          spawnDetachedWorker(configPath, state, req.seq);
        });
      }
    }
    await work;
    log.info('FIFO closed: exiting');
    return opened ? EXIT.OK : EXIT.UNAVAILABLE;
  } finally {
    standby?.release();
    offTerminate();
    await closeLog(log);
  }
}
