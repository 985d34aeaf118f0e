// Placeholder until the teaching programs land: the socket and CLI call this one entry point.
import type { LabProgAction, LabProgram } from '../../protocol/lab';
import { LabError } from '../errors';

export function labProg(action: LabProgAction): Promise<LabProgram[]> {
  return Promise.reject(new LabError(`lab prog ${action.action} is not built yet`));
}
