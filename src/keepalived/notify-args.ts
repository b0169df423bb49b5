import { AppError } from '../errors.js';
import type { TargetState, Transition } from '../failover/transition.js';

// keepalived's notify arguments and notify-FIFO lines, and notify's own argv.

const STATES: ReadonlyMap<string, TargetState> = new Map([
  ['MASTER', 'MASTER'], ['BACKUP', 'BACKUP'], ['STOP', 'STOP'], ['FAULT', 'FAULT'],
]);

// keepalived sends DELETED instead of FAULT when an instance is removed on reload: the node no longer holds the VIP, fence it.
const KEEPALIVED_ONLY_STATES: ReadonlyMap<string, TargetState> = new Map([['DELETED', 'FAULT']]);

// check-mysql asks a stepped-down node to rejoin once the peer is in sight; keepalived never sends it.
const MANUAL_ONLY_STATES: ReadonlyMap<string, TargetState> = new Map([['REJOIN', 'REJOIN']]);

const usage = (msg: string): AppError => new AppError('USAGE', msg);

// Parses the positional arguments of the hook: keepalived's four or the operator's one, case-insensitive.
export function parseTransitionArgs(args: readonly string[]): Transition {
  if (args.length === 1) {
    const word = (args[0] ?? '').toUpperCase();
    const state = STATES.get(word) ?? MANUAL_ONLY_STATES.get(word);
    if (!state) throw usage(`unknown state ${JSON.stringify(args[0])}: expected master, backup, stop, fault or rejoin`);
    return { state, origin: 'manual' };
  }
  if (args.length === 4) {
    const [kindRaw, name, stateRaw, priorityRaw] = args as [string, string, string, string];
    const kind = kindRaw.toUpperCase();
    if (kind !== 'INSTANCE' && kind !== 'GROUP') {
      throw usage(`unknown keepalived object ${JSON.stringify(kindRaw)}: expected INSTANCE or GROUP`);
    }
    if (name.length === 0) throw usage('empty keepalived instance name');
    const upper = stateRaw.toUpperCase();
    const state = STATES.get(upper) ?? KEEPALIVED_ONLY_STATES.get(upper);
    if (!state) throw usage(`unknown keepalived state ${JSON.stringify(stateRaw)}: expected MASTER, BACKUP, STOP or FAULT`);
    if (!/^\d{1,3}$/.test(priorityRaw) || Number(priorityRaw) > 255) {
      throw usage(`bad keepalived priority ${JSON.stringify(priorityRaw)}: expected 0 to 255`);
    }
    return { state, origin: 'keepalived', instance: { kind, name, priority: Number(priorityRaw) } };
  }
  if (args.length === 0) throw usage('missing state: notify master|backup|stop|fault, or keepalived\'s INSTANCE|GROUP name STATE priority');
  throw usage(`expected 1 argument (master|backup|stop|fault) or 4 (INSTANCE|GROUP name STATE priority), got ${args.length}`);
}

/** One line read from keepalived's vrrp_notify_fifo. */
export type FifoLine =
  | { readonly kind: 'transition'; readonly transition: Transition }
  | { readonly kind: 'ignored'; readonly reason: string };

// `INSTANCE "VI_1" MASTER 100`: name quoted; priority-change and lower-priority-advert lines carry no state change.
export function parseFifoLine(line: string): FifoLine {
  const m = /^\s*(INSTANCE|GROUP)\s+"((?:[^"\\]|\\.)*)"\s+(\S+)\s+(\S+)\s*$/i.exec(line);
  if (!m) return { kind: 'ignored', reason: 'not a VRRP instance or group line' };
  const [, kind = '', name = '', state = '', priority = ''] = m;
  const upper = state.toUpperCase();
  if (upper === 'MASTER_RX_LOWER_PRI' || upper.endsWith('_PRIORITY')) {
    return { kind: 'ignored', reason: `${upper} is not a state change` };
  }
  try {
    return { kind: 'transition', transition: parseTransitionArgs([kind, name, state, priority]) };
  } catch (err) {
    return { kind: 'ignored', reason: (err as Error).message };
  }
}

export interface NotifyArgs {
  readonly configPath?: string;
  readonly dryRun: boolean;
  /** Internal/testing: do the work in this process instead of a detached child. */
  readonly foreground: boolean;
  readonly fifoPath?: string;
  readonly help: boolean;
  /** Internal: the detached worker's already-recorded request number. */
  readonly requestSeq?: number;
  /** Internal: the worker --fifo starts ahead; it reads its request number on stdin. */
  readonly standby: boolean;
  readonly transition?: Transition;
}

// Parses notify's whole argv: flags (before or between the positionals keepalived appends) and the state.
export function parseNotifyArgv(argv: readonly string[]): NotifyArgs {
  let configPath: string | undefined;
  let fifoPath: string | undefined;
  let requestSeq: number | undefined;
  let dryRun = false;
  let foreground = false;
  let standby = false;
  let help = false;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined || v === '') throw usage(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--config': configPath = value(); break;
      case '--fifo': fifoPath = value(); break;
      case '--request-seq': {
        const v = value();
        if (!/^\d{1,15}$/.test(v)) throw usage(`--request-seq needs a positive integer, got ${JSON.stringify(v)}`);
        requestSeq = Number(v);
        break;
      }
      case '--dry-run': dryRun = true; break;
      case '--foreground': foreground = true; break;
      case '--standby': standby = true; break;
      case '-h': case '--help': help = true; break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw usage(`unknown option ${JSON.stringify(arg)}`);
        positional.push(arg);
    }
  }
  const base = {
    dryRun, foreground, standby, help,
    ...(configPath !== undefined ? { configPath } : {}),
    ...(requestSeq !== undefined ? { requestSeq } : {}),
  };
  if (help || standby) {
    if (standby && positional.length > 0) throw usage('--standby reads its request number on stdin: give no state arguments');
    return base;
  }
  if (fifoPath !== undefined) {
    if (positional.length > 0) throw usage('--fifo reads states from the FIFO: give no state arguments');
    if (dryRun) throw usage('--fifo and --dry-run do not go together');
    return { ...base, fifoPath };
  }
  return { ...base, transition: parseTransitionArgs(positional) };
}

export const NOTIFY_USAGE = `usage: notify [--config PATH] [--dry-run] [--foreground] INSTANCE|GROUP NAME STATE PRIORITY
       notify [--config PATH] [--dry-run] master|backup|stop|fault
       notify [--config PATH] --fifo PATH     (recommended: keepalived vrrp_notify_fifo + vrrp_notify_fifo_script)

  --config PATH   node config (default /etc/keepalived-mysql/config.json)
  --dry-run       print the plan (each step and its SQL, secrets masked) and change nothing
  --fifo PATH     read keepalived notify-FIFO lines ("INSTANCE \\"VI_1\\" MASTER 100") and handle each in order
  --foreground    do the work in this process (testing); by default notify detaches and returns at once
  --standby       internal: the worker --fifo keeps started ahead; it reads a request number on stdin
  -h, --help      this text
`;
