// Live mode: a continuous kernel filter; each packet becomes a journey when it ends (freed) or goes
// quiet, and journeys leave in batches. The assembler is bounded so an unfiltered trace cannot eat memory.
import type { Journey, LiveFilter } from '../protocol/tracer';
import { traceProtoNumber } from '../protocol/vocab';
import { findNamespace, namedNamespaces, netnsNames } from '../topology/index';
import { PacketAssembler, type Packet } from './assembler';
import { packetJourney, type NameOf } from './journey';
import type { KernelFilter, ProbeLoader, Subscription } from './loader';
import type { HopEvent } from './hop-event';

const QUIET_NS = 250e6;
const SWEEP_MS = 100;
const MAX_OPEN = 20_000;

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
    private readonly emit: (j: Journey) => void,
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
    const j = packetJourney(p, `${this.id}-${this.seq}`, this.nameOf);
    if (!j) return;
    this.seq++;
    this.emit(j);
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
  const asm = new LiveJourneys(id, names.nameOf, emit);
  let newest = 0;
  const filter: KernelFilter = {
    ...(f.proto && { proto: traceProtoNumber(f.proto) }),
    ...(f.addr && { addrA: f.addr }),
    ...(f.port && { port: f.port }),
    ...(inodes.length > 0 && { netns: inodes }),
  };
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
  const sub: Subscription = await loader.subscribe(filter, (e) => {
    newest = Math.max(newest, e.tsNs);
    asm.push(e);
    linkNetfilter(e.netns);
  });
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
