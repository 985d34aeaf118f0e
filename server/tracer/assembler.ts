// The one packet assembler: hop events in, packets (one skb's life) out. Follow, live and the offline
// builder all feed it, so a packet is cut the same way wherever it is drawn. Pure: fixtures test it.
import { isOrdinaryEnd } from '../protocol/vocab';
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
  /** Closed by its free (of every copy), by a reused address, or by the caller (quiet, flush). */
  closed: boolean;
  /** Other skbs that carried the same packet (a bridge's clone, a flood to several ports). */
  copies: number;
}

export const isDevice = (e: HopEvent): boolean => e.dir !== 'none';
/** The drop reason of a packet last seen handed to native XDP (isXdpHandoff). */
export const XDP_HANDOFF = 'XDP_HANDOFF';
export const isTerminal = (e: HopEvent): boolean => e.hook === 'kfree_skb' || e.hook === 'consume_skb';
export const isNf = (e: HopEvent): boolean => e.hook.startsWith('nf_');

/** request or reply, from the flow key; undefined when the event says neither. */
export function direction(e: HopEvent, flow: FlowSide): PacketDir {
  if (!e.hasIp) return undefined;
  if ((e.proto === 1 || e.proto === 58) && e.icmp) {
    if (e.icmp.type === (e.proto === 58 ? 128 : 8)) return 'request';
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
 * Native XDP on a veth copies the skb into a page-pool page (skb_pp_cow_data) and consumes the skb before
 * the program runs: the packet lives on as an xdp_buff, and comes back as a new skb only if the program
 * passes it. So this consume is the packet's last sighting when XDP dropped it, and not its end otherwise.
 */
export function isXdpHandoff(e: HopEvent): boolean {
  if (e.hook !== 'consume_skb' || e.location === undefined) return false;
  // Every consumed skb of a live view passes here: a set look-up on the symbol, not a regex.
  const plus = e.location.indexOf('+');
  return XDP_HANDOFF_SYMBOLS.has(plus < 0 ? e.location : e.location.slice(0, plus));
}
const XDP_HANDOFF_SYMBOLS = new Set(['skb_pp_cow_data', 'veth_convert_skb_to_xdp_buff', 'veth_xdp_rcv_skb']);

/**
 * Ordinary end or real drop? Consumed skbs are ordinary, and so is ICMP's NO_SOCKET (isOrdinaryEnd). A hand-off to
 * native XDP with nothing after it (see isXdpHandoff; isCopyEnd says when something came after) is the
 * XDP program's drop, inferred.
 */
export function classifyEnd(e: HopEvent): { reason: string; isRealDrop: boolean } {
  if (isXdpHandoff(e)) return { reason: XDP_HANDOFF, isRealDrop: true };
  if (e.hook === 'consume_skb') return { reason: 'CONSUMED', isRealDrop: false };
  const reason = e.reason ?? 'UNKNOWN';
  return { reason, isRealDrop: !isOrdinaryEnd(reason, e.proto) };
}

/** Fields that stay the same along one packet's path (NAT changes addresses, routers lower the TTL). */
export function samePacket(prev: HopEvent | undefined, e: HopEvent): boolean {
  if (!prev || !prev.hasIp || !e.hasIp) return true;
  if (prev.ipId !== e.ipId || prev.proto !== e.proto || e.ttl > prev.ttl) return false;
  if (prev.tcpFlags !== e.tcpFlags) return false;
  if (prev.icmp && e.icmp && (prev.icmp.type !== e.icmp.type || prev.icmp.seq !== e.icmp.seq)) return false;
  return true;
}

/** The same packet in another skb (a clone): same IP id, length, addresses and ICMP/TCP header, no more TTL. */
export function sameIdentity(prev: HopEvent, e: HopEvent): boolean {
  if (!prev.hasIp || !e.hasIp || prev.src !== e.src || prev.dst !== e.dst || prev.totLen !== e.totLen) return false;
  if (prev.sport !== e.sport || prev.dport !== e.dport) return false;
  if (!!prev.icmp !== !!e.icmp || (prev.icmp && e.icmp && prev.icmp.id !== e.icmp.id)) return false;
  return samePacket(prev, e);
}

/** e is a new skb carrying p: the same packet, seen elsewhere (not where p already was). */
function isCopyOf(p: Packet, e: HopEvent): boolean {
  if (!sameIdentity(p.events[p.events.length - 1] as HopEvent, e)) return false;
  return !p.events.some((o) => o.netns === e.netns && o.ifindex === e.ifindex && o.hook === e.hook);
}

const identityKey = (e: HopEvent): string => `${e.proto}/${e.ipId}/${e.totLen}/${e.icmp?.seq ?? e.tcpFlags ?? ''}`;

/**
 * Did the packet go on after this end (the end at `i` of p.events)? Then it was a copy's end, not the
 * packet's: another skb of the packet had not been dropped by then (it was seen going on, is still on
 * its way, or ended cleanly). The same answer for a partial packet and a whole one, so a follow does
 * not stop at a copy's end while the packet is still travelling.
 */
export function isCopyEnd(p: Packet, i: number): boolean {
  const e = p.events[i];
  if (!e || p.copies === 0) return false;
  const others = new Set<string>();
  const dropped = new Set<string>();
  for (const [j, o] of p.events.entries()) {
    if (o.skb === e.skb) continue;
    others.add(o.skb);
    if (j < i && isTerminal(o) && classifyEnd(o).isRealDrop) dropped.add(o.skb);
  }
  return [...others].some((skb) => !dropped.has(skb));
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
 * free closes it; a free of an skb never seen otherwise is a clone (tcpdump, raw sockets) unless it is a
 * real drop, which is kept as a packet of its own. A new skb that carries an open packet (same identity,
 * see sameIdentity) is a copy of it and joins it: a promiscuous bridge forwards a clone and passes the
 * original up to its own stack. The packet closes when its last skb is freed. The events of one skb must
 * come in kernel order (they do: one skb is handled by one CPU at a time); packets may interleave freely.
 */
export class PacketAssembler {
  /** Open skbs: the packet each carries and its own newest event. */
  private readonly open = new Map<string, { p: Packet; last: HopEvent }>();
  /** Open packets by identity key, to find the packet a new skb copies. */
  private readonly byIdentity = new Map<string, Packet>();
  /** Open skbs per open packet. */
  private readonly skbsOf = new Map<Packet, Set<string>>();
  /** Packets given up because too many were in flight at once. */
  overflow = 0;

  constructor(
    private readonly flow: FlowSide,
    private readonly opts: AssemblerOptions = {},
  ) {}

  /** Adds one event; returns the packet it joined, or undefined when it was skipped. */
  push(e: HopEvent): Packet | undefined {
    if (e.connect) return undefined; // a socket's connect() rewrite, not a sighting of a packet
    const dir = direction(e, this.flow);
    const cur = this.open.get(e.skb);
    if (isTerminal(e)) {
      if (cur && isXdpHandoff(e)) {
        // The skb is gone but the packet may go on in a new one (XDP_PASS): it stays open to be joined.
        this.append(cur.p, e);
        this.open.delete(e.skb);
        this.skbsOf.get(cur.p)?.delete(e.skb);
        return cur.p;
      }
      if (cur) {
        this.append(cur.p, e);
        this.release(e.skb, cur.p);
        return cur.p;
      }
      if (!classifyEnd(e).isRealDrop) return undefined;
      const p = this.start(e, dir);
      if (p) this.release(e.skb, p);
      return p;
    }
    if (cur && (cur.p.dir !== dir || !samePacket(cur.last, e))) {
      // TCP frees most skbs with __kfree_skb, which has no tracepoint: a reused address shows up as a
      // packet with another IP id, fresh TTL or other flags, and starts a new packet.
      this.release(e.skb, cur.p);
    } else if (cur) {
      this.append(cur.p, e);
      cur.last = e;
      return cur.p;
    }
    const orig = this.byIdentity.get(identityKey(e));
    if (orig && orig.dir === dir && isCopyOf(orig, e)) {
      orig.copies++;
      this.track(e, orig);
      this.append(orig, e);
      return orig;
    }
    return this.start(e, dir);
  }

  /** Closes packets quiet for longer than quietNs (nowNs: the kernel clock of the newest event seen). */
  sweep(nowNs: number, quietNs: number): void {
    for (const p of [...this.skbsOf.keys()]) if (nowNs - p.lastTs > quietNs) this.close(p);
  }

  flushAll(): void {
    for (const p of [...this.skbsOf.keys()]) this.close(p);
  }

  private start(e: HopEvent, dir: PacketDir): Packet | undefined {
    if (this.skbsOf.size >= (this.opts.maxOpen ?? Infinity)) {
      this.overflow++;
      return undefined;
    }
    const p: Packet = { dir, events: [e], lastTs: e.tsNs, closed: false, copies: 0 };
    this.track(e, p);
    this.byIdentity.set(identityKey(e), p);
    this.opts.onOpen?.(p);
    return p;
  }

  private track(e: HopEvent, p: Packet): void {
    this.open.set(e.skb, { p, last: e });
    let skbs = this.skbsOf.get(p);
    if (!skbs) this.skbsOf.set(p, (skbs = new Set()));
    skbs.add(e.skb);
  }

  private append(p: Packet, e: HopEvent): void {
    p.events.push(e);
    p.lastTs = e.tsNs;
  }

  /** This skb is done (freed, or its address reused); the packet closes with its last skb. */
  private release(skb: string, p: Packet): void {
    this.open.delete(skb);
    const skbs = this.skbsOf.get(p);
    skbs?.delete(skb);
    if (!skbs || skbs.size === 0) this.close(p);
  }

  private close(p: Packet): void {
    for (const skb of this.skbsOf.get(p) ?? []) this.open.delete(skb);
    this.skbsOf.delete(p);
    const first = p.events[0];
    if (first && this.byIdentity.get(identityKey(first)) === p) this.byIdentity.delete(identityKey(first));
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
