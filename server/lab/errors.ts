import { UserError } from '../sys/errors';

/** A lab operation refused or failed, in words for the person who asked. */
export class LabError extends UserError {}
