'use client';
// The step-through's link to the classroom: the instructor's page reports the step on screen (it is
// broadcast), and a student's view of the instructor's journey is driven by the received step.
import { createContext, useContext } from 'react';
import type { Journey } from '../../../server/protocol/tracer';

export interface StepSync {
  /** The journey and step on screen (`index` -1: not stepping); null: no journey on screen any more. */
  readonly report?: (shown: { journey: Journey; index: number } | null) => void;
  /** The step to show, received from the instructor: the keys and buttons do not move it. */
  readonly driven?: number;
}

export const StepSyncContext = createContext<StepSync>({});
export const useStepSync = (): StepSync => useContext(StepSyncContext);
