// Turns the kernel's hop events for one followed flow into a Journey: packets assembled per skb, the
// request and its reply in kernel order, netfilter crossings folded into hops, NAT marked where the
// addresses change, and ordinary ends of path told apart from real drops. Pure: fixtures test it.
import type { Drop, Hop, Journey, Nat, NfHook, NfStep, TraceProto } from '../protocol/tracer';
import type { HopEvent } from './ndjson';

export type NameOf = (inode: number) => string;

/** Which packets of the flow are the request: the traffic generator's side. */
export interface FlowKey {
  readonly proto: TraceProto;
  /** TCP/UDP: the client's source port (request: sport = it, reply: dport = it). */
  readonly clientPort?: number;
  /** The client's address, to tell request from reply when ports are unknown. */
  readonly clientAddr?: string;
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
  readonly durationMs: number;
}

const PROTO_NAMES: Readonly<Record<number, string>> = {
  1: 'icmp',
  6: 'tcp',
  17: 'udp',
  47: 'gre',
  50: 'esp',
  132: 'sctp',
};
export const protoName = (p: number): string => PROTO_NAMES[p] ?? String(p);

const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'] as const;
export function tcpFlagString(f: number): string {
  return TCP_FLAG_NAMES.filter((_, i) => f & (1 << i)).join(',');
}

const isDevice = (e: HopEvent): boolean => e.dir !== 'none';
const isTerminal = (e: HopEvent): boolean => e.hook === 'kfree_skb' || e.hook === 'consume_skb';
const isNf = (e: HopEvent): boolean => e.hook.startsWith('nf_');

/** request or reply, from the flow key; undefined when the event says neither. */
export function direction(e: HopEvent, flow: FlowKey): 'request' | 'reply' | undefined {
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
function samePacket(prev: HopEvent | undefined, e: HopEvent): boolean {
  if (!prev || !prev.hasIp || !e.hasIp) return true;
  if (prev.ipId !== e.ipId || prev.proto !== e.proto || e.ttl > prev.ttl) return false;
  if (prev.tcpFlags !== e.tcpFlags) return false;
  if (prev.icmp && e.icmp && (prev.icmp.type !== e.icmp.type || prev.icmp.seq !== e.icmp.seq)) return false;
  return true;
}

/** One packet's life: the events of one skb from its first sighting to its free. */
export interface Packet {
  readonly dir: 'request' | 'reply' | undefined;
  readonly events: HopEvent[];
}

/**
 * Splits events into packets by skb address. An skb address can be reused once freed, so a free closes
 * the packet; a free of an skb never seen otherwise is a clone (tcpdump, raw sockets) unless it is a
 * real drop, which is kept as a packet of its own.
 */
export function assemblePackets(events: readonly HopEvent[], flow: FlowKey): Packet[] {
  const sorted = [...events].sort((a, b) => a.tsNs - b.tsNs);
  const open = new Map<string, Packet>();
  const out: Packet[] = [];
  for (const e of sorted) {
    const dir = direction(e, flow);
    let p = open.get(e.skb);
    if (isTerminal(e)) {
      if (p) {
        p.events.push(e);
        open.delete(e.skb);
      } else if (classifyEnd(e).isRealDrop) {
        out.push({ dir, events: [e] });
      }
      continue;
    }
    if (p && (p.dir !== dir || !samePacket(p.events[p.events.length - 1], e))) {
      // TCP frees most skbs with __kfree_skb, which has no tracepoint: a reused address shows up as a
      // packet with another IP id, fresh TTL or other flags, and starts a new packet.
      open.delete(e.skb);
      p = undefined;
    }
    if (!p) {
      p = { dir, events: [] };
      open.set(e.skb, p);
      out.push(p);
    }
    p.events.push(e);
  }
  return out;
}

const endpoint = (addr: string, port: number | undefined): string => (port !== undefined ? `${addr}:${port}` : addr);

function tupleOf(e: HopEvent): { s: string; d: string } {
  return { s: endpoint(e.src, e.sport), d: endpoint(e.dst, e.dport) };
}

/** Hops of one packet, with netfilter, NAT and end-of-life folded in. */
export function packetHops(p: Packet, nameOf: NameOf, t0: number): Hop[] {
  type Draft = { -readonly [K in keyof Hop]: Hop[K] } & { ev: HopEvent };
  const hops: Draft[] = [];
  const nfEvents: { e: HopEvent; after: number }[] = [];
  let prevTuple: { s: string; d: string } | undefined;
  let natPending: { from: { s: string; d: string }; hook?: NfHook } | undefined;
  const nfDropNetns = new Set<number>();

  const baseHop = (e: HopEvent, dir: Hop['dir']): Draft => ({
    ev: e,
    seq: hops.length,
    tNs: e.tsNs - t0,
    netns: nameOf(e.netns),
    netnsInode: e.netns,
    ifname: e.ifname,
    ifindex: e.ifindex,
    dir,
    hook: e.hook,
    skb: e.skb,
    srcMac: e.srcMac,
    dstMac: e.dstMac,
    src: e.src,
    dst: e.dst,
    proto: protoName(e.proto),
    ...(e.sport !== undefined && { sport: e.sport }),
    ...(e.dport !== undefined && { dport: e.dport }),
    ttl: e.ttl,
    ipId: e.ipId,
    ipOptions: e.ipOptions,
    totLen: e.totLen,
    ...(e.tcpFlags !== undefined && { tcpFlags: tcpFlagString(e.tcpFlags) }),
    ...(e.icmp && { icmp: { ...e.icmp } }),
  });

  for (const e of p.events) {
    if (!e.hasIp) continue;
    const tup = tupleOf(e);
    const changed = prevTuple !== undefined && (prevTuple.s !== tup.s || prevTuple.d !== tup.d);
    if (isNf(e)) {
      nfEvents.push({ e, after: hops.length - 1 });
      if (changed && prevTuple) natPending ??= { from: prevTuple, ...(e.nfHook && { hook: e.nfHook }) };
      prevTuple = tup;
      continue;
    }
    if (changed && prevTuple) natPending ??= { from: prevTuple };
    prevTuple = tup;
    const h = baseHop(e, isDevice(e) ? (e.dir as 'egress' | 'ingress') : 'end');
    const prevHop = hops[hops.length - 1];
    if (e.netns === 0 && prevHop) {
      // Freed after the socket let go of it: no device, no socket left to name the namespace.
      h.netns = prevHop.netns;
      h.netnsInode = prevHop.netnsInode;
      h.ifname ||= prevHop.ifname;
    }
    if (natPending) {
      h.nat = natOf(natPending.from, tup, natPending.hook);
      natPending = undefined;
    }
    if (isTerminal(e)) {
      const { reason, isRealDrop } = classifyEnd(e);
      if (reason === 'NETFILTER_DROP') nfDropNetns.add(e.netns);
      h.drop = { reason, where: e.location ?? '', isRealDrop, byNetfilter: reason === 'NETFILTER_DROP' } satisfies Drop;
    }
    hops.push(h);
  }

  // Netfilter steps: per (netns, hook) what stages saw the packet, attached to the hop of that netns
  // nearest to where the hook runs (input hooks after an ingress, output hooks before an egress).
  const steps = new Map<string, { netns: number; hook: NfHook; stages: Set<string>; after: number }>();
  for (const { e, after } of nfEvents) {
    if (!e.nfHook) continue;
    const k = `${e.netns}/${e.nfHook}`;
    let s = steps.get(k);
    if (!s) steps.set(k, (s = { netns: e.netns, hook: e.nfHook, stages: new Set(), after }));
    s.stages.add(e.hook);
  }
  const ended = hops.length > 0 && hops[hops.length - 1]?.dir === 'end';
  for (const s of steps.values()) {
    const verdict: NfStep['verdict'] = s.stages.has('nf_post_filter')
      ? 'accept'
      : s.stages.has('nf_pre_filter')
        ? 'drop'
        : 'seen';
    // "before the filter table but never after" is a drop only if the packet really ended there.
    const realVerdict =
      verdict === 'drop' && !(ended && hops[hops.length - 1]?.netnsInode === s.netns) ? 'seen' : verdict;
    if (realVerdict === 'drop') nfDropNetns.add(s.netns);
    const input = s.hook === 'PRE_ROUTING' || s.hook === 'LOCAL_IN';
    const target = pickHop(hops, s.netns, s.after, input);
    if (!target) continue;
    (target.netfilter ??= []).push({ hook: s.hook, verdict: realVerdict });
  }
  for (const h of hops) {
    if (h.netfilter) {
      h.verdict = h.netfilter.some((n) => n.verdict === 'drop')
        ? 'drop'
        : h.netfilter.some((n) => n.verdict === 'accept')
          ? 'accept'
          : undefined;
      if (h.verdict === undefined) delete h.verdict;
    }
    if (h.drop && nfDropNetns.has(h.netnsInode) && h.drop.isRealDrop) h.drop.byNetfilter = true;
  }
  return hops.map(({ ev: _ev, ...h }, i) => ({ ...h, seq: i }));
}

function natOf(from: { s: string; d: string }, to: { s: string; d: string }, hook?: NfHook): Nat {
  const dnat = from.d !== to.d;
  const snat = from.s !== to.s;
  const kind = dnat && snat ? 'both' : dnat ? 'dnat' : 'snat';
  const f = kind === 'snat' ? from.s : kind === 'dnat' ? from.d : `${from.s} → ${from.d}`;
  const t = kind === 'snat' ? to.s : kind === 'dnat' ? to.d : `${to.s} → ${to.d}`;
  return { kind, from: f, to: t, ...(hook && { hook }) };
}

function pickHop<H extends { netnsInode: number; dir: Hop['dir'] }>(
  hops: H[],
  netns: number,
  after: number,
  input: boolean,
): H | undefined {
  const prev = (): H | undefined => {
    for (let i = Math.min(after, hops.length - 1); i >= 0; i--) if (hops[i]?.netnsInode === netns) return hops[i];
    return undefined;
  };
  const next = (): H | undefined => {
    for (let i = after + 1; i < hops.length; i++) if (hops[i]?.netnsInode === netns) return hops[i];
    return undefined;
  };
  return input ? (prev() ?? next()) : (next() ?? prev());
}

/** The journey of a followed flow: the first request packet and the first reply after it. */
export function buildJourney(events: readonly HopEvent[], meta: JourneyMeta, nameOf: NameOf): Journey {
  const packets = assemblePackets(events, meta.flow);
  const req = packets.find(
    (p) => p.dir === 'request' && p.events.some((e) => !isTerminal(e) || classifyEnd(e).isRealDrop),
  );
  const reqStart = req?.events[0]?.tsNs ?? 0;
  const rep = packets.find((p) => p.dir === 'reply' && (p.events[0]?.tsNs ?? 0) >= reqStart && p.events.some(isDevice));
  const t0 = req?.events[0]?.tsNs ?? rep?.events[0]?.tsNs ?? 0;
  const hops = req ? packetHops(req, nameOf, t0) : [];
  const replyHops = rep ? packetHops(rep, nameOf, t0) : undefined;
  const lastReq = hops[hops.length - 1];
  const realDrop = hops.some((h) => h.drop?.isRealDrop === true);
  const reachedTarget =
    meta.targetNetns !== undefined &&
    hops.some((h) => h.netnsInode === meta.targetNetns && (h.dir === 'ingress' || h.dir === 'end'));
  const delivered =
    !realDrop &&
    (replyHops !== undefined ||
      reachedTarget ||
      (lastReq?.dir === 'end' && meta.targetNetns === undefined && lastReq.drop?.isRealDrop === false));
  const lanes: string[] = [];
  for (const h of [...hops, ...(replyHops ?? [])])
    if (lanes[lanes.length - 1] !== h.netns && !lanes.includes(h.netns)) lanes.push(h.netns);
  return {
    id: meta.id,
    from: meta.from,
    to: meta.to,
    proto: meta.flow.proto,
    delivered,
    pending: meta.pending,
    timedOut: meta.timedOut,
    hops,
    ...(replyHops && { reply: { hops: replyHops } }),
    lanes,
    ...(meta.generator !== undefined && { generator: meta.generator }),
    durationMs: meta.durationMs,
  };
}

/** Done when the request ended (freed) and, if it was delivered, its reply ended too (or arrived home). */
export function journeyComplete(j: Journey, fromNetns: number): boolean {
  const last = j.hops[j.hops.length - 1];
  if (!last) return false;
  if (last.drop?.isRealDrop) return true;
  const rep = j.reply?.hops;
  if (!rep || rep.length === 0) return false;
  const r = rep[rep.length - 1];
  return (
    r !== undefined && r.netnsInode === fromNetns && (r.dir === 'end' || r.dir === 'ingress') && last.dir === 'end'
  );
}
