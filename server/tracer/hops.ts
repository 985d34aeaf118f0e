// One packet's events -> its hops: device sightings and its end in kernel order, netfilter crossings
// folded into the hop where they ran, NAT marked where the addresses change, drops classified.
import type { Drop, Hop, Nat, NfHook, NfStep } from '../protocol/tracer';
import { endpoint, protoName, tcpFlagString } from '../protocol/vocab';
import { classifyEnd, isCopyEnd, isDevice, isNf, isTerminal, XDP_HANDOFF, type Packet } from './assembler';

const XDP_HANDOFF_HOW =
  'native XDP took the packet here (the veth copied the skb into a page) and it was never seen again';
import type { HopEvent } from './hop-event';

export type NameOf = (inode: number) => string;

type Draft = { -readonly [K in keyof Hop]: Hop[K] };
type Tuple = { s: string; d: string };
type NfSeen = { e: HopEvent; after: number };

const tupleOf = (e: HopEvent): Tuple => ({ s: endpoint(e.src, e.sport), d: endpoint(e.dst, e.dport) });

function baseHop(e: HopEvent, seq: number, nameOf: NameOf, t0: number): Draft {
  return {
    seq,
    tNs: e.tsNs - t0,
    netns: nameOf(e.netns),
    netnsInode: e.netns,
    ifname: e.ifname,
    ifindex: e.ifindex,
    dir: isDevice(e) ? (e.dir as 'egress' | 'ingress') : 'end',
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
    ...(e.v6 && { ipv6: { flowLabel: e.v6.flowLabel, ext: [...e.v6.ext], ...(e.v6.dsr && { dsr: { ...e.v6.dsr } }) } }),
    ipOptions: e.ipOptions,
    ...(e.optionBytes !== undefined && { ipOptionBytes: e.optionBytes }),
    totLen: e.totLen,
    ...(e.tcpFlags !== undefined && { tcpFlags: tcpFlagString(e.tcpFlags) }),
    ...(e.icmp && { icmp: { ...e.icmp } }),
  };
}

function natOf(from: Tuple, to: Tuple, hook?: NfHook): Nat {
  const dnat = from.d !== to.d;
  const snat = from.s !== to.s;
  const kind = dnat && snat ? 'both' : dnat ? 'dnat' : 'snat';
  const f = kind === 'snat' ? from.s : kind === 'dnat' ? from.d : `${from.s} → ${from.d}`;
  const t = kind === 'snat' ? to.s : kind === 'dnat' ? to.d : `${to.s} → ${to.d}`;
  return { kind, from: f, to: t, ...(hook && { hook }) };
}

/** How an skb's life ended; a copy's end is no drop of the packet (it went on in another skb). */
function dropOf(e: HopEvent, copy: boolean, nfDrop: Set<number>): Drop {
  const { reason, isRealDrop } = classifyEnd(e);
  if (copy) return { reason, where: e.location ?? '', isRealDrop: false, byNetfilter: false, copy: true };
  if (reason === 'NETFILTER_DROP') nfDrop.add(e.netns);
  return {
    reason,
    where: e.location ?? '',
    isRealDrop,
    byNetfilter: reason === 'NETFILTER_DROP',
    ...(reason === XDP_HANDOFF && { inferred: XDP_HANDOFF_HOW }),
  };
}

/**
 * `bpf_redirect_peer` hides the arrival: a tc program on an ingress hands the skb to a veth's peer in
 * another namespace, and `__netif_receive_skb_core` goes round again past its `netif_receive_skb`
 * tracepoint. So the next sighting is already inside that namespace (a netfilter hook, a free, an
 * egress) with no ingress there. The stack never crosses namespaces without a device ingress, so such a
 * sighting right after an ingress elsewhere is a peer redirect's arrival. Same rule in journey.ts.
 */
export function isPeerArrival(lastDevice: HopEvent | undefined, e: HopEvent): boolean {
  if (!lastDevice || lastDevice.dir !== 'ingress' || e.netns === 0 || e.netns === lastDevice.netns) return false;
  return !(isDevice(e) && e.dir === 'ingress');
}

/** The hop the redirect hid: the packet arriving on the device the next sighting names (the pod's eth0). */
function inferredHop(e: HopEvent, from: HopEvent, seq: number, nameOf: NameOf, t0: number): Draft {
  const h = baseHop(e, seq, nameOf, t0);
  h.dir = 'ingress';
  h.hook = 'bpf_redirect_peer';
  h.inferred = { via: 'peer-redirect', from: `${nameOf(from.netns)}/${from.ifname}` };
  return h;
}

/** Device and end hops, with NAT and drops; netfilter events are set aside with the hop they follow. */
function deviceHops(p: Packet, nameOf: NameOf, t0: number): { hops: Draft[]; nf: NfSeen[]; nfDrop: Set<number> } {
  const hops: Draft[] = [];
  const nf: NfSeen[] = [];
  const nfDrop = new Set<number>();
  let prevTuple: Tuple | undefined;
  let natPending: { from: Tuple; hook?: NfHook } | undefined;
  let lastDevice: HopEvent | undefined;
  for (const [i, e] of p.events.entries()) {
    if (!e.hasIp) continue;
    if (isPeerArrival(lastDevice, e)) {
      hops.push(inferredHop(e, lastDevice as HopEvent, hops.length, nameOf, t0));
      lastDevice = undefined;
    }
    if (isDevice(e)) lastDevice = e;
    const tup = tupleOf(e);
    const changed = prevTuple !== undefined && (prevTuple.s !== tup.s || prevTuple.d !== tup.d);
    if (changed && prevTuple) natPending ??= { from: prevTuple, ...(isNf(e) && e.nfHook && { hook: e.nfHook }) };
    prevTuple = tup;
    if (isNf(e)) {
      nf.push({ e, after: hops.length - 1 });
      continue;
    }
    const h = baseHop(e, hops.length, nameOf, t0);
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
    if (isTerminal(e)) h.drop = dropOf(e, isCopyEnd(p, i), nfDrop);
    hops.push(h);
  }
  return { hops, nf, nfDrop };
}

function pickHop(hops: Draft[], netns: number, after: number, input: boolean): Draft | undefined {
  const prev = (): Draft | undefined => {
    for (let i = Math.min(after, hops.length - 1); i >= 0; i--) if (hops[i]?.netnsInode === netns) return hops[i];
    return undefined;
  };
  const next = (): Draft | undefined => {
    for (let i = after + 1; i < hops.length; i++) if (hops[i]?.netnsInode === netns) return hops[i];
    return undefined;
  };
  return input ? (prev() ?? next()) : (next() ?? prev());
}

/**
 * Netfilter steps: per (netns, hook) what stages saw the packet, attached to the hop of that netns
 * nearest to where the hook runs (input hooks after an ingress, output hooks before an egress).
 */
function attachNetfilter(hops: Draft[], nf: readonly NfSeen[], nfDrop: Set<number>): void {
  const steps = new Map<string, { netns: number; hook: NfHook; stages: Set<string>; after: number }>();
  for (const { e, after } of nf) {
    if (!e.nfHook) continue;
    const k = `${e.netns}/${e.nfHook}`;
    let s = steps.get(k);
    if (!s) steps.set(k, (s = { netns: e.netns, hook: e.nfHook, stages: new Set(), after }));
    s.stages.add(e.hook);
  }
  const last = hops[hops.length - 1];
  const endedIn = last?.dir === 'end' ? last.netnsInode : undefined;
  for (const s of steps.values()) {
    const verdict: NfStep['verdict'] = s.stages.has('nf_post_filter')
      ? 'accept'
      : s.stages.has('nf_pre_filter')
        ? 'drop'
        : 'seen';
    // "before the filter table but never after" is a drop only if the packet really ended there.
    const realVerdict = verdict === 'drop' && endedIn !== s.netns ? 'seen' : verdict;
    if (realVerdict === 'drop') nfDrop.add(s.netns);
    const input = s.hook === 'PRE_ROUTING' || s.hook === 'LOCAL_IN';
    const target = pickHop(hops, s.netns, s.after, input);
    if (target) (target.netfilter ??= []).push({ hook: s.hook, verdict: realVerdict });
  }
  for (const h of hops) {
    if (h.netfilter) {
      const v = h.netfilter.some((n) => n.verdict === 'drop')
        ? 'drop'
        : h.netfilter.some((n) => n.verdict === 'accept')
          ? 'accept'
          : undefined;
      if (v) h.verdict = v;
    }
    if (h.drop && nfDrop.has(h.netnsInode) && h.drop.isRealDrop) h.drop.byNetfilter = true;
  }
}

/** Hops of one packet, with netfilter, NAT and end-of-life folded in; tNs counts from t0. */
export function packetHops(p: Packet, nameOf: NameOf, t0: number): Hop[] {
  const { hops, nf, nfDrop } = deviceHops(p, nameOf, t0);
  attachNetfilter(hops, nf, nfDrop);
  return hops.map((h, i) => ({ ...h, seq: i }));
}
