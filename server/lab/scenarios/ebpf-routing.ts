// Placeholder until the scenario lands: it is listed, and refuses to come up with a clear error.
import { LabError } from '../errors';
import type { Scenario } from './types';

export const ebpfRouting: Scenario = {
  info: {
    name: 'ebpf-routing',
    title: 'Cilium-like pod datapath (lxc + tc)',
    description: 'Not built yet.',
    tryCommands: [],
    settings: [],
  },
  kubeProxy: { clusterIP: true, nodePort: true },
  up: () => Promise.reject(new LabError('scenario "ebpf-routing" is not built yet')),
};
