// The flow view: one kernel-side aggregation (probes/flows.h) shared by every subscriber (pages, the CLI),
// on from the first subscriber and off in the kernel as soon as the last one leaves. Each loader tick
// becomes a FlowsState for the subscribers; the packets it samples become journeys, the newest kept per
// flow for a click in the flow table.
import { emptyFlowsState, flowId, type FlowsState } from '../protocol/flows';
import type { Hop, Journey } from '../protocol/tracer';
import { linksIn, namedNamespaces, netnsNames } from '../topology/index';
import type { NamespaceRef } from '../topology/index';
import { LiveJourneys } from '../tracer/live';
import { kernelNow, type ProbeLoader, type Subscription } from '../tracer/loader';
import type { FlowsRecord } from './record';
import { FlowTable, type TableNames } from './table';

/** Journeys kept (the newest per flow, for this many flows at most). */
const MAX_JOURNEYS = 2000;
const SWEEP_MS = 100;
const DEVICE_REFRESH_MS = 5000;

export interface FlowViewOptions {
  /** Journeys per flow per second after its first packet (PJ_FLOWS_SAMPLE, default 1). */
  readonly samplePerSec?: number;
  readonly tickMs?: number;
  /** false: count only, no sampled journeys (no filter slot taken, no skb tracked). */
  readonly journeys?: boolean;
}

type Listener = (s: FlowsState, r: FlowsRecord | undefined) => void;

/** The flow id of a journey: its first hop's 5-tuple, keyed as the kernel keys it (probes/flows.h). */
export function journeyFlowId(h: Hop): string {
  const icmp = h.proto === 'icmp' || h.proto === 'icmp6';
  if (icmp && h.icmp) {
    const echo = h.icmp.type === 0 || h.icmp.type === 8 || h.icmp.type === 128 || h.icmp.type === 129;
    return flowId(h.proto, h.src, echo ? h.icmp.id : 0, h.dst, (h.icmp.type << 8) | h.icmp.code);
  }
  return flowId(h.proto, h.src, h.sport ?? 0, h.dst, h.dport ?? 0);
}

export class FlowView {
  private readonly listeners = new Set<Listener>();
  private table = new FlowTable();
  private sub: Subscription | undefined;
  private sweep: NodeJS.Timeout | undefined;
  /** Start and stop run one after the other. */
  private chain: Promise<unknown> = Promise.resolve();
  private error: string | undefined;
  private readonly journeys = new Map<string, Journey>();
  /** Per flow: the window of its journeys (the kernel's bound is approximate across CPUs: this one is exact). */
  private readonly windows = new Map<string, { start: number; n: number }>();
  private readonly names = netnsNames();
  private readonly devices = new Map<number, Map<number, string>>();
  private devicesAt = 0;
  private lastState: FlowsState;
  readonly samplePerSec: number;

  constructor(
    private readonly loader: ProbeLoader,
    private readonly o: FlowViewOptions = {},
  ) {
    const env = Number(process.env.PJ_FLOWS_SAMPLE);
    this.samplePerSec = o.samplePerSec ?? (Number.isInteger(env) && env >= 0 ? env : 1);
    this.lastState = { ...emptyFlowsState(), samplePerSec: this.samplePerSec };
  }

  get running(): boolean {
    return this.sub !== undefined;
  }

  get state(): FlowsState {
    return this.lastState;
  }

  /** The newest sampled journey of a flow. */
  journey(id: string): Journey | undefined {
    return this.journeys.get(id);
  }

  /** Subscribes; the first subscriber starts the view in the kernel. Resolves with the unsubscribe. */
  async subscribe(fn: Listener): Promise<() => Promise<void>> {
    this.listeners.add(fn);
    try {
      await this.serial(() => this.start());
    } catch (e) {
      this.listeners.delete(fn);
      throw e;
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      // The last one out hears the view's last counts (the loader prints them as it stops).
      await this.serial(async () => {
        const last = this.listeners.size === 1 && this.listeners.has(fn);
        if (!last) return void this.listeners.delete(fn);
        await this.stopNow();
        this.listeners.delete(fn);
      });
    };
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.chain.then(f, f);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async start(): Promise<void> {
    if (this.sub || this.listeners.size === 0) return;
    await this.names.refresh();
    this.table = new FlowTable();
    this.journeys.clear();
    this.windows.clear();
    this.error = undefined;
    const asm = new LiveJourneys('flows', this.names.nameOf, (j) => this.keepJourney(j));
    let newest = 0;
    this.sub = await this.loader.startFlows(
      {
        samplePerSec: this.samplePerSec,
        ...(this.o.tickMs !== undefined && { tickMs: this.o.tickMs }),
        ...(this.o.journeys === false && { journeys: false }),
      },
      (r) => this.onTick(r),
      (e) => {
        newest = Math.max(newest, e.tsNs);
        asm.push(e);
      },
    );
    this.sweep = setInterval(() => {
      newest = Math.max(newest + SWEEP_MS * 1e6, kernelNow() - 1e9);
      asm.sweep(newest);
      void this.names.resolveMissing();
    }, SWEEP_MS);
    this.sweep.unref();
    this.publish(undefined);
  }

  private async stopNow(): Promise<void> {
    if (!this.sub) return;
    const sub = this.sub;
    this.sub = undefined;
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = undefined;
    await sub.close();
    this.publish(undefined);
  }

  /** Stops whatever the subscribers hold (the server is closing). */
  async dispose(): Promise<void> {
    this.listeners.clear();
    await this.serial(() => this.stopNow());
  }

  private keepJourney(j: Journey): void {
    const first = j.hops[0];
    if (!first) return;
    const id = journeyFlowId(first);
    const now = Date.now();
    const w = this.windows.get(id);
    // The flow's first journey, then at most samplePerSec a second.
    if (w) {
      if (now - w.start >= 1000) {
        w.start = now;
        w.n = 0;
      }
      if (w.n >= this.samplePerSec) return;
      w.n++;
    } else {
      this.windows.set(id, { start: now, n: 0 });
      if (this.windows.size > MAX_JOURNEYS * 4) this.windows.delete(this.windows.keys().next().value as string);
    }
    this.journeys.delete(id);
    this.journeys.set(id, j);
    if (this.journeys.size > MAX_JOURNEYS) this.journeys.delete(this.journeys.keys().next().value as string);
    this.table.noteJourney(id);
  }

  private onTick(r: FlowsRecord): void {
    // The loader's last record (at `flows off`) comes after stopNow() took the subscription: still counted.
    this.table.apply(r);
    void this.refreshDevices(r);
    this.publish(r);
  }

  private publish(r: FlowsRecord | undefined): void {
    this.lastState = this.table.state(this.tableNames, {
      running: this.sub !== undefined,
      samplePerSec: this.samplePerSec,
      ...(this.error !== undefined && { error: this.error }),
    });
    for (const fn of this.listeners) {
      try {
        fn(this.lastState, r);
      } catch (e) {
        console.error(`flow view: a subscriber threw: ${String(e)}`);
      }
    }
  }

  /** Every flow known, uncapped (the CLI). */
  rows(): ReturnType<FlowTable['rows']> {
    return this.table.rows(this.tableNames);
  }

  private readonly tableNames: TableNames = {
    netns: (inode) => this.names.nameOf(inode),
    device: (inode, ifindex) => this.devices.get(inode)?.get(ifindex),
    wallMs: (ns) => Date.now() - (kernelNow() - ns) / 1e6,
  };

  /** Device names of the namespaces flows crossed, listed again at most every few seconds. */
  private async refreshDevices(r: FlowsRecord): Promise<void> {
    const unknown = r.flows.some((f) => f.ifindexes.some((i) => !this.devices.get(f.netns)?.has(i)));
    if (!unknown || Date.now() - this.devicesAt < DEVICE_REFRESH_MS) return;
    this.devicesAt = Date.now();
    const refs: NamespaceRef[] = await namedNamespaces().catch(() => []);
    for (const ns of refs) {
      const l = await linksIn(ns).catch(() => undefined);
      if (l && 'interfaces' in l) this.devices.set(ns.inode, new Map(l.interfaces.map((i) => [i.ifindex, i.name])));
    }
  }
}

let shared: FlowView | undefined;

/** The process-wide flow view on the shared loader. */
export function getFlowView(loader: ProbeLoader): FlowView {
  shared ??= new FlowView(loader);
  return shared;
}
