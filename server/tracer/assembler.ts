// The one packet assembler: hop events in, packets (one skb's life) out. Follow, live and the offline
// builder all feed it, so a packet is cut the same way wherever it is drawn. Pure: fixtures test it.
import type { HopEvent } from './hop-event';

/** Who sent the traffic, to tell request from reply. Live mode knows neither. */
export interface FlowSide {
  /** TCP/UDP: the client's source port (request: sport = it, reply: dport = it). */
  readonly clientPort?: number;
  /** The client's address, to tell request from reply when ports are unknown. */
  readonly clientAddr?: string;
}

export type PacketDir = 'request' | 'reply' | undefined;

/** One packet's life: the events of one skb from its first sighting to its free. */
export interface Packet {
  readonly dir: PacketDir;
  readonly events: HopEvent[];
  /** Kernel time of the newest event. */
  lastTs: number;
  /** Closed by its free, by a reused address, or by the caller (quiet, flush). */
  closed: boolean;
}

export const isDevice = (e: HopEvent): boolean => e.dir !== 'none';
export const isTerminal = (e: HopEvent): boolean => e.hook === 'kfree_skb' || e.hook === 'consume_skb';
export const isNf = (e: HopEvent): boolean => e.hook.startsWith('nf_');

/** request or reply, from the flow key; undefined when the event says neither. */
export function direction(e: HopEvent, flow: FlowSide): PacketDir {
  if (!e.hasIp) return undefined;
  if (e.proto === 1 && e.icmp) {
    if (e.icmp.type === 8) return 'request';
    return 'reply'; // echo reply, or an ICMP error travelling back to the sender
  }
  if (flow.clientPort !== undefined) {
    if (e.sport === flow.clientPort) return 'request';
    if (e.dport === flow.clientPort) return 'reply';
  }
  if (flow.clientAddr !== undefined) {
    if (e.src === flow.clientAddr) return 'request';
    if (e.dst === flow.clientAddr) return 'reply';
  }
  return undefined;
}

/**
 * Ordinary end or real drop? Consumed skbs are ordinary; so is NO_SOCKET for ICMP (an echo reply whose
 * raw socket already got its clone). NO_SOCKET for TCP/UDP means nobody listens: real.
 */
export function classifyEnd(e: HopEvent): { reason: string; isRealDrop: boolean } {
  if (e.hook === 'consume_skb') return { reason: 'CONSUMED', isRealDrop: false };
  const reason = e.reason ?? 'UNKNOWN';
  if (reason === 'CONSUMED') return { reason, isRealDrop: false };
  if (reason === 'NO_SOCKET' && e.proto === 1) return { reason, isRealDrop: false };
  return { reason, isRealDrop: true };
}

/** Fields that stay the same along one packet's path (NAT changes addresses, routers lower the TTL). */
export function samePacket(prev: HopEvent | undefined, e: HopEvent): boolean {
  if (!prev || !prev.hasIp || !e.hasIp) return true;
  if (prev.ipId !== e.ipId || prev.proto !== e.proto || e.ttl > prev.ttl) return false;
  if (prev.tcpFlags !== e.tcpFlags) return false;
  if (prev.icmp && e.icmp && (prev.icmp.type !== e.icmp.type || prev.icmp.seq !== e.icmp.seq)) return false;
  return true;
}

export interface AssemblerOptions {
  /** A new packet (its first event is in). */
  readonly onOpen?: (p: Packet) => void;
  /** A packet that will get no more events. */
  readonly onClose?: (p: Packet) => void;
  /** Packets in flight at most; events that would open one more are counted in `overflow` and dropped. */
  readonly maxOpen?: number;
}

/**
 * Splits a stream of events into packets by skb address. An skb address can be reused once freed, so a
 * free closes the packet; a free of an skb never seen otherwise is a clone (tcpdump, raw sockets) unless
 * it is a real drop, which is kept as a packet of its own. The events of one skb must come in kernel
 * order (they do: one skb is handled by one CPU at a time); packets may interleave freely.
 */
export class PacketAssembler {
  private readonly open = new Map<string, Packet>();
  /** Packets given up because too many were in flight at once. */
  overflow = 0;

  constructor(
    private readonly flow: FlowSide,
    private readonly opts: AssemblerOptions = {},
  ) {}

  /** Adds one event; returns the packet it joined, or undefined when it was skipped. */
  push(e: HopEvent): Packet | undefined {
    const dir = direction(e, this.flow);
    let p = this.open.get(e.skb);
    if (isTerminal(e)) {
      if (p) {
        this.append(p, e);
        this.close(e.skb, p);
        return p;
      }
      if (!classifyEnd(e).isRealDrop) return undefined;
      p = this.start(e, dir);
      if (p) this.close(e.skb, p);
      return p;
    }
    if (p && (p.dir !== dir || !samePacket(p.events[p.events.length - 1], e))) {
      // TCP frees most skbs with __kfree_skb, which has no tracepoint: a reused address shows up as a
      // packet with another IP id, fresh TTL or other flags, and starts a new packet.
      this.close(e.skb, p);
      p = undefined;
    }
    if (p) this.append(p, e);
    else p = this.start(e, dir);
    return p;
  }

  /** Closes packets quiet for longer than quietNs (nowNs: the kernel clock of the newest event seen). */
  sweep(nowNs: number, quietNs: number): void {
    for (const [skb, p] of this.open) if (nowNs - p.lastTs > quietNs) this.close(skb, p);
  }

  flushAll(): void {
    for (const [skb, p] of this.open) this.close(skb, p);
  }

  private start(e: HopEvent, dir: PacketDir): Packet | undefined {
    if (this.open.size >= (this.opts.maxOpen ?? Infinity)) {
      this.overflow++;
      return undefined;
    }
    const p: Packet = { dir, events: [e], lastTs: e.tsNs, closed: false };
    this.open.set(e.skb, p);
    this.opts.onOpen?.(p);
    return p;
  }

  private append(p: Packet, e: HopEvent): void {
    p.events.push(e);
    p.lastTs = e.tsNs;
  }

  private close(skb: string, p: Packet): void {
    this.open.delete(skb);
    p.closed = true;
    this.opts.onClose?.(p);
  }
}

/** All the packets of a batch of events, sorted by kernel time first (offline use and tests). */
export function assemblePackets(events: readonly HopEvent[], flow: FlowSide): Packet[] {
  const out: Packet[] = [];
  const asm = new PacketAssembler(flow, { onOpen: (p) => out.push(p) });
  for (const e of [...events].sort((a, b) => a.tsNs - b.tsNs)) asm.push(e);
  return out;
}
