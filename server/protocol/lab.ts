import { z } from 'zod';
import type { AckFn } from './common';

export const LabScenario = z.enum(['basic', 'dsr']);
export type LabScenario = z.infer<typeof LabScenario>;

export const LabRole = z.enum(['host', 'node', 'pod']);

export const LabNamespace = z.object({
  name: z.string(),
  role: LabRole,
  /** The node a pod hangs off; absent for nodes and host. */
  node: z.string().optional(),
  /** Address of eth0 (nodes, pods) as CIDR. */
  addr: z.string(),
  present: z.boolean(),
});
export type LabNamespace = z.infer<typeof LabNamespace>;

export const LabStatus = z.object({
  up: z.boolean(),
  /** Some but not all of what the lab owns exists (e.g. a crash mid-up). `up` repairs, `down` cleans. */
  partial: z.boolean(),
  scenario: LabScenario.nullable(),
  namespaces: z.array(LabNamespace),
  services: z.array(
    z.object({
      name: z.string(),
      clusterIP: z.string(),
      port: z.number(),
      nodePort: z.number(),
      backends: z.array(z.string()),
    }),
  ),
  echoServers: z.array(z.object({ pod: z.string(), pid: z.number(), alive: z.boolean() })),
});
export type LabStatus = z.infer<typeof LabStatus>;

export const LabAction = z.object({ action: z.enum(['up', 'down']) });
export type LabAction = z.infer<typeof LabAction>;

/** `lab:watch` takes nothing today; an object keeps room for options. */
export const LabWatchReq = z.object({}).strict().optional();

/** The status is a watch (see events.ts, `lab:update`); progress goes to the same watchers. */
export interface LabServerEvents {
  /** One line per step while `up`/`down` runs, so a projector shows what is happening. */
  'lab:progress': (step: string) => void;
}
export interface LabClientEvents {
  'lab:run': (req: unknown, ack: AckFn<LabStatus>) => void;
}
