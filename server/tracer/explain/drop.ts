// Who is responsible for a real drop: the kernel's reason names the kind of thing (a tc or XDP hook,
// netfilter, rp_filter, a missing route or neighbour); the facts read at follow time name the thing
// itself (the program, the rule and its number, the sysctl, the route) and what would fix it.
import type { Msg } from '../../protocol/i18n/msg';
import type { Hop } from '../../protocol/tracer';
import { ipv6Bytes } from '../../protocol/vocab';
import {
  rpFilterKey,
  routeKey,
  type DevProg,
  type IptChain,
  type IptRule,
  type NsFacts,
  type RouteQuery,
} from './facts';
import * as w from './words';

export type DropKind =
  'tc-ingress' | 'tc-egress' | 'xdp' | 'netfilter' | 'rpfilter' | 'noroute' | 'neigh' | 'nosocket' | 'other';

/** What kind of thing a drop reason points at (the kfree_skb reason, and where it was freed). */
export function dropKind(d: NonNullable<Hop['drop']>): DropKind {
  if (d.reason === 'TC_INGRESS') return 'tc-ingress';
  if (d.reason === 'TC_EGRESS') return 'tc-egress';
  // Generic XDP frees an XDP_DROP with NOT_SPECIFIED from do_xdp_generic on this kernel.
  if (d.reason.startsWith('XDP') || /^(do_)?xdp/.test(d.where)) return 'xdp';
  if (d.reason === 'NETFILTER_DROP' || d.byNetfilter) return 'netfilter';
  if (d.reason === 'IP_RPFILTER') return 'rpfilter';
  if (/NOROUTE/.test(d.reason)) return 'noroute';
  if (d.reason.startsWith('NEIGH_')) return 'neigh';
  if (d.reason === 'NO_SOCKET') return 'nosocket';
  return 'other';
}

const CHAIN_OF_HOOK: Readonly<Record<string, string>> = {
  PRE_ROUTING: 'PREROUTING',
  LOCAL_IN: 'INPUT',
  FORWARD: 'FORWARD',
  LOCAL_OUT: 'OUTPUT',
  POST_ROUTING: 'POSTROUTING',
};

/** The filter chains a netfilter drop may have come from: the hook that dropped, else the usual three. */
export function dropChains(seg: readonly Hop[]): string[] {
  const hook = seg.flatMap((h) => h.netfilter ?? []).find((n) => n.verdict === 'drop')?.hook;
  const chain = hook && CHAIN_OF_HOOK[hook];
  return chain ? [chain] : ['INPUT', 'FORWARD', 'OUTPUT'];
}

/** What to read for this drop, beyond links and programs. */
export interface DropNeeds {
  readonly routes: RouteQuery[];
  readonly sysctl: string[];
  readonly chains: string[];
  readonly neigh: boolean;
}

export function dropNeeds(h: Hop, seg: readonly Hop[]): DropNeeds {
  const kind = h.drop ? dropKind(h.drop) : 'other';
  const none: DropNeeds = { routes: [], sysctl: [], chains: [], neigh: false };
  if (kind === 'rpfilter')
    return { ...none, routes: [{ dst: h.src }], sysctl: [rpFilterKey(h.ifname), rpFilterKey('all')] };
  if (kind === 'noroute') return { ...none, routes: [{ dst: h.dst, src: h.src, ...(h.ifname && { iif: h.ifname }) }] };
  if (kind === 'neigh') return { ...none, routes: [{ dst: h.dst }], neigh: true };
  if (kind === 'netfilter') return { ...none, chains: dropChains(seg) };
  return none;
}

/** What dropped it and how to fix it, as messages (words.ts). */
export interface Culprit {
  readonly what: Msg;
  readonly fix?: Msg;
}

function inCidr(addr: string, cidr: string): boolean {
  if (addr.includes(':') || cidr.includes(':')) return inCidr6(addr, cidr);
  const [net = '', bits = '32'] = cidr.split('/');
  const ip = (a: string): number => a.split('.').reduce((x, o) => ((x << 8) | Number(o)) >>> 0, 0);
  const len = Number(bits);
  const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
  return (ip(addr) & mask) >>> 0 === (ip(net) & mask) >>> 0;
}

/** The same for IPv6 (ip6tables prints `-d fd00:77:2::2/128`); an IPv4 address is in no IPv6 net. */
function inCidr6(addr: string, cidr: string): boolean {
  const [net = '', bits = '128'] = cidr.split('/');
  const a = ipv6Bytes(addr);
  const n = ipv6Bytes(net);
  if (!a || !n) return false;
  for (let len = Number(bits), i = 0; len > 0; len -= 8, i++) {
    const mask = len >= 8 ? 0xff : (0xff << (8 - len)) & 0xff;
    if (((a[i] ?? 0) & mask) !== ((n[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** User chains followed below a hook chain (kube-proxy nests two or three deep). */
export const MAX_JUMPS = 3;
/** Targets that are not chains: a rule jumping to anything else jumps to a user chain. */
export const BUILTIN_TARGETS: ReadonlySet<string> = new Set(
  'ACCEPT DROP REJECT RETURN LOG NFLOG MARK CONNMARK TRACE CT NOTRACK AUDIT CHECKSUM CLASSIFY DSCP TCPMSS TOS TTL SET NFQUEUE'.split(
    ' ',
  ),
);

/**
 * Whether an `iptables -S` rule can match the packet: false only when a match it states (-s, -d, -p,
 * --sport, --dport, -i, -o) says otherwise. Matches it cannot judge (conntrack state, marks) pass.
 */
export function ruleMayMatch(spec: string, h: Hop, iif: string | undefined): boolean {
  const t = spec.split(/\s+/);
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '!') return true; // a negation: leave the judging to the counters
    const v = t[i + 1] ?? '';
    switch (t[i]) {
      case '-s':
        if (!inCidr(h.src, v)) return false;
        break;
      case '-d':
        if (!inCidr(h.dst, v)) return false;
        break;
      case '-p':
        // ip6tables names ICMPv6 `ipv6-icmp` (/etc/protocols); the tracer says `icmpv6`.
        if (v !== h.proto && v !== 'all' && !(v === 'ipv6-icmp' && h.proto === 'icmpv6')) return false;
        break;
      case '--dport':
        if (h.dport !== Number(v)) return false;
        break;
      case '--sport':
        if (h.sport !== Number(v)) return false;
        break;
      case '-i':
        if (iif && v !== iif && !(v.endsWith('+') && iif.startsWith(v.slice(0, -1)))) return false;
        break;
    }
  }
  return true;
}

/** The first DROP/REJECT rule of the chain that could match this packet and has counted packets. */
export function droppingRule(chain: IptChain, h: Hop, iif: string | undefined): IptRule | undefined {
  return chain.rules.find(
    (r) => (r.target === 'DROP' || r.target === 'REJECT') && r.pkts > 0 && ruleMayMatch(r.spec, h, iif),
  );
}

/**
 * The same, in evaluation order through the user chains the hook chain jumps to (kube-proxy drops in
 * KUBE-EXTERNAL-SERVICES, KUBE-FORWARD…), as far as they were read: the chain that holds the rule too.
 */
export function droppingRuleIn(
  name: string,
  chains: ReadonlyMap<string, IptChain>,
  h: Hop,
  iif: string | undefined,
  depth = 0,
): { chain: string; rule: IptRule } | undefined {
  const chain = chains.get(name);
  if (!chain || depth > MAX_JUMPS) return undefined;
  for (const r of chain.rules) {
    if (r.pkts === 0 || !ruleMayMatch(r.spec, h, iif)) continue;
    if (r.target === 'DROP' || r.target === 'REJECT') return { chain: name, rule: r };
    const inner = chains.has(r.target) ? droppingRuleIn(r.target, chains, h, iif, depth + 1) : undefined;
    if (inner) return inner;
  }
  return undefined;
}

function netfilterCulprit(h: Hop, seg: readonly Hop[], f: NsFacts | undefined): Culprit {
  const tool = h.ipv6 ? 'ip6tables' : 'iptables';
  // Observed: an iptables TRACE line (follow --rules) that ended in DROP or REJECT.
  const traced = seg.flatMap((x) => x.rules ?? []).find((l) => /(^| )(-j )?(DROP|REJECT)\b/.test(l));
  const chains = dropChains(seg);
  if (traced) {
    // Its number from the chain as read now: the traced text is the rule's `-S` text after table and chain.
    for (const name of chains) {
      const rule = f?.iptables?.get(name)?.rules.find((r) => traced === `filter ${name} ${r.spec}`);
      if (rule) return { what: w.iptRuleText(name, rule, h.netns, tool), fix: w.iptFix(name, rule, h.netns, tool) };
    }
    return { what: w.iptTracedText(traced, h.netns), fix: w.iptFix(chains[0] ?? 'FORWARD', undefined, h.netns, tool) };
  }
  for (const name of chains) {
    const found = f?.iptables && droppingRuleIn(name, f.iptables, h, h.ifname || undefined);
    if (found) {
      const { chain, rule } = found;
      return { what: w.iptRuleText(chain, rule, h.netns, tool), fix: w.iptFix(chain, rule, h.netns, tool) };
    }
  }
  for (const name of chains) {
    const policy = f?.iptables?.get(name)?.policy;
    if (policy === 'DROP')
      return { what: w.iptPolicyText(name, policy, h.netns, tool), fix: w.iptFix(name, undefined, h.netns, tool) };
  }
  return { what: w.netfilterInText(h.netns), fix: w.iptFix(chains[0] ?? 'FORWARD', undefined, h.netns, tool) };
}

/** Programs at this device and hook family (tc-ingress also finds tcx-ingress). */
export function progsAt(f: NsFacts | undefined, ifname: string, family: 'ingress' | 'egress' | 'xdp'): DevProg[] {
  return (f?.progs ?? []).filter(
    (p) => p.ifname === ifname && (family === 'xdp' ? p.hook === 'xdp' : p.hook.endsWith(`-${family}`)),
  );
}

function progCulprit(h: Hop, f: NsFacts | undefined, kind: 'tc-ingress' | 'tc-egress' | 'xdp'): Culprit {
  const family = kind === 'xdp' ? 'xdp' : kind === 'tc-ingress' ? 'ingress' : 'egress';
  const p = progsAt(f, h.ifname, family)[0];
  const what = p ? w.progText(p, h.netns, h.ifname) : w.progUnknownText(kind, h.netns, h.ifname);
  return { what, fix: w.progFix(p?.hook ?? kind, h.ifname, h.netns) };
}

function rpCulprit(h: Hop, f: NsFacts | undefined): Culprit {
  const dev = f?.sysctl?.get(rpFilterKey(h.ifname));
  const all = f?.sysctl?.get(rpFilterKey('all'));
  // The kernel uses the larger of the device's and `all`'s value.
  const value = String(Math.max(Number(dev ?? 0), Number(all ?? 0)) || (dev ?? all ?? '1'));
  const back = f?.routes?.get(routeKey({ dst: h.src }));
  const via = back && !('error' in back) ? `${back.dev}${back.gateway ? ` (via ${back.gateway})` : ''}` : undefined;
  return { what: w.rpFilterText(h.netns, h.ifname, value, h.src, via), fix: w.rpFilterFix(h.ifname, h.netns) };
}

function neighCulprit(h: Hop, f: NsFacts | undefined): Culprit | undefined {
  const r = f?.routes?.get(routeKey({ dst: h.dst }));
  const addr = r && !('error' in r) ? (r.gateway ?? h.dst) : h.dst;
  const n = f?.neigh?.find((x) => x.dst === addr);
  if (!n) return undefined;
  return { what: w.neighText(addr, n.dev, n.state.join(',') || 'unknown', h.netns), fix: w.neighFix(addr, n.dev) };
}

/** The thing that dropped the packet at real-drop hop `h`, whose namespace's hops are `seg`. */
export function culpritOf(h: Hop, seg: readonly Hop[], f: NsFacts | undefined): Culprit {
  const d = h.drop;
  const kernel = { what: w.kernelText(d?.where ?? '') };
  if (!d) return kernel;
  const kind = dropKind(d);
  switch (kind) {
    case 'tc-ingress':
    case 'tc-egress':
    case 'xdp':
      return progCulprit(h, f, kind);
    case 'netfilter':
      return netfilterCulprit(h, seg, f);
    case 'rpfilter':
      return rpCulprit(h, f);
    case 'noroute': {
      const r = f?.routes?.get(routeKey(dropNeeds(h, seg).routes[0] ?? { dst: h.dst }));
      return {
        what: w.noRouteText(h.dst, h.netns, r && 'error' in r ? r.error : undefined),
        fix: w.noRouteFix(h.dst, h.netns),
      };
    }
    case 'neigh':
      return neighCulprit(h, f) ?? kernel;
    case 'nosocket':
      return h.dport !== undefined
        ? { what: w.noSocketText(h.proto, h.dst, h.dport, h.netns), fix: w.noSocketFix(h.proto, h.dport, h.netns) }
        : kernel;
    case 'other':
      return kernel;
  }
}
