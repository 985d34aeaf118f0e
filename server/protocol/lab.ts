import { z } from 'zod';
import { IfName, NetnsName, type AckFn } from './common';
import { Msg } from './i18n/msg';

/** The lab's datapaths (issue 11). `basic` is kube-proxy in iptables mode; the others replace parts of it
 * with eBPF, one workshop seed each. */
export const LabScenario = z.enum(['basic', 'dsr', 'etp-local', 'sock-lb', 'ebpf-routing']);
export type LabScenario = z.infer<typeof LabScenario>;

export const LabRole = z.enum(['host', 'node', 'pod']);

export const LabNamespace = z.object({
  name: z.string(),
  role: LabRole,
  /** The node a pod hangs off; absent for nodes and host. */
  node: z.string().optional(),
  /** Address of eth0 (nodes, pods) as CIDR. */
  addr: z.string(),
  /** The IPv6 address (CIDR) of a dual-stack lab; absent where the scenario is IPv4-only. */
  addr6: z.string().optional(),
  present: z.boolean(),
});
export type LabNamespace = z.infer<typeof LabNamespace>;

/** A switch a scenario offers (`lab set name=value`), e.g. etp=Local|Cluster. */
export const LabSetting = z.object({
  name: z.string(),
  values: z.array(z.string()).min(1),
  default: z.string(),
  help: z.string(),
  /** `help` as a message (the Lab tab says it in the user's language); `help` is its English rendering. */
  helpMsg: Msg.optional(),
});
export type LabSetting = z.infer<typeof LabSetting>;

/** What a student reads in the Lab tab before picking a scenario. */
export const ScenarioInfo = z.object({
  name: LabScenario,
  title: z.string(),
  /** The workshop document it reproduces, e.g. "seed 000". */
  seed: z.string().optional(),
  /** A short paragraph for a student: what it shows. */
  description: z.string(),
  /** `title` and `description` as messages; the strings are their English rendering. */
  titleMsg: Msg.optional(),
  descriptionMsg: Msg.optional(),
  /** Commands to try, each runnable as printed. */
  tryCommands: z.array(z.string()),
  settings: z.array(LabSetting),
});
export type ScenarioInfo = z.infer<typeof ScenarioInfo>;

export const ProgHook = z.enum(['tc-ingress', 'tc-egress', 'xdp']);
export type ProgHook = z.infer<typeof ProgHook>;
export const TeachingProgram = z.enum(['drop-all', 'xdp-drop', 'blocklist']);
export type TeachingProgram = z.infer<typeof TeachingProgram>;

/** A teaching program attached by `lab prog attach` (seed 003). */
export const LabProgram = z.object({
  program: TeachingProgram,
  /** Kernel program id, name and tag, as `bpftool prog` prints them. */
  id: z.number().int(),
  name: z.string(),
  tag: z.string(),
  netns: z.string(),
  iface: z.string(),
  hook: ProgHook,
  /** XDP mode (generic, driver) or tc's direct-action. */
  mode: z.string(),
});
export type LabProgram = z.infer<typeof LabProgram>;

export const LabStatus = z.object({
  up: z.boolean(),
  /** Some but not all of what the lab owns exists (e.g. a crash mid-up). `up` repairs, `down` cleans. */
  partial: z.boolean(),
  scenario: LabScenario.nullable(),
  /** The current scenario's settings, name -> value. */
  settings: z.record(z.string(), z.string()),
  namespaces: z.array(LabNamespace),
  services: z.array(
    z.object({
      name: z.string(),
      clusterIP: z.string(),
      /** The IPv6 ClusterIP of a dual-stack lab (ip6tables DNAT); absent where the scenario is IPv4-only. */
      clusterIP6: z.string().optional(),
      port: z.number(),
      /** null where the scenario serves no NodePort (sock-lb). */
      nodePort: z.number().nullable(),
      backends: z.array(z.string()),
    }),
  ),
  echoServers: z.array(z.object({ pod: z.string(), pid: z.number(), alive: z.boolean() })),
  programs: z.array(LabProgram),
  /** Sources in the blocklist program's map, with how many packets each had dropped. */
  blocklist: z.array(z.object({ ip: z.string(), drops: z.number() })),
  /** Every scenario, so the UI can describe them without asking again. */
  catalog: z.array(ScenarioInfo),
});
export type LabStatus = z.infer<typeof LabStatus>;

const name = z.string().min(1).max(64);

export const LabAction = z.discriminatedUnion('action', [
  z.object({ action: z.literal('up'), scenario: LabScenario.optional() }).strict(),
  z.object({ action: z.literal('down') }).strict(),
  z.object({ action: z.literal('set'), name, value: name }).strict(),
]);
export type LabAction = z.infer<typeof LabAction>;

/** `lab prog …` from the UI: the same operations as the CLI. */
export const LabProgAction = z.discriminatedUnion('action', [
  z
    .object({ action: z.literal('attach'), program: TeachingProgram, netns: NetnsName, iface: IfName, hook: ProgHook })
    .strict(),
  z.object({ action: z.literal('detach'), netns: NetnsName, iface: IfName, hook: ProgHook }).strict(),
  z.object({ action: z.literal('block'), ip: name }).strict(),
  z.object({ action: z.literal('unblock'), ip: name }).strict(),
]);
export type LabProgAction = z.infer<typeof LabProgAction>;

/** `lab:watch` takes nothing today; an object keeps room for options. */
export const LabWatchReq = z.object({}).strict().optional();

/** The status is a watch (see events.ts, `lab:update`); progress goes to the same watchers. */
export interface LabServerEvents {
  /** One line per step while `up`/`down` runs, so a projector shows what is happening. */
  'lab:progress': (step: string) => void;
}
export interface LabClientEvents {
  'lab:run': (req: unknown, ack: AckFn<LabStatus>) => void;
  /** Answers with the programs attached after the change. */
  'lab:prog': (req: unknown, ack: AckFn<LabProgram[]>) => void;
}
