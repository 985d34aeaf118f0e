// Every scenario by name. The catalog goes to the Lab tab and `lab up --help`.
import type { LabScenario, ScenarioInfo } from '../../protocol/lab';
import { basic } from './basic';
import { dsr } from './dsr';
import { ebpfRouting } from './ebpf-routing';
import { etpLocal } from './etp-local';
import { sockLb } from './sock-lb';
import type { Scenario } from './types';

export const SCENARIOS: Readonly<Record<LabScenario, Scenario>> = {
  basic,
  dsr,
  'etp-local': etpLocal,
  'sock-lb': sockLb,
  'ebpf-routing': ebpfRouting,
};

export const CATALOG: readonly ScenarioInfo[] = Object.values(SCENARIOS).map((s) => s.info);

/** Default settings of a scenario, overridden by `given` (already validated). */
export function settingsOf(name: LabScenario, given: Readonly<Record<string, string>> = {}): Record<string, string> {
  return Object.fromEntries(SCENARIOS[name].info.settings.map((s) => [s.name, given[s.name] ?? s.default]));
}
