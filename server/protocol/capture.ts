// Wire contract for server/capture/ (zod schemas + inferred types, socket events). Owned by that capability.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface CaptureServerEvents {}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface CaptureClientEvents {}
