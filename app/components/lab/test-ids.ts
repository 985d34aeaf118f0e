// data-testid values shared by the lab components and e2e specs.
export const labIds = {
  panel: 'lab-panel',
  state: 'lab-state',
  namespace: (name: string) => `lab-ns-${name}`,
  service: 'lab-service',
  upButton: 'lab-up',
  downButton: 'lab-down',
  progress: 'lab-progress',
} as const;
