// What the explainer knows of a namespace, read at follow time: links (bridge masters, XDP), BPF
// programs at tc, the bridge FDB, route look-ups, neighbours, rp_filter sysctls and iptables rules with
// counters. Plain readonly types: the kernel reader (read.ts) fills them, unit tests fake them.
import type { AttachedProg } from '../../protocol/topology';

export interface LinkFact {
  readonly ifname: string;
  /** `bridge`, `veth`, … (ip -d link's info_kind). */
  readonly kind?: string;
  /** The bridge (or bond) this device is a port of. */
  readonly master?: string;
  readonly mac?: string;
}

export interface FdbFact {
  readonly mac: string;
  /** The port the MAC was learnt on (or is pinned to). */
  readonly ifname: string;
  readonly master?: string;
}

/** One `ip route get fibmatch`: the route that matched, or the kernel's refusal (`Network is unreachable`). */
export type RouteFact =
  | {
      readonly dst: string;
      readonly gateway?: string;
      readonly dev: string;
      readonly table?: string;
      readonly prefsrc?: string;
    }
  | { readonly error: string };

export interface RouteQuery {
  readonly dst: string;
  readonly src?: string;
  readonly iif?: string;
}

export const routeKey = (q: RouteQuery): string => `${q.dst}|${q.src ?? ''}|${q.iif ?? ''}`;

export interface NeighFact {
  readonly dst: string;
  readonly dev: string;
  /** e.g. ['REACHABLE'], ['FAILED'], ['INCOMPLETE'], ['PERMANENT']. */
  readonly state: readonly string[];
}

/** One rule of an iptables chain: its number (as `--line-numbers` counts), its `-S` text and counter. */
export interface IptRule {
  readonly num: number;
  /** The rule as `iptables -S` prints it without `-A CHAIN`, e.g. `-p udp -m udp --dport 9 -j DROP`. */
  readonly spec: string;
  readonly target: string;
  readonly pkts: number;
}

export interface IptChain {
  readonly policy?: string;
  readonly rules: readonly IptRule[];
}

/** A program at a device: the topology's AttachedProg with the device it is on. */
export interface DevProg extends AttachedProg {
  readonly ifname: string;
}

export interface NsFacts {
  readonly links?: readonly LinkFact[];
  readonly fdb?: readonly FdbFact[];
  readonly progs?: readonly DevProg[];
  readonly routes?: ReadonlyMap<string, RouteFact>;
  readonly neigh?: readonly NeighFact[];
  /** `net.ipv4.conf.<dev>.rp_filter` -> `1` */
  readonly sysctl?: ReadonlyMap<string, string>;
  /** filter-table chains by name (FORWARD, INPUT…). */
  readonly iptables?: ReadonlyMap<string, IptChain>;
  /** The source's veths' other ends and the programs there (read when no hop was seen). */
  readonly peers?: readonly PeerFact[];
}

export interface PeerFact {
  /** The source's device. */
  readonly dev: string;
  readonly netns: string;
  readonly ifname: string;
  readonly progs: readonly DevProg[];
}

/** Facts by namespace name (the hop's `netns`). */
export type Facts = ReadonlyMap<string, NsFacts>;

export const rpFilterKey = (dev: string): string => `net.ipv4.conf.${dev}.rp_filter`;

/**
 * Programs as the topology reports them (Iface.programs), if a discovery already has them: the adapter
 * that lets the explainer take them from there instead of reading tc/ip itself.
 */
export function progsFromIfaces(ifaces: readonly { name: string; programs?: readonly AttachedProg[] }[]): DevProg[] {
  return ifaces.flatMap((i) => (i.programs ?? []).map((p) => ({ ...p, ifname: i.name })));
}
