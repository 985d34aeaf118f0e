// `lab set name=value`: a switch of the running scenario (etp=Local, lb-via=node2), applied in place.
import type { LabStatus } from '../protocol/lab';
import { LabError } from './errors';
import { assertRoot, labStatus, type Progress } from './lab';
import { SCENARIOS } from './scenarios';
import { readState, writeState } from './state';

/** `lab set name=value`: one switch of the running scenario, validated against what it offers. */
export async function labSet(name: string, value: string, opts: { onProgress?: Progress } = {}): Promise<LabStatus> {
  assertRoot();
  const state = await readState();
  if (!state) throw new LabError('the lab is not up; run `lab up --scenario NAME` first');
  const sc = SCENARIOS[state.scenario];
  const setting = sc.info.settings.find((s) => s.name === name);
  if (!setting) {
    const offered = sc.info.settings.map((s) => s.name);
    throw new LabError(
      `scenario ${state.scenario} has no setting "${name}"` +
        (offered.length > 0 ? `; it offers ${offered.join(', ')}` : '; it offers none'),
    );
  }
  if (!setting.values.includes(value))
    throw new LabError(`${name} must be one of ${setting.values.join(', ')}, not "${value}"`);
  if (!sc.set) throw new LabError(`scenario ${state.scenario} cannot change ${name} while up`);
  const progress = opts.onProgress ?? (() => undefined);
  const next = { ...state.settings, [name]: value };
  await sc.set({ progress, owned: state.owned, settings: next, save: () => writeState(state) }, name, value);
  state.settings = next;
  await writeState(state);
  progress(`${name}=${value}`);
  return labStatus();
}
