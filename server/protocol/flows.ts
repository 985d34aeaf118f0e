// The all-traffic flow view (issue 14 §3): what the server sends the page and what `trace --flows --json`
// prints. Every packet is counted in the kernel (probes/flows.h), once per namespace it crosses; the server
// adds the loader's ticks up into cumulative totals and rates. Isomorphic: no node:* imports.
import { z } from 'zod';
import type { AckFn } from './common';
import { Journey } from './tracer';

const count = z.number().int().min(0);

/** A flow's counts in one namespace it crossed, in path order (first seen first). */
export const FlowHop = z.object({
  netns: z.string(),
  netnsInode: z.number().int(),
  /** Devices it crossed there, by name when known (`if<N>` otherwise). */
  devices: z.array(z.string()),
  packets: count,
  bytes: count,
  /** Packets lost there (ordinary ends left out). */
  drops: count,
});
export type FlowHop = z.infer<typeof FlowHop>;

export const FlowDrop = z.object({
  reason: z.string(),
  count,
  /** An ordinary end, not a loss (isOrdinaryEnd: ping's echo replies): out of every drops count. */
  ordinary: z.literal(true).optional(),
});
export type FlowDrop = z.infer<typeof FlowDrop>;

/** One direction of a flow: the 5-tuple, summed over the namespaces it crossed. */
export const FlowRow = z.object({
  /** `proto src:sport > dst:dport` (ICMP: the echo id, then type/code). */
  id: z.string(),
  proto: z.string(),
  src: z.string(),
  dst: z.string(),
  sport: z.number().int(),
  dport: z.number().int(),
  /** Wire packets and IP bytes, as counted in the namespace where it was counted most (its origin, usually). */
  packets: count,
  bytes: count,
  /** L4 payload bytes (what iperf3 reports). */
  payload: count,
  /** Over the last tick. */
  pps: z.number().min(0),
  bps: z.number().min(0),
  /** Every reason the kernel freed its packets with, losses first, then the ordinary ends. */
  drops: z.array(FlowDrop),
  /** Packets lost (ordinary ends left out). */
  dropsTotal: count,
  firstMs: z.number(),
  lastMs: z.number(),
  path: z.array(FlowHop),
  /** Sampled journeys kept for it (click to see the newest). */
  journeys: count,
});
export type FlowRow = z.infer<typeof FlowRow>;

/** Namespace to namespace, summed over the flows that crossed from one to the other. */
export const FlowEdge = z.object({
  from: z.string(),
  to: z.string(),
  flows: count,
  packets: count,
  bytes: count,
  bps: z.number().min(0),
  drops: count,
});
export type FlowEdge = z.infer<typeof FlowEdge>;

/** Map pressure and loss: never silent. */
export const FlowPressure = z.object({
  /** Entries in the map read at the last tick, and its size. */
  entries: count,
  maxEntries: count,
  /** New flows that found the map full, and what their packets carried (counted nowhere else). */
  insertFailed: count,
  lostPackets: count,
  lostBytes: count,
  lostDrops: count,
  /** Flows the server keeps no more (the oldest idle ones past its limit). */
  evicted: count,
});
export type FlowPressure = z.infer<typeof FlowPressure>;

export const FlowsState = z.object({
  running: z.boolean(),
  /** Why it is not running, when it failed. */
  error: z.string().optional(),
  /** The loader's tick number, from 1; 0 before the first tick. */
  seq: count,
  tickMs: z.number().min(0),
  /** Total flows known; `flows` holds the busiest `FLOWS_SENT_MAX` of them. */
  total: count,
  flows: z.array(FlowRow),
  edges: z.array(FlowEdge),
  pressure: FlowPressure,
  /** Journeys sampled per flow per second after its first packet. */
  samplePerSec: count,
});
export type FlowsState = z.infer<typeof FlowsState>;

/** Rows sent per update, busiest first: a table nobody can read past this. */
export const FLOWS_SENT_MAX = 500;

export const FlowsWatchReq = z.object({}).strict().optional();
export const FlowJourneyReq = z.object({ id: z.string().min(1).max(200) }).strict();
/** The newest sampled journey of a flow, or none yet. */
export const FlowJourneyRes = z.object({ id: z.string(), journey: Journey.optional() });
export type FlowJourneyRes = z.infer<typeof FlowJourneyRes>;

export interface FlowsClientEvents {
  'flows:journey': (req: unknown, ack: AckFn<FlowJourneyRes>) => void;
}

export const emptyFlowsState = (running = false): FlowsState => ({
  running,
  seq: 0,
  tickMs: 0,
  total: 0,
  flows: [],
  edges: [],
  pressure: { entries: 0, maxEntries: 0, insertFailed: 0, lostPackets: 0, lostBytes: 0, lostDrops: 0, evicted: 0 },
  samplePerSec: 0,
});

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6' };
export const flowProtoName = (p: number): string => PROTO_NAMES[p] ?? `ip${p}`;

/** The flow id of a 5-tuple (the kernel's key without its netns). */
export const flowId = (proto: string, src: string, sport: number, dst: string, dport: number): string =>
  `${proto} ${hostPort(src, sport)} > ${hostPort(dst, dport)}`;
const hostPort = (a: string, p: number): string => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);
