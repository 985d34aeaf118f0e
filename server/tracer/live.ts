// Live mode: a continuous kernel filter; each packet becomes a journey when it ends (freed) or goes
// quiet, and journeys leave in batches. The assembler is bounded so an unfiltered trace cannot eat memory.
// Viewers of the same filter share one kernel slot, one assembly and one outlet: each journey is built,
// batched and encoded once, under the shared trace's key, and sent to all of them at once.
import { UserError } from '../sys/errors';
import { msg } from '../protocol/i18n/msg';
import type { Journey, LiveFilter } from '../protocol/tracer';
import { isIpv6, traceProtoNumber } from '../protocol/vocab';
import { findNamespace, namedNamespaces, netnsNames } from '../topology/index';
import { isTerminal, PacketAssembler, type Packet } from './assembler';
import { packetJourney, type NameOf } from './journey';
import { compileKernelFilter, kernelNow, type KernelFilter, type ProbeLoader, type Subscription } from './loader';
import type { HopEvent } from './hop-event';

const QUIET_NS = 250e6;
const SWEEP_MS = 100;
const MAX_OPEN = 20_000;
/**
 * A view stays within 1 s of the kernel: a packet whose newest event is older than this is dropped (and
 * counted), not sent. Half the second: the rest is for the batch, the socket and the browser. Under a flood
 * the kernel ring is a queue about a second deep, so what the server assembles sits near this bound (the
 * soak bench measured a p95 of 1.03 s kernel-to-browser with the bound at 1 s).
 */
export const MAX_LAG_NS = 500e6;

/**
 * Journeys built per window: a view is sent at most 10 per 50 ms (socket.ts LIVE_BATCH_MAX), so under a
 * flood (~80k packets/s) a journey past this would be built only to be dropped by the batcher. Those are
 * counted as dropped without being built: the allocation churn was what made the server's RSS swing.
 * 10, not 50: a classroom's 30 viewers each get every batch, and at 50 (1,000 journeys/s, ~5 KB each) a
 * flood needed 600 Mbit/s to them and left them 0.8 s (p95 1.9 s) behind the kernel on the 2-vCPU VM; at 10,
 * 200 Mbit/s and 0.13 s (p95 0.4 s) (bench/classroom-load.ts). The page shows its newest 200 anyway.
 */
export const BUILD_BUDGET = { journeys: 10, windowNs: 50e6 } as const;

/**
 * Groups a stream of hop events into per-packet journeys, emitted as each packet ends or goes quiet.
 * The packets are cut by the same assembler a follow uses. Pure apart from the clock it is given.
 */
export class LiveJourneys {
  private readonly asm: PacketAssembler;
  private seq = 0;
  private windowStart = -Infinity;
  private built = 0;

  constructor(
    private readonly id: string,
    private readonly nameOf: NameOf,
    /** Each journey (named `${id}-${seq}`) with its sequence number. */
    private readonly emit: (j: Journey, seq: number) => void,
    /**
     * With it, a packet that ends over MAX_LAG_NS behind `now` (the server is working through a backlog),
     * or past the BUILD_BUDGET of its window, is given to `onLate` unbuilt: the oldest go, so the view
     * catches up with the newest.
     */
    private readonly late?: { readonly now: () => number; readonly onLate: () => void; readonly unbudgeted?: boolean },
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
    if (this.late) {
      const now = this.late.now();
      if (now - p.lastTs > MAX_LAG_NS) return this.late.onLate();
      if (this.late.unbudgeted) return this.emitJourney(p);
      if (now - this.windowStart >= BUILD_BUDGET.windowNs) {
        this.windowStart = now;
        this.built = 0;
      }
      if (this.built >= BUILD_BUDGET.journeys) return this.late.onLate();
      this.built++;
    }
    this.emitJourney(p);
  }

  private emitJourney(p: Packet): void {
    const j = packetJourney(p, `${this.id}-${this.seq}`, this.nameOf);
    if (!j) return;
    this.emit({ ...j, endNs: p.lastTs }, this.seq++);
  }
}

/** One viewer's hold on a shared trace. */
export interface LiveSession {
  /** The shared trace's key: its batches and journey ids carry it, whoever views it. */
  readonly trace: string;
  stop(): Promise<void>;
}

/**
 * Where a shared trace's journeys go: one outlet per trace, not per viewer, so whatever is done with a
 * journey (batching, encoding, sending to every viewer at once) is done once. Closed after the last one.
 */
export interface LiveOutlet {
  journey(j: Journey): void;
  /** A packet dropped because the server fell behind the kernel. */
  dropped(): void;
  close(): void;
}

/** One kernel slot and one assembly, shared by every viewer of the same filter. */
interface SharedTrace {
  stop(): Promise<void>;
}

/** A shared trace being started or running, and how many viewers hold it (those still starting too). */
interface Entry {
  readonly trace: string;
  readonly ready: Promise<SharedTrace>;
  refs: number;
}

export interface LiveTraces {
  /** Starts viewing a live trace (sharing the one of the same filter). Throws on an unknown namespace. */
  start(f: LiveFilter): Promise<LiveSession>;
}

let traceCount = 0;

/** The shared live traces of one gateway: `open` makes the outlet of each new trace. */
/**
 * `unbudgeted`: every journey is built and given to the outlet (the headless `trace`, which prints them
 * rather than sending them to a page that shows 200); only the lag bound still drops.
 */
export function createLiveTraces(
  loader: ProbeLoader,
  open: (trace: string) => LiveOutlet,
  opts: { unbudgeted?: boolean } = {},
): LiveTraces {
  const byKey = new Map<string, Entry>();
  return {
    async start(f) {
      const filter = await kernelFilter(f);
      const key = JSON.stringify([filter.expr, filter.proto, filter.addrA, filter.port, filter.netns]);
      let entry = byKey.get(key);
      if (!entry) {
        const trace = `live${(++traceCount).toString(36)}-${Date.now().toString(36)}`;
        const created: Entry = {
          trace,
          ready: startShared(trace, filter, loader, open(trace), opts.unbudgeted === true),
          refs: 0,
        };
        // A failed start is not shared with the next one.
        created.ready.catch(() => byKey.get(key) === created && byKey.delete(key));
        byKey.set(key, created);
        entry = created;
      }
      // Held before the await, so the last viewer leaving meanwhile does not stop the trace under us.
      entry.refs++;
      const held = entry;
      let shared: SharedTrace;
      try {
        shared = await held.ready;
      } catch (e) {
        held.refs--;
        throw e;
      }
      let stopped = false;
      return {
        trace: held.trace,
        async stop() {
          if (stopped) return;
          stopped = true;
          if (--held.refs > 0) return;
          // The last viewer: new viewers of this filter start a fresh trace; this one gets the last packets.
          if (byKey.get(key) === held) byKey.delete(key);
          await shared.stop();
        },
      };
    },
  };
}

async function kernelFilter(f: LiveFilter): Promise<KernelFilter> {
  const inodes: number[] = [];
  for (const n of f.netns ?? []) {
    const ref = await findNamespace(n);
    if (!ref) throw new UserError(msg('err.unknownNs', { ns: n }));
    inodes.push(ref.inode);
  }
  const expr = f.expr?.trim();
  const filter: KernelFilter = {
    ...(expr && { expr }),
    // `icmp` with an IPv6 address means ICMPv6 (libpcap's `icmp` is ICMPv4 only, and could never match it).
    ...(f.proto && { proto: f.proto === 'icmp' && f.addr && isIpv6(f.addr) ? 58 : traceProtoNumber(f.proto) }),
    ...(f.addr && { addrA: f.addr }),
    ...(f.port && { port: f.port }),
    ...(inodes.length > 0 && { netns: [...new Set(inodes)].sort((a, b) => a - b) }),
  };
  // Compiled now (cached for the subscribe): a bad expression fails the start with libpcap's message.
  await compileKernelFilter(filter);
  return filter;
}

async function startShared(
  trace: string,
  filter: KernelFilter,
  loader: ProbeLoader,
  out: LiveOutlet,
  unbudgeted: boolean,
): Promise<SharedTrace> {
  try {
    return await runShared(trace, filter, loader, out, unbudgeted);
  } catch (e) {
    out.close();
    throw e;
  }
}

async function runShared(
  trace: string,
  filter: KernelFilter,
  loader: ProbeLoader,
  out: LiveOutlet,
  unbudgeted: boolean,
): Promise<SharedTrace> {
  const names = netnsNames();
  await names.refresh();
  const onLate = (): void => out.dropped();
  const asm = new LiveJourneys(trace, names.nameOf, (j) => out.journey(j), { now: kernelNow, onLate, unbudgeted });
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
      // (The loader skips such events before decoding them, unless a follow took them too.)
      if (kernelNow() - e.tsNs > MAX_LAG_NS) return void (isTerminal(e) && onLate());
      newest = Math.max(newest, e.tsNs);
      asm.push(e);
      linkNetfilter(e.netns);
    },
    {
      live: true,
      // The loader drops at the source what this view would drop: late events, and packets past its budget.
      late: {
        maxLagNs: MAX_LAG_NS,
        ...(!unbudgeted && { budget: { packets: BUILD_BUDGET.journeys, windowNs: BUILD_BUDGET.windowNs } }),
        onLate,
      },
    },
  );
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
      out.close();
    },
  };
}

/**
 * A headless live view (`packet-journey trace`): the journeys of `filter` go to `onJourney` until stop().
 * It takes the loader, so it runs on a local one or on a server's alike. A bad filter throws and starts nothing.
 */
export async function traceJourneys(
  loader: ProbeLoader,
  filter: LiveFilter,
  onJourney: (j: Journey) => void,
): Promise<{ readonly dropped: () => number; stop(): Promise<void> }> {
  let dropped = 0;
  let open = true;
  const traces = createLiveTraces(
    loader,
    () => ({
      journey: (j) => open && onJourney(j),
      dropped: () => void dropped++,
      close: () => (open = false),
    }),
    { unbudgeted: true },
  );
  const session = await traces.start(filter);
  return { dropped: () => dropped, stop: () => session.stop() };
}

/**
 * What a shared trace keeps of the journeys it sent, for a viewer resuming after a cut: at most
 * RING_JOURNEYS of them and none older than RING_AGE_MS (a page away longer than the resume grace has
 * lost its session anyway). Each journey has a position: 0, 1, 2, … in the order sent (LiveBatch.from).
 * A cross-node ping's journey (11 hops) holds 9.2 KiB (bench/resume-memory.ts): 1000 of them are 9 MiB
 * per trace, and 33 journeys a second over the whole grace, a classroom's pings; a flood (the view's cap
 * is 1000 a second) outruns it in a second, and the resume says how many were missed.
 */
export const RING_JOURNEYS = 1000;
export const RING_AGE_MS = 30_000;
/** PJ_LIVE_RING_JOURNEYS overrides the count (tests of a resume past the ring). */
const ringJourneys = (): number => Number(process.env.PJ_LIVE_RING_JOURNEYS) || RING_JOURNEYS;

export class JourneyRing {
  private items: { readonly at: number; readonly journey: Journey }[] = [];
  /** Position of items[head]. */
  private first = 0;
  private head = 0;

  constructor(
    private readonly max = ringJourneys(),
    private readonly ageMs = RING_AGE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Position the next journey sent will have. */
  get next(): number {
    return this.first + this.items.length - this.head;
  }

  /** Keeps a batch about to be sent; returns the position of its first journey. */
  push(journeys: readonly Journey[]): number {
    const from = this.next;
    const at = this.now();
    for (const journey of journeys) this.items.push({ at, journey });
    this.trim(at);
    return from;
  }

  /** The journeys after position `after` still kept, from position `from`; `missed`: those no longer kept. */
  since(after: number): { from: number; journeys: Journey[]; missed: number } {
    this.trim(this.now());
    const want = Math.min(Math.max(after + 1, 0), this.next);
    const from = Math.max(want, this.first);
    const journeys: Journey[] = [];
    for (let i = this.head + (from - this.first); i < this.items.length; i++)
      journeys.push((this.items[i] as { journey: Journey }).journey);
    return { from, journeys, missed: from - want };
  }

  private trim(now: number): void {
    const kept = (): number => this.items.length - this.head;
    while (kept() > 0 && (kept() > this.max || now - (this.items[this.head] as { at: number }).at > this.ageMs)) {
      this.head++;
      this.first++;
    }
    // Compact in steps: a shift per journey would memmove the whole ring at journey rate.
    if (this.head > 1024 && this.head > this.items.length / 2) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
