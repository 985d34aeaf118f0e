// The flow view's state: the loader's per-tick counts (record.ts) added up into cumulative totals per flow
// and per namespace it crossed, rates over the last tick, its path, and namespace-to-namespace edges.
// Pure: names and clocks come from the caller.
import {
  FLOWS_SENT_MAX,
  flowId,
  flowProtoName,
  type FlowEdge,
  type FlowHop,
  type FlowRow,
  type FlowsState,
} from '../protocol/flows';
import { isOrdinaryEnd } from '../protocol/vocab';
import type { FlowsRecord, TickFlow } from './record';

/** Flows kept at most; past it the one idle longest goes, and is counted (`pressure.evicted`). */
export const MAX_FLOWS = 20_000;

interface NsAcc {
  readonly inode: number;
  packets: number;
  bytes: number;
  payload: number;
  firstNs: number;
  lastNs: number;
  readonly devices: number[];
  readonly drops: Map<string, number>;
  tickPackets: number;
  tickBytes: number;
}

interface FlowAcc {
  readonly id: string;
  readonly proto: string;
  readonly protoNum: number;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly ns: Map<number, NsAcc>;
  lastNs: number;
  journeys: number;
}

export interface TableNames {
  /** A namespace's name (`netns:<inode>` when it has none). */
  netns(inode: number): string;
  /** A device's name in a namespace, when known. */
  device(inode: number, ifindex: number): string | undefined;
  /** Kernel time (ns) to wall-clock ms. */
  wallMs(ns: number): number;
}

export const tickFlowId = (f: TickFlow): string => flowId(flowProtoName(f.proto), f.src, f.sport, f.dst, f.dport);

export class FlowTable {
  private readonly flows = new Map<string, FlowAcc>();
  private last: FlowsRecord | undefined;
  private evicted = 0;
  /** Journeys kept for flows no tick has brought yet (a flow's first packet is sampled before its first tick). */
  private readonly early = new Map<string, number>();

  constructor(private readonly maxFlows = MAX_FLOWS) {}

  get size(): number {
    return this.flows.size;
  }

  /** Adds one tick. */
  apply(r: FlowsRecord): void {
    for (const f of this.flows.values())
      for (const n of f.ns.values()) {
        n.tickPackets = 0;
        n.tickBytes = 0;
      }
    for (const t of r.flows) this.add(t);
    this.last = r;
    if (this.flows.size > this.maxFlows) this.evict();
  }

  private add(t: TickFlow): void {
    const id = tickFlowId(t);
    let f = this.flows.get(id);
    if (!f) {
      f = {
        id,
        proto: flowProtoName(t.proto),
        protoNum: t.proto,
        src: t.src,
        dst: t.dst,
        sport: t.sport,
        dport: t.dport,
        ns: new Map(),
        lastNs: 0,
        journeys: this.early.get(id) ?? 0,
      };
      this.early.delete(id);
      this.flows.set(id, f);
    }
    let n = f.ns.get(t.netns);
    if (!n) {
      n = {
        inode: t.netns,
        packets: 0,
        bytes: 0,
        payload: 0,
        firstNs: t.firstNs,
        lastNs: 0,
        devices: [],
        drops: new Map(),
        tickPackets: 0,
        tickBytes: 0,
      };
      f.ns.set(t.netns, n);
    }
    n.packets += t.packets;
    n.bytes += t.bytes;
    n.payload += t.payload;
    n.tickPackets += t.packets;
    n.tickBytes += t.bytes;
    if (t.firstNs && (!n.firstNs || t.firstNs < n.firstNs)) n.firstNs = t.firstNs;
    n.lastNs = Math.max(n.lastNs, t.lastNs);
    f.lastNs = Math.max(f.lastNs, t.lastNs);
    for (const d of t.ifindexes) if (!n.devices.includes(d)) n.devices.push(d);
    for (const [reason, c] of t.drops) n.drops.set(reason, (n.drops.get(reason) ?? 0) + c);
  }

  private evict(): void {
    const byAge = [...this.flows.values()].sort((a, b) => a.lastNs - b.lastNs);
    for (const f of byAge.slice(0, this.flows.size - this.maxFlows)) {
      this.flows.delete(f.id);
      this.evicted++;
    }
  }

  /** A sampled journey was kept for this flow. */
  noteJourney(id: string): void {
    const f = this.flows.get(id);
    if (f) f.journeys++;
    else {
      this.early.set(id, (this.early.get(id) ?? 0) + 1);
      if (this.early.size > 10_000) this.early.delete(this.early.keys().next().value as string);
    }
  }

  has(id: string): boolean {
    return this.flows.has(id);
  }

  state(names: TableNames, o: { running: boolean; samplePerSec: number; error?: string }): FlowsState {
    const r = this.last;
    const secs = r && r.intervalNs > 0 ? r.intervalNs / 1e9 : 1;
    const rows = [...this.flows.values()].map((f) => row(f, names, secs));
    rows.sort((a, b) => b.bps - a.bps || b.bytes - a.bytes || (a.id < b.id ? -1 : 1));
    return {
      running: o.running,
      ...(o.error !== undefined && { error: o.error }),
      seq: r?.seq ?? 0,
      tickMs: r ? r.intervalNs / 1e6 : 0,
      total: rows.length,
      flows: rows.slice(0, FLOWS_SENT_MAX),
      edges: edgesOf(rows),
      pressure: {
        entries: r?.entries ?? 0,
        maxEntries: r?.maxEntries ?? 0,
        insertFailed: r?.insertFailed ?? 0,
        lostPackets: r?.lostPackets ?? 0,
        lostBytes: r?.lostBytes ?? 0,
        lostDrops: r?.lostDrops ?? 0,
        evicted: this.evicted,
      },
      samplePerSec: o.samplePerSec,
    };
  }

  /** Every row, unsorted and uncapped (the CLI's --json). */
  rows(names: TableNames): FlowRow[] {
    const r = this.last;
    const secs = r && r.intervalNs > 0 ? r.intervalNs / 1e9 : 1;
    return [...this.flows.values()].map((f) => row(f, names, secs));
  }
}

function row(f: FlowAcc, names: TableNames, secs: number): FlowRow {
  // Inode 0: a drop after the skb lost its device and socket (TCP's duplicate-data drops): counted in the
  // flow's drops, but in no namespace of its path.
  const all = [...f.ns.values()];
  const ns = all.filter((n) => n.inode !== 0).sort((a, b) => a.firstNs - b.firstNs || a.inode - b.inode);
  // The namespace that counted most is where the flow was whole (its origin, before any drop).
  let top = ns[0];
  for (const n of ns) if (top && n.packets > top.packets) top = n;
  const drops = new Map<string, number>();
  for (const n of all) for (const [reason, c] of n.drops) drops.set(reason, (drops.get(reason) ?? 0) + c);
  // Ordinary ends (ping's NO_SOCKET, isOrdinaryEnd) are listed, and counted in no drops.
  const ordinary = (reason: string): boolean => isOrdinaryEnd(reason, f.protoNum);
  const lost = (m: Map<string, number>): number => [...m].reduce((a, [reason, c]) => a + (ordinary(reason) ? 0 : c), 0);
  let tickPackets = 0;
  let tickBytes = 0;
  for (const n of ns) {
    tickPackets = Math.max(tickPackets, n.tickPackets);
    tickBytes = Math.max(tickBytes, n.tickBytes);
  }
  const path: FlowHop[] = ns.map((n) => ({
    netns: names.netns(n.inode),
    netnsInode: n.inode,
    devices: n.devices.map((d) => names.device(n.inode, d) ?? `if${d}`),
    packets: n.packets,
    bytes: n.bytes,
    drops: lost(n.drops),
  }));
  const firstNs = ns.reduce((m, n) => (n.firstNs && n.firstNs < m ? n.firstNs : m), Infinity);
  return {
    id: f.id,
    proto: f.proto,
    src: f.src,
    dst: f.dst,
    sport: f.sport,
    dport: f.dport,
    packets: top?.packets ?? 0,
    bytes: top?.bytes ?? 0,
    payload: top?.payload ?? 0,
    pps: tickPackets / secs,
    bps: (tickBytes * 8) / secs,
    drops: [...drops]
      .map(([reason, count]) => ({ reason, count, ...(ordinary(reason) && { ordinary: true as const }) }))
      .sort((a, b) => Number(a.ordinary ?? false) - Number(b.ordinary ?? false) || b.count - a.count),
    dropsTotal: lost(drops),
    firstMs: Number.isFinite(firstNs) ? names.wallMs(firstNs) : 0,
    lastMs: names.wallMs(f.lastNs),
    path,
    journeys: f.journeys,
  };
}

/** Consecutive namespaces of each flow's path, summed: what arrived in `to` from `from`. */
export function edgesOf(rows: readonly FlowRow[]): FlowEdge[] {
  const edges = new Map<string, FlowEdge>();
  for (const r of rows) {
    for (let i = 1; i < r.path.length; i++) {
      const a = r.path[i - 1] as FlowHop;
      const b = r.path[i] as FlowHop;
      if (a.netns === b.netns) continue;
      const key = `${a.netns}\u0000${b.netns}`;
      const e = edges.get(key) ?? { from: a.netns, to: b.netns, flows: 0, packets: 0, bytes: 0, bps: 0, drops: 0 };
      edges.set(key, {
        ...e,
        flows: e.flows + 1,
        packets: e.packets + b.packets,
        bytes: e.bytes + b.bytes,
        bps: e.bps + r.bps,
        drops: e.drops + b.drops,
      });
    }
  }
  return [...edges.values()].sort((a, b) => b.bytes - a.bytes);
}
