import { LabError } from './exec.js';

// The lab's settings: what the toolkit is told about partitions. `witness` is the README's recommended profile.

export const SETTINGS = ['witness', 'no-witness-fence', 'no-witness-async'] as const;
export type Setting = (typeof SETTINGS)[number];
export const DEFAULT_SETTING: Setting = 'witness';

/** `partition.withoutWitness` for the settings that run without a witness. */
export const WITHOUT_WITNESS: Readonly<Record<Setting, 'fence' | 'async' | undefined>> = {
  witness: undefined,
  'no-witness-fence': 'fence',
  'no-witness-async': 'async',
};

/**
 * What a no-witness setting trades, in the drills whose fault it cannot tell apart from a dead peer
 * (Scenario.tradeOff): these figures are reported, not asserted. `fence` may block writes and leave a node
 * writable-but-stalled beside the new master, never lose an acknowledged one; `async` may lose them.
 */
export const REPORTED_UNDER_TRADE_OFF: Readonly<Record<Setting, readonly Figure[]>> = {
  witness: [],
  'no-witness-fence': ['splitBrain', 'topology', 'failover'],
  'no-witness-async': ['splitBrain', 'topology', 'failover', 'lost', 'staleAcks'],
};

/** The judged figures of a drill. */
export type Figure = 'lost' | 'splitBrain' | 'staleAcks' | 'topology' | 'failover';

/** keepalived → notify: the ordered notify FIFO (the README's recommendation) or a notify script. */
export type Wiring = 'script' | 'fifo';
export const DEFAULT_WIRING: Wiring = 'fifo';

export function parseWiring(s: string): Wiring {
  if (s !== 'script' && s !== 'fifo') throw new LabError(`--wiring: expected script or fifo, got ${s}`);
  return s;
}

export function parseSetting(s: string): Setting {
  if (!(SETTINGS as readonly string[]).includes(s)) throw new LabError(`--setting: expected one of ${SETTINGS.join(', ')}, got ${s}`);
  return s as Setting;
}

/** keepalived's detection: the README's default profile, or its fast profile (VRRPv3 0.2 s adverts, the resident watcher). */
export const PROFILES = ['default', 'fast'] as const;
export type Profile = (typeof PROFILES)[number];
export const DEFAULT_PROFILE: Profile = 'default';

export function parseProfile(s: string): Profile {
  if (!(PROFILES as readonly string[]).includes(s)) throw new LabError(`--profile: expected ${PROFILES.join(' or ')}, got ${s}`);
  return s as Profile;
}
