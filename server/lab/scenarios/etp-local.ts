// Placeholder until the scenario lands: it is listed, and refuses to come up with a clear error.
import { LabError } from '../errors';
import type { Scenario } from './types';

export const etpLocal: Scenario = {
  info: {
    name: 'etp-local',
    title: 'externalTrafficPolicy Local vs Cluster',
    description: 'Not built yet.',
    tryCommands: [],
    settings: [],
  },
  kubeProxy: { clusterIP: true, nodePort: true },
  up: () => Promise.reject(new LabError('scenario "etp-local" is not built yet')),
};
