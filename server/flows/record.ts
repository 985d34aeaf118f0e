// The loader's {"type":"flows"} record (probes/flows-loader.h), parsed at the process boundary.
import { z } from 'zod';

const n = z.number().int().min(0);

/** [src, dst, sport, dport, proto, netns, packets, bytes, payload, first_ns, last_ns, [ifindex], [[reason, n]], sampled] */
const FlowTuple = z.tuple([
  z.string(),
  z.string(),
  n.max(65535),
  n.max(65535),
  n.max(255),
  n,
  n,
  n,
  n,
  n,
  n,
  z.array(n),
  z.array(z.tuple([z.string(), n])),
  n,
]);

const FlowsLine = z.object({
  type: z.literal('flows'),
  seq: n,
  ts_ns: n,
  interval_ns: n,
  entries: n,
  max_entries: n,
  insert_failed: n,
  lost_packets: n,
  lost_bytes: n,
  lost_drops: n,
  sampled: n,
  counted: n,
  flows: z.array(FlowTuple),
});

/** One flow direction in one namespace, counted over one tick. */
export interface TickFlow {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly proto: number;
  readonly netns: number;
  readonly packets: number;
  readonly bytes: number;
  readonly payload: number;
  readonly firstNs: number;
  readonly lastNs: number;
  readonly ifindexes: readonly number[];
  readonly drops: readonly (readonly [string, number])[];
  readonly sampled: number;
}

export interface FlowsRecord {
  readonly seq: number;
  readonly tsNs: number;
  readonly intervalNs: number;
  readonly entries: number;
  readonly maxEntries: number;
  /** Totals since the view started. */
  readonly insertFailed: number;
  readonly lostPackets: number;
  readonly lostBytes: number;
  readonly lostDrops: number;
  readonly sampled: number;
  readonly counted: number;
  readonly flows: readonly TickFlow[];
}

const PREFIX = Buffer.from('{"type":"flows"');
export const isFlowsLine = (line: Buffer): boolean => line.subarray(0, PREFIX.length).equals(PREFIX);

/** The record, or undefined when the line is not one (counted as a bad line by the caller). */
export function parseFlowsLine(line: string): FlowsRecord | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  const r = FlowsLine.safeParse(raw);
  if (!r.success) return undefined;
  const l = r.data;
  return {
    seq: l.seq,
    tsNs: l.ts_ns,
    intervalNs: l.interval_ns,
    entries: l.entries,
    maxEntries: l.max_entries,
    insertFailed: l.insert_failed,
    lostPackets: l.lost_packets,
    lostBytes: l.lost_bytes,
    lostDrops: l.lost_drops,
    sampled: l.sampled,
    counted: l.counted,
    flows: l.flows.map(([src, dst, sport, dport, proto, netns, packets, bytes, payload, f, la, ifs, drops, s]) => ({
      src,
      dst,
      sport,
      dport,
      proto,
      netns,
      packets,
      bytes,
      payload,
      firstNs: f,
      lastNs: la,
      ifindexes: ifs,
      drops,
      sampled: s,
    })),
  };
}
