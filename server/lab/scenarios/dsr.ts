// Placeholder until the scenario lands: it is listed, and refuses to come up with a clear error.
import { LabError } from '../errors';
import type { Scenario } from './types';

export const dsr: Scenario = {
  info: {
    name: 'dsr',
    title: 'Cilium DSR NodePort (tc)',
    description: 'Not built yet.',
    tryCommands: [],
    settings: [],
  },
  kubeProxy: { clusterIP: true, nodePort: true },
  up: () => Promise.reject(new LabError('scenario "dsr" is not built yet')),
};
