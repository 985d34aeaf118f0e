// Wire contract for server/tracer/ (zod schemas + inferred types, socket events). Owned by that capability.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TracerServerEvents {}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TracerClientEvents {}
