// The tracer's domain record: one kernel sighting of a traced packet, made once from the probe's packed
// events (ndjson.ts) and read by the journey builder, follow and live. The names come from probes/event.h
// through the generated server/protocol/probe-names.ts, so the C enums stay the one definition.
import type { DIR_NAMES, HOOK_NAMES, NF_HOOK_NAMES } from '../protocol/probe-names';

/** Where the probe saw the packet: a tracepoint (`net_dev_queue`…) or a netfilter link (`nf_nat`…). */
export type HookName = (typeof HOOK_NAMES)[number];
/** Direction of a device event; `none` for frees and netfilter links. */
export type ProbeDir = (typeof DIR_NAMES)[number];
/** Netfilter hook (NF_INET_*) a netfilter-link event ran at. */
export type NfHookName = (typeof NF_HOOK_NAMES)[number];

/** What an IPv6 sighting carries beyond the IPv4 fields. */
export interface Ipv6Extra {
  readonly flowLabel: number;
  /** Extension headers crossed before the transport header, in probe order of bits: hop-by-hop,
   * routing, fragment, destination options, auth; `later-fragment` when there was no transport header,
   * `truncated` when the probe stopped walking before the transport. */
  readonly ext: readonly Ipv6Ext[];
  /** Cilium's IPv6 DSR option (0x1b) in a Destination Options header: the service address and port. */
  readonly dsr?: { readonly addr: string; readonly port: number };
}

export const IPV6_EXT_BITS = [
  [0x01, 'hop-by-hop'],
  [0x02, 'routing'],
  [0x04, 'fragment'],
  [0x08, 'destination-options'],
  [0x80, 'auth'],
  [0x20, 'later-fragment'],
  [0x40, 'truncated'],
] as const;
export type Ipv6Ext = (typeof IPV6_EXT_BITS)[number][1];
/** probes/parse6.h's PJ_EXT6_DSR. */
export const IPV6_EXT_DSR = 0x10;

/** One kernel sighting of a traced packet. */
export interface HopEvent {
  readonly tsNs: number;
  readonly skb: string;
  readonly hook: HookName;
  readonly dir: ProbeDir;
  readonly netns: number;
  readonly ifindex: number;
  /** Bit i: filter slot i matched. */
  readonly mask: number;
  readonly ifname: string;
  readonly srcMac: string;
  readonly dstMac: string;
  /** false when the packet was not IP (address fields are then empty). */
  readonly hasIp: boolean;
  /**
   * IPv6 only (absent for IPv4): src and dst are then IPv6 text, ttl is the hop limit, proto the next
   * header after the extension headers, and totLen the payload length plus the 40-byte header.
   */
  readonly v6?: Ipv6Extra;
  readonly src: string;
  readonly dst: string;
  readonly proto: number;
  readonly ttl: number;
  readonly ipId: number;
  readonly totLen: number;
  readonly ipOptions: boolean;
  /** With ipOptions: the first 8 option bytes, hex (enough for Cilium's DSR option 0x9a). */
  readonly optionBytes?: string;
  /**
   * sock_connect only: the address connect() was given, and the socket's destination after it. They
   * differ when a cgroup program rewrote connect(); the socket's differs from the packet's dst:dport
   * when an iptables DNAT in OUTPUT ran before the probe's first netfilter hook.
   */
  readonly connect?: {
    readonly asked: { readonly addr: string; readonly port: number };
    readonly socket: { readonly addr: string; readonly port: number };
  };
  readonly sport?: number;
  readonly dport?: number;
  readonly tcpFlags?: number;
  readonly icmp?: { readonly type: number; readonly code: number; readonly id: number; readonly seq: number };
  readonly reason?: string;
  readonly reasonCode?: number;
  readonly location?: string;
  readonly nfHook?: NfHookName;
  readonly nfPrio?: number;
}
