import type { Scenario } from './drills.js';
import { DEFAULT_SETTING, SETTINGS, type Setting } from './settings.js';

// Which drills a run does: pure, so that `npm run drill` and the CI suite run the same list.

export interface PlannedDrill {
  scenario: Scenario;
  setting: Setting;
}

/**
 * Without `settings`: every scenario under the recommended setting, and each scenario with a trade-off under every
 * no-witness setting too. With `settings`: every scenario under each of them.
 */
export function drillPlan(scenarios: readonly Scenario[], settings?: readonly Setting[]): PlannedDrill[] {
  if (settings !== undefined && settings.length > 0) return settings.flatMap((setting) => scenarios.map((scenario) => ({ scenario, setting })));
  const recommended = scenarios.map((scenario) => ({ scenario, setting: DEFAULT_SETTING }));
  const others = SETTINGS.filter((s) => s !== DEFAULT_SETTING)
    .flatMap((setting) => scenarios.filter((sc) => sc.tradeOff).map((scenario) => ({ scenario, setting })));
  return [...recommended, ...others];
}

/** A drill's name: the scenario's, with `@setting` unless it runs under the recommended setting. */
export function drillName(scenario: string, setting: Setting): string {
  return setting === DEFAULT_SETTING ? scenario : `${scenario}@${setting}`;
}
