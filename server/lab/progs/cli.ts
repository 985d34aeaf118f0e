// Placeholder until the teaching programs land.
import { UsageError, type Command } from '../../cli-args';

export const command: Command = {
  run: () => Promise.reject(new UsageError('lab prog is not built yet')),
};
