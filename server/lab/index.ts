export { labDown, labStatus, labUp, LabError } from './lab';
export { labSet } from './set';
export type { DownResult, Progress } from './lab';
export * as labSpec from './spec';
