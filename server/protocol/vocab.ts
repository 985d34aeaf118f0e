// The tracer's words, defined once: protocol numbers and names, TCP flags, ICMP types, endpoints, and
// the one-line text of a NAT, a netfilter verdict, a drop and a journey's outcome. The CLI table, the
// pcapng comments and the browser all print hops with these. Isomorphic: no node:* imports.
import type { Drop, Hop, Journey, Nat, SocketRewrite, TraceProto } from './tracer';

/** IP protocol numbers by the short name the tracer uses on the wire (`Hop.proto`). */
export const IP_PROTO = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, icmpv6: 58, sctp: 132 } as const;
export type IpProtoName = keyof typeof IP_PROTO;

const PROTO_BY_NUM: ReadonlyMap<number, IpProtoName> = new Map(
  Object.entries(IP_PROTO).map(([name, n]) => [n, name as IpProtoName]),
);

/** `6` -> `tcp`; an unnamed protocol prints as its number. */
export const protoName = (n: number): string => PROTO_BY_NUM.get(n) ?? String(n);

/** `tcp` -> 6; undefined for a name the tracer does not give (a bare number comes back as itself). */
export function protoNumber(name: string): number | undefined {
  if (Object.hasOwn(IP_PROTO, name)) return IP_PROTO[name as IpProtoName];
  return /^\d{1,3}$/.test(name) ? Number(name) : undefined;
}

/** The protocols a follow or a live filter can ask for, as numbers for the kernel filter. */
export const traceProtoNumber = (p: TraceProto): number => IP_PROTO[p];

/**
 * A free that ends a packet's path without losing it: consumed, or NO_SOCKET for ICMP and ICMPv6 (an echo
 * reply the kernel frees once the raw socket, ping's, took its clone). NO_SOCKET for TCP or UDP means
 * nobody listens: a drop. The tracer's ends and the flow view's drop counts both go by it.
 */
export const isOrdinaryEnd = (reason: string, proto: number): boolean =>
  reason === 'CONSUMED' || (reason === 'NO_SOCKET' && (proto === IP_PROTO.icmp || proto === IP_PROTO.icmpv6));

/** TCP header flag bits, lowest first. */
export const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'] as const;

/** `0x12` -> `SYN,ACK` */
export function tcpFlagString(f: number): string {
  return TCP_FLAG_NAMES.filter((_, i) => f & (1 << i)).join(',');
}

export const ICMP_TYPES: Readonly<Record<number, string>> = {
  0: 'echo reply',
  3: 'destination unreachable',
  4: 'source quench',
  5: 'redirect',
  8: 'echo request',
  9: 'router advertisement',
  10: 'router solicitation',
  11: 'time exceeded',
  12: 'parameter problem',
  13: 'time stamp request',
  14: 'time stamp reply',
};

export const ICMP6_TYPES: Readonly<Record<number, string>> = {
  1: 'destination unreachable',
  2: 'packet too big',
  3: 'time exceeded in-transit',
  4: 'parameter problem',
  128: 'echo request',
  129: 'echo reply',
  130: 'multicast listener query',
  131: 'multicast listener report',
  132: 'multicast listener done',
  133: 'router solicitation',
  134: 'router advertisement',
  135: 'neighbor solicitation',
  136: 'neighbor advertisement',
  137: 'redirect',
  143: 'multicast listener report v2',
};

/** The name of an ICMP type, by the hop's protocol (ICMPv6 numbers its types differently). */
export const icmpTypeName = (proto: string | undefined, type: number): string | undefined =>
  (proto === 'icmpv6' ? ICMP6_TYPES : ICMP_TYPES)[type];

/** An ICMP echo request (8, or 128 in ICMPv6) or reply (0, or 129). */
export const isEchoRequest = (proto: string | undefined, type: number): boolean =>
  proto === 'icmpv6' ? type === 128 : type === 8;
export const isEchoReply = (proto: string | undefined, type: number): boolean =>
  proto === 'icmpv6' ? type === 129 : type === 0;

/** What kind of packet, in two words: `echo reply`, `SYN,ACK`, `type 42`. */
export function packetKind(h: Pick<Hop, 'icmp' | 'tcpFlags'> & { readonly proto?: string }): string {
  if (h.icmp) return icmpTypeName(h.proto, h.icmp.type) ?? `type ${h.icmp.type}`;
  return h.tcpFlags ?? '';
}

/** A dotted quad with each part 0-255. */
export const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
export const isIpv4 = (s: string): boolean => IPV4_RE.test(s);

/** 16 bytes at `off` as RFC 5952 text: lower case, leading zeros dropped, the longest run of two or more
 * zero groups (the first of equals) as `::`. */
export function ipv6FromBytes(b: ArrayLike<number>, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[off + 2 * i] ?? 0) << 8) | (b[off + 2 * i + 1] ?? 0));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The 16 bytes of an IPv6 address in text form (`::`, groups of 1-4 hex digits, an IPv4 tail), or
 * undefined when it is not one. No zone (`%eth0`) or prefix. */
export function ipv6Bytes(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes('.')) {
        if (!isIpv4(p)) return undefined;
        const q = p.split('.').map(Number) as [number, number, number, number];
        out.push((q[0] << 8) | q[1], (q[2] << 8) | q[3]);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  const n = head.length + tail.length;
  if (halves.length === 1 ? n !== 8 : n > 7) return undefined;
  // An IPv4 tail is only allowed at the very end.
  if (halves.length === 2 && halves[0]?.includes('.')) return undefined;
  const all = [...head, ...Array<number>(8 - n).fill(0), ...tail];
  const b = new Uint8Array(16);
  all.forEach((x, i) => {
    b[2 * i] = x >> 8;
    b[2 * i + 1] = x & 255;
  });
  return b;
}

export const isIpv6 = (s: string): boolean => ipv6Bytes(s) !== undefined;
/** An IPv4 or IPv6 address in text form. */
export const isIp = (s: string): boolean => isIpv4(s) || isIpv6(s);

/** The RFC 5952 form of an IPv6 address (what the tracer prints), or the text unchanged if it is not one. */
export function canonicalIp(s: string): string {
  const b = isIpv4(s) ? undefined : ipv6Bytes(s);
  return b ? ipv6FromBytes(b) : s;
}

/** `10.96.0.10:80`, `[fd00:10:96::10]:80`, or the bare address when there is no port. */
export const endpoint = (addr: string, port: number | undefined): string =>
  port !== undefined ? (addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`) : addr;

/** `10.244.1.2:41234 → 10.96.0.10:80` */
export const flowLine = (h: Pick<Hop, 'src' | 'sport' | 'dst' | 'dport'>): string =>
  `${endpoint(h.src, h.sport)} → ${endpoint(h.dst, h.dport)}`;

/** A rewrite as its two halves (`DNAT 10.96.0.10:80`, `→ 10.244.2.2:8080`), for places that wrap it. */
export function natParts(n: Nat): [string, string] {
  return [`${n.kind.toUpperCase()} ${n.from}`, `→ ${n.to}`];
}

/** `DNAT 10.96.0.10:80 → 10.244.2.2:8080` */
export const natText = (n: Nat): string => natParts(n).join(' ');

/** The netfilter hooks that decided something at this hop: `FORWARD DROP`, `PRE_ROUTING ACCEPT, …`. */
export function verdictText(h: Pick<Hop, 'netfilter'>): string | undefined {
  const parts = (h.netfilter ?? [])
    .filter((n) => n.verdict !== 'seen')
    .map((n) => `${n.hook} ${n.verdict.toUpperCase()}`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** `DROP NETFILTER_DROP` for a real drop, `end: CONSUMED` for an ordinary end of path, `copy's end: OTHERHOST`. */
export const dropText = (d: Drop): string =>
  d.isRealDrop ? `DROP ${d.reason}` : d.copy ? `copy's end: ${d.reason}` : `end: ${d.reason}`;

/** Where a real drop happened (`at nf_hook_slow+0x9c`); undefined for ordinary ends or an unknown place. */
export const dropWhereText = (d: Drop): string | undefined => (d.isRealDrop && d.where ? `at ${d.where}` : undefined);

/** The drop with its place: `DROP NETFILTER_DROP at nf_hook_slow+0x9c`. */
export const dropLine = (d: Drop): string => [dropText(d), dropWhereText(d)].filter(Boolean).join(' ');

/** The first real drop of a journey, request first. */
export function firstDrop(j: Pick<Journey, 'hops' | 'reply'>): (Hop & { drop: Drop }) | undefined {
  for (const h of [...j.hops, ...(j.reply?.hops ?? [])]) if (h.drop?.isRealDrop) return h as Hop & { drop: Drop };
  return undefined;
}

/** `dropped in node1 (NETFILTER_DROP, netfilter)` */
export const droppedInText = (h: Hop & { drop: Drop }): string =>
  `dropped in ${h.netns} (${h.drop.reason}${h.drop.byNetfilter ? ', netfilter' : ''})`;

/** `trace interrupted (probe loader crashed: killed by SIGKILL)`: hops were lost, so no drop is claimed. */
export const interruptedText = (why: string): string => `trace interrupted (${why})`;

/** `connect(10.96.0.10:80) became 10.244.2.2:8080 — cgroup/connect4 sock_lb_connect (id 812)` */
export const socketRewriteLine = (r: SocketRewrite): string =>
  `${r.call}(${r.from}) became ${r.to}${r.program ? ` — ${r.program}` : ''}`;
