// Live mode: a continuous kernel filter; each packet becomes a journey when it ends (freed) or goes
// quiet, and journeys leave in batches. The assembler is bounded so an unfiltered trace cannot eat memory.
import type { Journey, LiveFilter, TraceProto } from '../protocol/tracer';
import { findNamespace, namedNamespaces, netnsNames } from '../topology/index';
import { packetHops, type NameOf } from './journey';
import type { KernelFilter, ProbeLoader, Subscription } from './loader';
import type { HopEvent } from './ndjson';

const QUIET_NS = 250e6;
const SWEEP_MS = 100;
const MAX_OPEN = 20_000;
const PROTO: Readonly<Record<number, TraceProto>> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };
const PROTO_NUM: Readonly<Record<TraceProto, number>> = { icmp: 1, tcp: 6, udp: 17 };

interface Open {
  events: HopEvent[];
  last: number;
}

/** Groups a stream of hop events into per-packet journeys. Pure apart from the clock it is given. */
export class PacketAssembler {
  private readonly open = new Map<string, Open>();
  private seq = 0;
  /** Packets given up because too many were in flight at once. */
  overflow = 0;

  constructor(
    private readonly id: string,
    private readonly nameOf: NameOf,
    private readonly emit: (j: Journey) => void,
  ) {}

  push(e: HopEvent): void {
    let p = this.open.get(e.skb);
    const prev = p?.events[p.events.length - 1];
    // A reused skb address with another IP id is another packet (TCP frees without a tracepoint).
    if (p && prev && prev.ipId !== e.ipId && e.hook !== 'kfree_skb' && e.hook !== 'consume_skb') {
      this.finish(e.skb, p);
      p = undefined;
    }
    if (!p) {
      if (e.hook === 'consume_skb') return; // a clone's end (tcpdump, raw sockets): nothing to show
      if (this.open.size >= MAX_OPEN) {
        this.overflow++;
        return;
      }
      p = { events: [], last: e.tsNs };
      this.open.set(e.skb, p);
    }
    p.events.push(e);
    p.last = e.tsNs;
    if (e.hook === 'kfree_skb' || e.hook === 'consume_skb') this.finish(e.skb, p);
  }

  /** Emits packets quiet for a while (nowNs: the kernel clock of the newest event seen). */
  sweep(nowNs: number): void {
    for (const [skb, p] of this.open) if (nowNs - p.last > QUIET_NS) this.finish(skb, p);
  }

  flushAll(): void {
    for (const [skb, p] of this.open) this.finish(skb, p);
  }

  private finish(skb: string, p: Open): void {
    this.open.delete(skb);
    const first = p.events[0];
    if (!first) return;
    const proto = PROTO[first.proto];
    if (!proto) return;
    const hops = packetHops({ dir: 'request', events: p.events }, this.nameOf, first.tsNs);
    if (hops.length === 0) return;
    const lanes: string[] = [];
    for (const h of hops) if (!lanes.includes(h.netns)) lanes.push(h.netns);
    const last = hops[hops.length - 1];
    const dropped = hops.some((h) => h.drop?.isRealDrop);
    this.emit({
      id: `${this.id}-${this.seq++}`,
      from: hops[0]?.netns ?? '',
      to: last?.netns ?? '',
      proto,
      delivered: !dropped,
      pending: false,
      timedOut: false,
      hops,
      lanes,
      durationMs: Math.round(((last?.tNs ?? 0) / 1e6) * 1000) / 1000,
    });
  }
}

export interface LiveSession {
  stop(): Promise<void>;
}

/** Starts a live trace; `emit` gets each packet's journey. Throws on an unknown namespace name. */
export async function startLive(
  id: string,
  f: LiveFilter,
  loader: ProbeLoader,
  emit: (j: Journey) => void,
): Promise<LiveSession> {
  const inodes: number[] = [];
  for (const n of f.netns ?? []) {
    const ref = await findNamespace(n);
    if (!ref) throw new Error(`unknown namespace "${n}"`);
    inodes.push(ref.inode);
  }
  const names = netnsNames();
  await names.refresh();
  const asm = new PacketAssembler(id, names.nameOf, emit);
  let newest = 0;
  const filter: KernelFilter = {
    ...(f.proto && { proto: PROTO_NUM[f.proto] }),
    ...(f.addr && { addrA: f.addr }),
    ...(f.port && { port: f.port }),
    ...(inodes.length > 0 && { netns: inodes }),
  };
  const sub: Subscription = await loader.subscribe(filter, (e) => {
    newest = Math.max(newest, e.tsNs);
    asm.push(e);
    linkNetfilter(e.netns);
  });
  // Netfilter links cost every packet in their namespace, traced or not, for as long as the view runs:
  // link only the namespaces the traced traffic actually crosses, when its first packet shows up there
  // (that packet has no netfilter steps; the ones after it do).
  const linkable = new Map((await namedNamespaces()).map((n) => [n.inode, n]));
  const linked = new Set<number>();
  const releases: (() => Promise<void>)[] = [];
  let stopped = false;
  const linkNetfilter = (inode: number): void => {
    const ns = linkable.get(inode);
    if (stopped || linked.has(inode) || !ns) return;
    linked.add(inode);
    void loader.attachNetfilter([ns]).then(
      (r) => (stopped ? void r.release() : releases.push(r.release)),
      () => undefined,
    );
  };
  const timer = setInterval(() => {
    // Advance the clock even when no events come, so the last packets are not held forever.
    newest += SWEEP_MS * 1e6;
    asm.sweep(newest);
    void names.resolveMissing();
  }, SWEEP_MS);
  return {
    async stop() {
      clearInterval(timer);
      stopped = true;
      await sub.close();
      await Promise.all(releases.map((r) => r()));
      asm.flushAll();
    },
  };
}
