// The one shared probe loader: spawned once, serving every follower through filter slots. Its stdout is
// parsed (ndjson.ts); the process is supervised by loader-process.ts (stderr as the failure reason, a
// crash restarted within 2 s), and every filter and netfilter attachment is re-applied after a restart.
// It runs while someone follows (sys/holders) and stops `idleMs` after the last one. Status changes feed
// the UI's banner.
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { LoaderStatus } from '../protocol/tracer';
import type { NetnsTarget } from '../sys/exec';
import { holders, type Holders } from '../sys/holders';
import type { HopEvent } from './hop-event';
import { LoaderProcess } from './loader-process';
import { isFlowsLine, parseFlowsLine, type FlowsRecord } from '../flows/record';
import { isHopBatch, parseLoaderLine, readHopBatch, type CodeTables, type SlotSkips } from './ndjson';
import { compileFilter, progHex, sugarExpression, type CompiledFilter } from './pcap-filter';
import { dotted } from './pcap-prefilter';

export const LOADER_PATH = fileURLToPath(new URL('../../probes/build/loader', import.meta.url));
const COMMAND_TIMEOUT_MS = 5000;
const READY_TIMEOUT_MS = 10_000;
/** Slots live views may never take, so a follow always finds one however many views are open. */
export const FOLLOW_RESERVE = 4;

/**
 * Kernel-side filter of one slot: a pcap-filter expression, and the structured fields as sugar ANDed to it
 * (pcap-filter.ts compiles both to one expression); absent fields match anything.
 */
export interface KernelFilter {
  readonly expr?: string;
  readonly proto?: number;
  readonly addrA?: string;
  readonly addrB?: string;
  readonly port?: number;
  readonly icmpId?: number;
  /** Only these netns inodes. */
  readonly netns?: readonly number[];
  /** Also report a connect() whose first packet goes elsewhere (a sock_connect event; follows only). */
  readonly sock?: boolean;
}

export interface Subscription {
  readonly slot: number;
  /** Replaces the slot's filter in place (the probe is not reloaded); a bad one throws and changes nothing. */
  update(filter: KernelFilter): Promise<void>;
  close(): Promise<void>;
}

type HopListener = (h: HopEvent) => void;

/**
 * The kernel's clock (bpf_ktime_get_ns and Node's hrtime are both CLOCK_MONOTONIC): from performance.now()
 * (the same clock in libuv, as a double), so a flood does not allocate a BigInt per event.
 */
const MONO_OFFSET_NS = Number(process.hrtime.bigint()) - performance.now() * 1e6;
export const kernelNow = (): number => MONO_OFFSET_NS + performance.now() * 1e6;

/**
 * A live view's bounds: its events older than `maxLagNs` are not even decoded (see `pick`), nor are the
 * packets past `budget` new packets per window (the view could not show them: it is sent at most that many).
 */
export interface LateRule {
  readonly maxLagNs: number;
  readonly budget?: { readonly packets: number; readonly windowNs: number };
  /** A packet skipped (late, or over budget), counted once, at its end, as one dropped packet. */
  onLate(): void;
}

/** A live slot's packets in flight, by skb (low 32 bits): admitted (ms > 0) or refused (ms < 0) at ms. */
interface Admission {
  readonly skbs: Map<number, number>;
  windowStart: number;
  admitted: number;
}
const ADMISSION_SWEEP = 8192;

interface Slot {
  filter: KernelFilter;
  compiled: CompiledFilter;
  readonly onHop: HopListener;
  readonly live: boolean;
  readonly late?: LateRule | undefined;
  readonly admission: Admission;
  /** The loader applied this slot's filter: its skip counts from then on are this slot's, not a previous user's. */
  applied?: boolean;
  threw?: boolean;
  /** The flow view's slot: the `flows on` command that (re)starts it, in place of a filter. */
  readonly flows?: (slot: number) => string;
}
type StatusListener = (s: LoaderStatus) => void;

/** The expression a kernel filter stands for (its sugar ANDed to its own expression). */
export function filterExpression(f: KernelFilter): string {
  const addrs = [f.addrA, f.addrB].filter((a): a is string => a !== undefined);
  return sugarExpression({ proto: f.proto, addrs, port: f.port, icmpId: f.icmpId }, f.expr);
}

/** Compiles a kernel filter; a bad expression throws FilterError with libpcap's message. */
export function compileKernelFilter(f: KernelFilter): Promise<CompiledFilter> {
  return compileFilter(filterExpression(f));
}

/**
 * The loader's stdin command for a slot: its programs as compiled and checked by pcap-filter.ts. With a
 * live view's `budget`, the loader admits its packets itself and never prints the ones past it.
 */
export function filterCommand(slot: number, c: CompiledFilter, f: KernelFilter, budget?: LateRule['budget']): string {
  const parts = [`filter ${slot}`, `l2=${progHex(c.l2)}`, `l3=${progHex(c.l3)}`];
  // The prefilter, checked in the probe before the programs run (main's structured fields, and ipv4=0).
  const p = c.pre;
  if (p.noIpv4) parts.push('ipv4=0');
  if (p.proto !== undefined) parts.push(`proto=${p.proto & 0xff}`);
  (p.addrs ?? []).slice(0, 2).forEach((a, i) => parts.push(`addr_${i ? 'b' : 'a'}=${dotted(a)}`));
  if (p.port !== undefined) parts.push(`port=${p.port & 0xffff}`);
  if (p.icmpId !== undefined) parts.push(`icmp_id=${p.icmpId & 0xffff}`);
  if (f.netns && f.netns.length > 0) parts.push(`netns=${f.netns.map((n) => Math.trunc(n)).join(',')}`);
  if (f.sock) parts.push('sock=1');
  if (budget) {
    const packets = Math.max(1, Math.trunc(budget.packets));
    parts.push(`budget=${packets}/${Math.max(1, Math.round(budget.windowNs / 1e6))}`);
  }
  return parts.join(' ');
}

/** Path the loader opens to enter a namespace (it runs in the host netns, so `host` is its own). */
export function netnsPath(t: NetnsTarget): string {
  switch (t.kind) {
    case 'host':
      return '/proc/self/ns/net';
    case 'named':
      return `/var/run/netns/${t.name}`;
    case 'pid':
      return `/proc/${t.pid}/ns/net`;
    case 'path':
      return t.path;
  }
}

export class ProbeLoader {
  private readonly proc: LoaderProcess;
  /** Open and opening subscriptions; the last one out stops the loader after `idleMs`. */
  private readonly followers: Holders;
  private readonly slots = new Map<number, Slot>();
  /** Slot bits that take every event (follows), and those with a lag bound (live views). */
  private eager = 0;
  private lagged = 0;
  /** The kernel clock when the batch being read arrived. */
  private batchNow = 0;
  private skippedCount = 0;
  private receivedCount = 0;
  // Netfilter links pin their namespace (it cannot be freed while linked), so they are refcounted per
  // follow and dropped as soon as a namespace's path disappears (e.g. `lab down`).
  private readonly nf = new Map<string, { inode: number; refs: number }>();
  private nfWatch: NodeJS.Timeout | undefined;
  private readonly pending = new Map<string, { resolve: (r: Ack) => void; timer: NodeJS.Timeout }>();
  private readonly statusListeners = new Set<StatusListener>();
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private nextId = 1;
  private maxSlots = 16;
  status: LoaderStatus = { state: 'stopped', restarts: 0, emitted: 0, lost: 0, badLines: 0 };
  hostNetns = 0;
  private tables: CodeTables | undefined;

  constructor(
    path = LOADER_PATH,
    /** Stop the loader (and detach everything) this long after the last subscriber leaves; 0: never. */
    idleMs = 15_000,
    /** Loader arguments: benchmarks pass `--discard`, a CLI follow `--no-flows`. */
    private readonly args: readonly string[] = [],
  ) {
    this.proc = new LoaderProcess(path, args, {
      line: (l) => this.onLine(l),
      status: (patch) => this.setStatus(patch),
      exited: () => this.failPending(),
      failed: (e) => this.failWaiters(e),
    });
    this.followers = holders({
      graceMs: idleMs,
      unref: true,
      onIdle: () => {
        if (idleMs > 0) void this.stop();
      },
    });
  }

  onStatus(fn: StatusListener): () => void {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }

  private setStatus(patch: Partial<LoaderStatus>): void {
    this.status = { ...this.status, ...patch };
    for (const fn of this.statusListeners) fn(this.status);
  }

  /** Spawns the loader now, without waiting for it, for a caller that will subscribe soon. */
  prestart(): void {
    if (this.status.state === 'stopped') this.proc.start();
  }

  /** Starts the loader if needed; resolves once it printed its ready record. */
  async ensureStarted(): Promise<void> {
    if (this.status.state === 'ready') return;
    if (this.status.state === 'stopped') this.proc.start();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`probe loader not ready after ${READY_TIMEOUT_MS} ms`)),
        READY_TIMEOUT_MS,
      );
      this.readyWaiters.push({
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** The process ended: commands in flight get no answer. */
  private failPending(): void {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, error: 'probe loader exited' });
    }
    this.pending.clear();
  }

  private failWaiters(e: Error): void {
    const w = this.readyWaiters;
    this.readyWaiters = [];
    for (const x of w) x.reject(e);
  }

  private onLine(line: Buffer): void {
    if (isHopBatch(line)) return this.onBatch(line);
    if (isFlowsLine(line)) return this.onFlowsLine(line);
    const rec = parseLoaderLine(line.toString('utf8'), this.tables);
    if (!rec) {
      this.status = { ...this.status, badLines: this.status.badLines + 1 };
      return;
    }
    switch (rec.type) {
      case 'hops':
        for (const h of rec.hops) this.dispatch(h, h.mask);
        return;
      case 'ready':
        if (rec.layoutError || !rec.tables) {
          // Its batches would all be unreadable: refuse it rather than trace nothing in silence.
          const why = rec.layoutError ?? 'probe loader did not declare its event layout: rebuild with `make -C probes`';
          void this.proc.stop();
          this.setStatus({ state: 'stopped', lastError: why });
          this.failWaiters(new Error(why));
          return;
        }
        this.hostNetns = rec.hostNetns;
        this.tables = rec.tables;
        this.maxSlots = rec.maxFilters;
        void this.reapply().then(() => {
          this.setStatus({ state: 'ready', pid: rec.pid, attachMs: rec.attachMs, netfilter: rec.netfilter });
          const w = this.readyWaiters;
          this.readyWaiters = [];
          for (const x of w) x.resolve();
        });
        return;
      case 'ack': {
        const p = this.pending.get(rec.id);
        if (p) {
          clearTimeout(p.timer);
          this.pending.delete(rec.id);
          p.resolve({ ok: rec.ok, error: rec.error, emitted: rec.emitted, lost: rec.lost, consumed: rec.consumed });
        }
        this.creditSkips(rec.skipped);
        return;
      }
      case 'stats':
        this.setStatus({ emitted: rec.emitted, lost: rec.lost });
        this.creditSkips(rec.skipped);
        return;
    }
  }

  /** Packets the loader refused for a live view (its budget): dropped, as if the server had skipped them. */
  private creditSkips(skips: SlotSkips | undefined): void {
    for (const [slot, n] of skips ?? []) {
      const s = this.slots.get(slot);
      if (!s?.applied || !s.late) continue;
      for (let i = 0; i < n; i++) s.late.onLate();
    }
  }

  /** A hop batch: only the events some slot still wants become objects (under a flood, few of them). */
  private onBatch(line: Buffer): void {
    this.batchNow = kernelNow();
    const to = this.deliverTo;
    const hops = this.tables ? readHopBatch(line, this.tables, this.pick, to) : undefined;
    if (!hops) {
      this.status = { ...this.status, badLines: this.status.badLines + 1 };
      return;
    }
    for (let i = 0; i < hops.length; i++) this.dispatch(hops[i] as HopEvent, to[i] as number);
  }
  private readonly deliverTo: number[] = [];

  /**
   * Decode an event for the follows that matched it (a follow needs every event of its flow), and for the
   * live views for which it is on time and whose packet they admitted. What no slot takes is never built.
   */
  private readonly pick = (tsNs: number, mask: number, terminal: boolean, skbLo: number): number => {
    this.receivedCount++;
    let to = mask & this.eager;
    for (let i = 0, m = mask & this.lagged; m !== 0; i++, m >>>= 1) {
      const s = m & 1 ? this.slots.get(i) : undefined;
      if (s?.late && this.admit(s.late, s.admission, tsNs, terminal, skbLo)) to |= 1 << i;
    }
    if (to === 0) this.skippedCount++;
    return to;
  };

  /** One live slot's say on an event: on time, and of a packet it took (or takes now, within budget). */
  private admit(rule: LateRule, a: Admission, tsNs: number, terminal: boolean, skbLo: number): boolean {
    const nowMs = Math.round(this.batchNow / 1e6);
    const seen = a.skbs.get(skbLo);
    let take: boolean;
    if (this.batchNow - tsNs > rule.maxLagNs) take = false;
    else if (seen !== undefined) take = seen > 0;
    else if (!rule.budget) take = true;
    else {
      // Windows of kernel time, as the loader's: what it admitted per window then fits in the same window here.
      if (tsNs - a.windowStart >= rule.budget.windowNs) {
        a.windowStart = tsNs;
        a.admitted = 0;
        if (a.skbs.size > ADMISSION_SWEEP) sweepAdmission(a, nowMs);
      }
      take = a.admitted < rule.budget.packets;
      if (take) a.admitted++;
      if (!terminal) a.skbs.set(skbLo, take ? nowMs : -nowMs);
    }
    if (terminal) {
      a.skbs.delete(skbLo); // the skb is free: its address may carry the next packet
      // An admitted packet whose end is late is counted by the view, when it gives the open packet up.
      if (!take && !(seen !== undefined && seen > 0)) rule.onLate();
    }
    return take;
  }

  private remask(): void {
    this.eager = 0;
    this.lagged = 0;
    for (const [i, s] of this.slots) {
      if (s.late) this.lagged |= 1 << i;
      else this.eager |= 1 << i;
    }
  }

  private dispatch(h: HopEvent, to: number): void {
    let m = to;
    for (let i = 0; m !== 0; i++, m >>>= 1) {
      const s = m & 1 ? this.slots.get(i) : undefined;
      if (!s) continue;
      // One subscriber's bug must not starve the others of this hop, nor the rest of the batch.
      try {
        s.onHop(h);
      } catch (e) {
        if (!s.threw) console.error(`probe loader: a hop subscriber threw (logged once per subscriber): ${String(e)}`);
        s.threw = true;
      }
    }
  }

  /** After a (re)start: the new process knows nothing, so send every slot and attachment again. */
  private async reapply(): Promise<void> {
    for (const [slot, s] of this.slots) {
      s.applied = false;
      await this.command(
        s.flows ? s.flows(slot) : filterCommand(slot, s.compiled, s.filter, s.late?.budget),
        (r) => (s.applied = r.ok),
      );
    }
    if (this.flowsNoSlot) await this.command(this.flowsNoSlot);
    for (const path of [...this.nf.keys()]) {
      const r = await this.command(`nf_attach ${path}`);
      if (!r.ok) this.nf.delete(path); // the namespace is gone
    }
  }

  /** `onAck` runs as the answer is read, before any later line (a promise would run after its chunk). */
  private command(cmd: string, onAck?: (r: Ack) => void): Promise<Ack> {
    if (/[\n\r]/.test(cmd)) return Promise.resolve({ ok: false, error: 'probe loader not running' });
    const id = `c${this.nextId++}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, error: `probe loader did not answer "${cmd.split(' ')[0]}"` });
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (r) => {
          onAck?.(r);
          resolve(r);
        },
        timer,
      });
      if (this.proc.write(`${id} ${cmd}\n`)) return;
      clearTimeout(timer);
      this.pending.delete(id);
      resolve({ ok: false, error: 'probe loader not running' });
    });
  }

  /**
   * Claims a filter slot; hops matching it go to onHop until close(). A live view's (`live`) may not take
   * the last FOLLOW_RESERVE slots. With `late`, events over its lag bound are skipped before decoding
   * (unless another slot takes them too: then onHop still sees them).
   */
  async subscribe(
    filter: KernelFilter,
    onHop: HopListener,
    opts: { live?: boolean; late?: LateRule } = {},
  ): Promise<Subscription> {
    // Compiled before anything is claimed: a bad expression starts nothing.
    const compiled = await compileKernelFilter(filter);
    const release = this.followers.acquire();
    try {
      const admission = { skbs: new Map<number, number>(), windowStart: -Infinity, admitted: 0 };
      const s: Slot = { filter, compiled, onHop, live: opts.live === true, late: opts.late, admission };
      const slot = await this.claimSlot(s);
      return {
        slot,
        update: async (next) => {
          const c = await compileKernelFilter(next);
          if (this.slots.get(slot) !== s) throw new Error('subscription closed');
          const r = await this.command(filterCommand(slot, c, next, s.late?.budget));
          if (!r.ok) throw new Error(`probe filter: ${r.error ?? 'failed'}`);
          s.filter = next;
          s.compiled = c;
        },
        close: async () => {
          if (!this.slots.delete(slot)) return;
          this.remask();
          await this.command(`clear ${slot}`);
          release();
        },
      };
    } catch (e) {
      release();
      throw e;
    }
  }

  private async claimSlot(s: Slot): Promise<number> {
    const { live } = s;
    await this.ensureStarted();
    const liveMax = Math.max(0, this.maxSlots - FOLLOW_RESERVE);
    if (live && [...this.slots.values()].filter((s) => s.live).length >= liveMax)
      throw new Error(`all ${liveMax} live trace slots are busy; try again when a live view of another filter ends`);
    let slot = -1;
    for (let i = 0; i < this.maxSlots; i++) {
      if (!this.slots.has(i)) {
        slot = i;
        break;
      }
    }
    if (slot < 0) throw new Error(`all ${this.maxSlots} trace slots are busy; try again when a follow ends`);
    const cmd = s.flows ? s.flows(slot) : filterCommand(slot, s.compiled, s.filter, s.late?.budget);
    this.slots.set(slot, s);
    this.remask();
    const r = await this.command(cmd, (a) => (s.applied = a.ok));
    if (!r.ok) {
      this.slots.delete(slot);
      this.remask();
      throw new Error(`probe filter: ${r.error ?? 'failed'}`);
    }
    return slot;
  }

  /**
   * Netfilter BPF links in these namespaces for as long as the caller needs them. Returns a release
   * function (call it when the follow ends) and the namespaces that could not be linked.
   */
  async attachNetfilter(
    targets: readonly { target: NetnsTarget; inode: number }[],
  ): Promise<{ release: () => Promise<void>; errors: string[] }> {
    await this.ensureStarted();
    const errors: string[] = [];
    const held: string[] = [];
    for (const { target, inode } of targets) {
      const path = netnsPath(target);
      const cur = this.nf.get(path);
      if (cur && cur.inode === inode) {
        cur.refs++;
        held.push(path);
        continue;
      }
      if (cur) await this.detachPath(path);
      const r = await this.command(`nf_attach ${path}`);
      if (r.ok) {
        this.nf.set(path, { inode, refs: 1 });
        held.push(path);
      } else errors.push(`${path}: ${r.error ?? 'failed'}`);
    }
    this.nfWatch ??= setInterval(() => void this.dropStaleNetfilter(), 1000);
    this.nfWatch.unref();
    let released = false;
    return {
      errors,
      release: async () => {
        if (released) return;
        released = true;
        for (const path of held) {
          const n = this.nf.get(path);
          if (n && --n.refs <= 0) await this.detachPath(path);
        }
      },
    };
  }

  private flowListener: ((r: FlowsRecord) => void) | undefined;
  /** The `flows on` of a view without journeys (no slot), sent again after a restart. */
  private flowsNoSlot: string | undefined;

  private onFlowsLine(line: Buffer): void {
    const r = parseFlowsLine(line.toString('utf8'));
    if (!r) this.status = { ...this.status, badLines: this.status.badLines + 1 };
    else this.flowListener?.(r);
  }

  /**
   * The all-traffic flow view (probes/flows.h): one record a tick to `onFlows` until close(), and the hops
   * of the packets it samples (a flow's first, then at most `samplePerSec` a second) to `onHop`, through a
   * slot of its own. One at a time: its callers share it (server/flows/view.ts).
   */
  async startFlows(
    o: { readonly samplePerSec: number; readonly tickMs?: number; readonly journeys?: boolean },
    onFlows: (r: FlowsRecord) => void,
    onHop: HopListener,
  ): Promise<Subscription> {
    if (this.flowListener) throw new Error('the flow view is already on');
    const release = this.followers.acquire();
    const n = Math.max(0, Math.min(1000, Math.trunc(o.samplePerSec)));
    const tick = Math.max(100, Math.min(60_000, Math.trunc(o.tickMs ?? 1000)));
    this.flowListener = onFlows;
    try {
      if (o.journeys === false) {
        // Counting alone: no slot, so no skb is ever tracked for it.
        const cmd = `flows on n=${n} tick_ms=${tick}`;
        const r = await this.command(cmd);
        if (!r.ok) throw new Error(`probe flows: ${r.error ?? 'failed'}`);
        this.flowsNoSlot = cmd;
        let closed = false;
        return {
          slot: -1,
          update: () => Promise.reject(new Error('the flow view has no filter')),
          close: async () => {
            if (closed) return;
            closed = true;
            this.flowsNoSlot = undefined;
            await this.command('flows off');
            if (this.flowListener === onFlows) this.flowListener = undefined;
            release();
          },
        };
      }
      const admission = { skbs: new Map<number, number>(), windowStart: -Infinity, admitted: 0 };
      const flows = (slot: number): string => `flows on slot=${slot} n=${n} tick_ms=${tick}`;
      // Matches nothing by itself (no programs, and IPv4 refused by the prefilter): only its samples are traced.
      const compiled = { expr: '', l2: [], l3: [], pre: { noIpv4: true } };
      const slot = await this.claimSlot({ filter: {}, compiled, onHop, live: false, admission, flows });
      return {
        slot,
        update: () => Promise.reject(new Error('the flow view has no filter')),
        close: async () => {
          if (!this.slots.delete(slot)) return;
          this.remask();
          // The loader prints the last counts before its answer: still ours.
          await this.command('flows off');
          if (this.flowListener === onFlows) this.flowListener = undefined;
          release();
        },
      };
    } catch (e) {
      this.flowListener = undefined;
      release();
      throw e;
    }
  }

  /** Events never decoded: no slot took them (late, over a live view's budget, or matching none). */
  get skipped(): number {
    return this.skippedCount;
  }

  /** Events read off the loader's hop batches (what crossed the pipe), decoded or not. */
  get received(): number {
    return this.receivedCount;
  }

  /** Filter slots the kernel side has (known once it is ready). */
  get slotCount(): number {
    return this.maxSlots;
  }

  /** Filter slots held right now (by follows and live traces). */
  get subscriptions(): number {
    return this.slots.size;
  }

  /** Inodes of the namespaces with netfilter links right now. */
  get netfilterNetns(): number[] {
    return [...this.nf.values()].map((n) => n.inode);
  }

  private async detachPath(path: string): Promise<void> {
    const n = this.nf.get(path);
    if (!n) return;
    this.nf.delete(path);
    await this.command(`nf_detach ${n.inode}`);
  }

  /** A linked namespace whose path vanished or now names another namespace: let it go. */
  private async dropStaleNetfilter(): Promise<void> {
    for (const [path, n] of [...this.nf]) {
      if (path === '/proc/self/ns/net') continue;
      const st = await stat(path).catch(() => undefined);
      if (!st || st.ino !== n.inode) await this.detachPath(path);
    }
    if (this.nf.size === 0 && this.nfWatch) {
      clearInterval(this.nfWatch);
      this.nfWatch = undefined;
    }
  }

  /** Resolves once every event the kernel produced before the call has been delivered to listeners. */
  async sync(): Promise<void> {
    await this.command('sync');
  }

  /** Kernel-side counters: events written to the ring buffer, lost (ring full), consumed by the loader. */
  async stats(): Promise<{ emitted: number; lost: number; consumed: number }> {
    const r = await this.command('stats');
    return { emitted: r.emitted ?? this.status.emitted, lost: r.lost ?? this.status.lost, consumed: r.consumed ?? 0 };
  }

  /** Stops the loader and detaches everything (see LoaderProcess.stop). */
  async stop(): Promise<void> {
    this.followers.dispose();
    if (this.nfWatch) clearInterval(this.nfWatch);
    this.nfWatch = undefined;
    this.nf.clear();
    // Before its ready record nothing was asked of it, and EOF would wait for the verifier: kill it.
    await this.proc.stop(this.status.state === 'starting' ? 'SIGKILL' : 'eof');
  }

  /** Test hook: the child's pid, to kill it from outside and watch the restart. */
  get pid(): number | undefined {
    return this.proc.pid;
  }
}

interface Ack {
  readonly ok: boolean;
  readonly error?: string | undefined;
  readonly emitted?: number | undefined;
  readonly lost?: number | undefined;
  readonly consumed?: number | undefined;
}

/** Forgets packets in flight for over a second: their end was lost (the kernel ring was full). */
function sweepAdmission(a: Admission, nowMs: number): void {
  for (const [skb, ms] of a.skbs) if (nowMs - Math.abs(ms) > 1000) a.skbs.delete(skb);
}

let shared: ProbeLoader | undefined;

/** The process-wide loader every follower and live view shares. */
export function getLoader(): ProbeLoader {
  shared ??= new ProbeLoader();
  return shared;
}
