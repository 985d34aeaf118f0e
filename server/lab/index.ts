export { labDown, labSet, labStatus, labUp, LabError } from './lab';
export type { DownResult, Progress } from './lab';
export * as labSpec from './spec';
