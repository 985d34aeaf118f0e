// Wire contract for server/topology/ (zod schemas + inferred types, socket events). Owned by that capability.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TopologyServerEvents {}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TopologyClientEvents {}
