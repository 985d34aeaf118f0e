// data-testid values shared by the flow view's components and e2e/flows.spec.ts.
export const flowIds = {
  panel: 'flows-panel',
  pressure: 'flows-pressure',
  table: 'flows-table',
  sort: (col: string) => `flows-sort-${col}`,
  /** A table row, by its position in the sorted table. */
  row: (i: number) => `flows-row-${i}`,
  map: 'flows-map',
  edge: (from: string, to: string) => `flows-edge-${from}-${to}`,
  journey: 'flows-journey',
  noJourney: 'flows-no-journey',
  error: 'flows-error',
} as const;
