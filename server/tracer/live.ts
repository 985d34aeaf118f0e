// Live mode: a continuous kernel filter; each packet becomes a journey when it ends (freed) or goes
// quiet, and journeys leave in batches. The assembler is bounded so an unfiltered trace cannot eat memory.
// Viewers of the same filter share one kernel slot and one assembly: each journey is built once and fanned
// out, under each viewer's own id.
import type { Journey, LiveFilter } from '../protocol/tracer';
import { traceProtoNumber } from '../protocol/vocab';
import { findNamespace, namedNamespaces, netnsNames } from '../topology/index';
import { isTerminal, PacketAssembler, type Packet } from './assembler';
import { packetJourney, type NameOf } from './journey';
import type { KernelFilter, ProbeLoader, Subscription } from './loader';
import type { HopEvent } from './hop-event';

const QUIET_NS = 250e6;
const SWEEP_MS = 100;
const MAX_OPEN = 20_000;
/** A view stays current: a packet whose newest event is older than this is dropped (and counted), not sent. */
export const MAX_LAG_NS = 1e9;

/** The kernel's clock (bpf_ktime_get_ns and Node's hrtime are both CLOCK_MONOTONIC). */
const kernelNow = (): number => Number(process.hrtime.bigint());

/**
 * Groups a stream of hop events into per-packet journeys, emitted as each packet ends or goes quiet.
 * The packets are cut by the same assembler a follow uses. Pure apart from the clock it is given.
 */
export class LiveJourneys {
  private readonly asm: PacketAssembler;
  private seq = 0;

  constructor(
    private readonly id: string,
    private readonly nameOf: NameOf,
    /** Each journey with its sequence number (viewers of a shared trace name it `${theirId}-${seq}`). */
    private readonly emit: (j: Journey, seq: number) => void,
    /**
     * With it, a packet that ends over MAX_LAG_NS behind `now` (the server is working through a backlog)
     * is given to `onLate` unbuilt: the oldest go, so the view catches up with the newest.
     */
    private readonly late?: { readonly now: () => number; readonly onLate: () => void },
  ) {
    // No flow key: live traffic has no known client, so ICMP alone tells request from reply.
    this.asm = new PacketAssembler({}, { maxOpen: MAX_OPEN, onClose: (p) => this.finish(p) });
  }

  /** Packets given up because too many were in flight at once. */
  get overflow(): number {
    return this.asm.overflow;
  }

  push(e: HopEvent): void {
    this.asm.push(e);
  }

  /** Emits packets quiet for a while (nowNs: the kernel clock of the newest event seen). */
  sweep(nowNs: number): void {
    this.asm.sweep(nowNs, QUIET_NS);
  }

  flushAll(): void {
    this.asm.flushAll();
  }

  private finish(p: Packet): void {
    if (this.late && this.late.now() - p.lastTs > MAX_LAG_NS) return this.late.onLate();
    const j = packetJourney(p, `${this.id}-${this.seq}`, this.nameOf);
    if (!j) return;
    this.emit(j, this.seq++);
  }
}

export interface LiveSession {
  stop(): Promise<void>;
}

/** A live view's end: each journey (`first` for one viewer of each, for work done once per packet). */
export interface LiveSink {
  journey(j: Journey, first: boolean): void;
  /** A packet dropped because the server fell behind the kernel. */
  dropped(): void;
}

interface Viewer {
  readonly id: string;
  readonly sink: LiveSink;
}

/** One kernel slot and one assembly, shared by every viewer of the same filter. */
interface SharedTrace {
  readonly viewers: Set<Viewer>;
  stop(): Promise<void>;
}

/** A shared trace being started or running, and how many viewers hold it (those still starting too). */
interface Entry {
  readonly ready: Promise<SharedTrace>;
  refs: number;
}

/** Per loader: the shared traces by filter key. */
const traces = new WeakMap<ProbeLoader, Map<string, Entry>>();

/** Starts a live trace; `sink` gets each packet's journey. Throws on an unknown namespace name. */
export async function startLive(id: string, f: LiveFilter, loader: ProbeLoader, sink: LiveSink): Promise<LiveSession> {
  const filter = await kernelFilter(f);
  const key = JSON.stringify([filter.proto, filter.addrA, filter.port, filter.netns]);
  const byKey = traces.get(loader) ?? new Map<string, Entry>();
  traces.set(loader, byKey);
  let entry = byKey.get(key);
  if (!entry) {
    const created: Entry = { ready: startShared(filter, loader), refs: 0 };
    // A failed start is not shared with the next one.
    created.ready.catch(() => byKey.get(key) === created && byKey.delete(key));
    byKey.set(key, created);
    entry = created;
  }
  // Held before the await, so the last viewer leaving meanwhile does not stop the trace under us.
  entry.refs++;
  const held = entry;
  let trace: SharedTrace;
  try {
    trace = await held.ready;
  } catch (e) {
    held.refs--;
    throw e;
  }
  const viewer: Viewer = { id, sink };
  trace.viewers.add(viewer);
  let stopped = false;
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      if (--held.refs > 0) {
        trace.viewers.delete(viewer);
        return;
      }
      // The last viewer: new viewers of this filter start a fresh trace; this one gets the last packets.
      if (byKey.get(key) === held) byKey.delete(key);
      await trace.stop();
      trace.viewers.delete(viewer);
    },
  };
}

async function kernelFilter(f: LiveFilter): Promise<KernelFilter> {
  const inodes: number[] = [];
  for (const n of f.netns ?? []) {
    const ref = await findNamespace(n);
    if (!ref) throw new Error(`unknown namespace "${n}"`);
    inodes.push(ref.inode);
  }
  return {
    ...(f.proto && { proto: traceProtoNumber(f.proto) }),
    ...(f.addr && { addrA: f.addr }),
    ...(f.port && { port: f.port }),
    ...(inodes.length > 0 && { netns: [...new Set(inodes)].sort((a, b) => a - b) }),
  };
}

async function startShared(filter: KernelFilter, loader: ProbeLoader): Promise<SharedTrace> {
  const names = netnsNames();
  await names.refresh();
  const viewers = new Set<Viewer>();
  const onLate = (): void => viewers.forEach((v) => v.sink.dropped());
  const asm = new LiveJourneys(
    '',
    names.nameOf,
    (j, seq) => {
      let first = true;
      for (const v of viewers) {
        v.sink.journey({ ...j, id: `${v.id}-${seq}` }, first);
        first = false;
      }
    },
    { now: kernelNow, onLate },
  );
  let newest = 0;
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
  const sub: Subscription = await loader.subscribe(
    filter,
    (e) => {
      // Behind the kernel (a backlog): not even assembled, so the view catches up; a packet counts at its end.
      if (kernelNow() - e.tsNs > MAX_LAG_NS) return void (isTerminal(e) && onLate());
      newest = Math.max(newest, e.tsNs);
      asm.push(e);
      linkNetfilter(e.netns);
    },
    { live: true },
  );
  const timer = setInterval(() => {
    // Advance the clock even when no events come, so the last packets are not held forever.
    newest += SWEEP_MS * 1e6;
    asm.sweep(newest);
    void names.resolveMissing();
  }, SWEEP_MS);
  return {
    viewers,
    async stop() {
      clearInterval(timer);
      stopped = true;
      await sub.close();
      await Promise.all(releases.map((r) => r()));
      asm.flushAll();
    },
  };
}
