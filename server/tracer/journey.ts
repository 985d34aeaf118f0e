// The one journey builder: packets from the assembler -> a Journey, with its lanes and `delivered`
// computed here and nowhere else (the browser draws what it is sent). A follow keeps a FlowJourney and
// feeds it hop by hop: picking the request and the reply and testing completeness cost O(1) per hop,
// the full journey is built only when someone asks for it. Live mode makes one journey per packet.
import type { Hop, Journey, SocketRewrite, TraceProto } from '../protocol/tracer';
import { endpoint, protoName } from '../protocol/vocab';
import {
  classifyEnd,
  isCopyEnd,
  isDevice,
  isNf,
  isTerminal,
  PacketAssembler,
  type FlowSide,
  type Packet,
} from './assembler';
import { isPeerArrival, packetHops, type NameOf } from './hops';
import type { HopEvent } from './hop-event';

export { assemblePackets, classifyEnd, direction, type Packet } from './assembler';
export { packetHops, type NameOf } from './hops';

/** Which packets of the flow are the request: the traffic generator's side. */
export interface FlowKey extends FlowSide {
  readonly proto: TraceProto;
}

export interface JourneyMeta {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly flow: FlowKey;
  /** The destination namespace when `to` named one (delivery = the request ended there cleanly). */
  readonly targetNetns?: number;
  readonly pending: boolean;
  readonly timedOut: boolean;
  readonly generator?: string;
  /** Why the kernel trace was cut while following (see Journey.interrupted). */
  readonly interrupted?: string;
  readonly durationMs: number;
}

/** Namespaces in path order, one lane each in the diagram. */
export function lanesOf(hops: readonly Hop[]): string[] {
  const lanes: string[] = [];
  for (const h of hops) if (!lanes.includes(h.netns)) lanes.push(h.netns);
  return lanes;
}

/**
 * The request reached its destination: no real drop, and a reply came back, or it reached the target
 * namespace, or (no target known) its last sighting is an arrival: an ordinary end of path, or an
 * ingress with nothing after it (TCP frees delivered segments with __kfree_skb, which has no tracepoint).
 */
export function deliveredOf(hops: readonly Hop[], reply: readonly Hop[] | undefined, targetNetns?: number): boolean {
  if (hops.some((h) => h.drop?.isRealDrop === true)) return false;
  if (reply !== undefined) return true;
  if (targetNetns !== undefined)
    return hops.some((h) => h.netnsInode === targetNetns && (h.dir === 'ingress' || h.dir === 'end'));
  const last = hops[hops.length - 1];
  return last?.dir === 'ingress' || (last?.dir === 'end' && last.drop?.isRealDrop === false);
}

/** What completeness needs to know of a path's last hop. */
interface PathEnd {
  readonly dir: Hop['dir'];
  readonly netnsInode: number;
  readonly realDrop: boolean;
}

/**
 * Done when the request ended (freed) and, if it was delivered, its reply ended too (or arrived home);
 * a real drop of the request ends it at once.
 */
function completeRule(req: PathEnd | undefined, rep: PathEnd | undefined, fromNetns: number): boolean {
  if (!req) return false;
  if (req.realDrop) return true;
  if (!rep) return false;
  return rep.netnsInode === fromNetns && (rep.dir === 'end' || rep.dir === 'ingress') && req.dir === 'end';
}

const hopEnd = (h: Hop | undefined): PathEnd | undefined =>
  h && { dir: h.dir, netnsInode: h.netnsInode, realDrop: h.drop?.isRealDrop === true };

export function journeyComplete(j: Journey, fromNetns: number): boolean {
  return completeRule(hopEnd(j.hops[j.hops.length - 1]), hopEnd(j.reply?.hops[j.reply.hops.length - 1]), fromNetns);
}

/** The last hop a packet's events make, as packetHops would (netfilter events make none, except the
 * first one of a peer redirect's hidden arrival, see isPeerArrival). */
function packetEnd(p: Packet): PathEnd | undefined {
  let trailingNf: HopEvent | undefined;
  for (let i = p.events.length - 1; i >= 0; i--) {
    const e = p.events[i] as HopEvent;
    if (!e.hasIp) continue;
    if (isNf(e)) {
      trailingNf = e;
      continue;
    }
    if (trailingNf && isPeerArrival(e, trailingNf))
      return { dir: 'ingress', netnsInode: trailingNf.netns, realDrop: false };
    const end: PathEnd = {
      dir: isDevice(e) ? (e.dir as 'egress' | 'ingress') : 'end',
      netnsInode: e.netns,
      realDrop: isTerminal(e) && classifyEnd(e).isRealDrop && !isCopyEnd(p, i),
    };
    if (e.netns !== 0) return end;
    // Freed outside any namespace: the hop takes the namespace of the sighting before it (a netfilter
    // one too: after a peer redirect it is the first sighting in the pod's namespace).
    for (let k = i - 1; k >= 0; k--) {
      const b = p.events[k] as HopEvent;
      if (b.hasIp && b.netns !== 0) return { ...end, netnsInode: b.netns };
    }
    return end;
  }
  return undefined;
}

const firstTs = (p: Packet): number => p.events[0]?.tsNs ?? 0;
const at = (a: { addr: string; port: number }): string => endpoint(a.addr, a.port);

/** connect() asked for one address and the socket got another: a cgroup program rewrote it. */
function socketRewriteOf(c: HopEvent['connect']): SocketRewrite | undefined {
  if (!c || at(c.asked) === at(c.socket)) return undefined;
  return { call: 'connect', from: at(c.asked), to: at(c.socket) };
}

/**
 * The socket's destination is not the first packet's: an iptables DNAT in OUTPUT rewrote it before the
 * probe's first netfilter hook, so the first hop carries that NAT (the hops alone never see it).
 */
function localOutNat(hops: Hop[], c: HopEvent['connect']): Hop[] {
  const first = hops[0];
  if (!c || !first || first.nat) return hops;
  const to = endpoint(first.dst, first.dport);
  if (to === at(c.socket)) return hops;
  return [{ ...first, nat: { kind: 'dnat', from: at(c.socket), to, hook: 'LOCAL_OUT' } }, ...hops.slice(1)];
}

/** One followed flow, built up hop by hop: the first request packet and the first reply after it. */
export class FlowJourney {
  private readonly packets: Packet[] = [];
  private readonly asm: PacketAssembler;
  private req: Packet | undefined;
  private rep: Packet | undefined;
  private connect: HopEvent['connect'];

  constructor(private readonly flow: FlowKey) {
    this.asm = new PacketAssembler(flow, { onOpen: (p) => this.packets.push(p) });
  }

  push(e: HopEvent): void {
    // Not a sighting of the packet: what the socket was asked for before its first packet existed.
    if (e.connect) {
      this.connect ??= e.connect;
      return;
    }
    const p = this.asm.push(e);
    if (!p) return;
    if (p.dir === 'request' && (!this.req || firstTs(p) < firstTs(this.req))) {
      this.req = p;
      // The reply must start after the request: look again (once, or on an out-of-order arrival).
      this.rep = undefined;
      for (const q of this.packets) if (this.isReply(q) && (!this.rep || firstTs(q) < firstTs(this.rep))) this.rep = q;
    } else if (p !== this.rep && this.isReply(p) && (!this.rep || firstTs(p) < firstTs(this.rep))) {
      this.rep = p;
    }
  }

  private isReply(p: Packet): boolean {
    return p.dir === 'reply' && firstTs(p) >= (this.req ? firstTs(this.req) : 0) && p.events.some(isDevice);
  }

  complete(fromNetns: number): boolean {
    return completeRule(this.req && packetEnd(this.req), this.rep && packetEnd(this.rep), fromNetns);
  }

  /**
   * Complete, and nothing more can come: the request was really dropped, or the reply's own end (its
   * free) is in. A reply that only arrived home may still be freed (its `end` hop), so that waits.
   */
  ended(fromNetns: number): boolean {
    if (!this.complete(fromNetns)) return false;
    const req = this.req && packetEnd(this.req);
    return req?.realDrop === true || (this.rep !== undefined && packetEnd(this.rep)?.dir === 'end');
  }

  build(meta: Omit<JourneyMeta, 'flow'>, nameOf: NameOf): Journey {
    const { req, rep } = this;
    const t0 = req ? firstTs(req) : rep ? firstTs(rep) : 0;
    const hops = localOutNat(req ? packetHops(req, nameOf, t0) : [], this.connect);
    const rewrite = socketRewriteOf(this.connect);
    const replyHops = rep ? packetHops(rep, nameOf, t0) : undefined;
    return {
      id: meta.id,
      from: meta.from,
      to: meta.to,
      proto: this.flow.proto,
      delivered: deliveredOf(hops, replyHops, meta.targetNetns),
      pending: meta.pending,
      timedOut: meta.timedOut,
      hops,
      ...(replyHops && { reply: { hops: replyHops } }),
      lanes: lanesOf([...hops, ...(replyHops ?? [])]),
      ...(meta.generator !== undefined && { generator: meta.generator }),
      ...(meta.interrupted !== undefined && { interrupted: meta.interrupted }),
      durationMs: meta.durationMs,
      ...(rewrite && { socketRewrite: rewrite }),
    };
  }
}

/** The journey of a followed flow from a batch of events (sorted by kernel time first). */
export function buildJourney(events: readonly HopEvent[], meta: JourneyMeta, nameOf: NameOf): Journey {
  const fj = new FlowJourney(meta.flow);
  for (const e of [...events].sort((a, b) => a.tsNs - b.tsNs)) fj.push(e);
  return fj.build(meta, nameOf);
}

/** Live mode: one packet as a journey of its own (no reply, no target); undefined if it shows nothing. */
export function packetJourney(p: Packet, id: string, nameOf: NameOf): Journey | undefined {
  const first = p.events[0];
  if (!first) return undefined;
  // ICMPv6 is a journey of the `icmp` kind too (its hops say icmpv6).
  const name = protoName(first.proto);
  const proto = name === 'icmpv6' ? 'icmp' : name;
  if (proto !== 'icmp' && proto !== 'tcp' && proto !== 'udp') return undefined;
  const hops = packetHops(p, nameOf, first.tsNs);
  const last = hops[hops.length - 1];
  if (!last) return undefined;
  return {
    id,
    from: hops[0]?.netns ?? '',
    to: last.netns,
    proto,
    delivered: deliveredOf(hops, undefined),
    pending: false,
    timedOut: false,
    hops,
    lanes: lanesOf(hops),
    durationMs: Math.round((last.tNs / 1e6) * 1000) / 1000,
  };
}
