// Placeholder until the scenario lands: it is listed, and refuses to come up with a clear error.
import { LabError } from '../errors';
import type { Scenario } from './types';

export const sockLb: Scenario = {
  info: {
    name: 'sock-lb',
    title: 'socket-level ClusterIP (cgroup connect4)',
    description: 'Not built yet.',
    tryCommands: [],
    settings: [],
  },
  kubeProxy: { clusterIP: true, nodePort: true },
  up: () => Promise.reject(new LabError('scenario "sock-lb" is not built yet')),
};
