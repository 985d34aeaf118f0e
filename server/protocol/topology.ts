// Wire contract for server/topology/: the namespace graph (links, veth peers, bridges/FDB, neighbours,
// routes) and the socket events that stream it. Isomorphic: zod only, no node:* imports.
import { z } from 'zod';
import type { AckFn } from './common';

export const NamespaceKind = z.enum(['host', 'node', 'pod', 'container', 'netns']);
export type NamespaceKind = z.infer<typeof NamespaceKind>;

/** The other end of a veth, resolved across namespaces. */
export const PeerRef = z.object({ netns: z.string(), ifname: z.string() });
export type PeerRef = z.infer<typeof PeerRef>;

/** A BPF program attached to a device (tc clsact/tcx or XDP), as `bpftool net` and `tc filter show` print it. */
export const AttachedProg = z.object({
  id: z.number().int(),
  name: z.string(),
  tag: z.string(),
  hook: z.enum(['tc-ingress', 'tc-egress', 'tcx-ingress', 'tcx-egress', 'xdp']),
  /** tc: `direct-action` and `obj.o:[section]` when shown; XDP: `generic`, `driver` or `offload`. */
  mode: z.string().optional(),
  /** tc filter priority (lower runs first). */
  pref: z.number().int().optional(),
});
export type AttachedProg = z.infer<typeof AttachedProg>;

/** A cgroup BPF program (sock_addr and friends): the socket-level datapath, e.g. connect4. */
export const CgroupProg = z.object({
  id: z.number().int(),
  name: z.string(),
  /** bpftool's attach type, e.g. `connect4`, `sendmsg4`, `recvmsg4`, `getpeername4`. */
  attachType: z.string(),
  cgroup: z.string(),
});
export type CgroupProg = z.infer<typeof CgroupProg>;

export const Iface = z.object({
  name: z.string(),
  ifindex: z.number().int(),
  /** Lower-case colon form; empty for links without one (e.g. some tunnels). */
  mac: z.string(),
  /** iproute2's info_kind (veth, bridge, vxlan, …), `loopback`, or `device` for plain NICs. */
  kind: z.string(),
  mtu: z.number().int(),
  /** operstate: UP, DOWN, UNKNOWN, LOWERLAYERDOWN … */
  state: z.string(),
  /** Administratively up (the UP flag); `state` can be UNKNOWN for a working bridge or loopback. */
  up: z.boolean(),
  /** CIDR strings, IPv4 first. */
  addrs: z.array(z.string()),
  /** Bridge (or bond) this interface is enslaved to. */
  master: z.string().optional(),
  peer: PeerRef.optional(),
  /** BPF programs attached to it; absent when none. */
  programs: z.array(AttachedProg).optional(),
});
export type Iface = z.infer<typeof Iface>;

/** One row of a bridge's forwarding database, as `brctl showmacs` shows it. */
export const FdbEntry = z.object({
  bridge: z.string(),
  /** The bridge port (or the bridge itself) the MAC was learned on. */
  port: z.string(),
  mac: z.string(),
  /** The port's own address (brctl's "is local?"). */
  local: z.boolean(),
  /** Seconds since the entry was last refreshed; absent for permanent entries. */
  ageing: z.number().optional(),
  vlan: z.number().int().optional(),
  state: z.string(),
});
export type FdbEntry = z.infer<typeof FdbEntry>;

export const Neighbor = z.object({
  ip: z.string(),
  dev: z.string(),
  mac: z.string().optional(),
  /** REACHABLE, STALE, DELAY, FAILED, PERMANENT … joined with `,`. */
  state: z.string(),
  router: z.boolean(),
});
export type Neighbor = z.infer<typeof Neighbor>;

export const Route = z.object({
  dst: z.string(),
  gateway: z.string().optional(),
  dev: z.string().optional(),
  protocol: z.string().optional(),
  scope: z.string().optional(),
  prefsrc: z.string().optional(),
  type: z.string().optional(),
  metric: z.number().optional(),
});
export type Route = z.infer<typeof Route>;

export const Namespace = z.object({
  name: z.string(),
  inode: z.number().int(),
  kind: NamespaceKind,
  /** Pods: the node whose bridge their eth0 hangs off. */
  node: z.string().optional(),
  /** A process inside it (process and container namespaces; absent for `ip netns` ones). */
  pid: z.number().int().optional(),
  container: z.object({ id: z.string(), image: z.string() }).optional(),
  /** UTS hostname, for Kubernetes pod sandboxes. */
  hostname: z.string().optional(),
  interfaces: z.array(Iface),
  /** Present when the namespace has at least one bridge. */
  fdb: z.array(FdbEntry).optional(),
  neighbors: z.array(Neighbor),
  routes: z.array(Route),
});
export type Namespace = z.infer<typeof Namespace>;

export const Topology = z.object({
  namespaces: z.array(Namespace),
  /** Things the user should know, e.g. the Docker socket exists but cannot be read. */
  warnings: z.array(z.string()),
  /** cgroup BPF programs on the cgroup v2 tree (the machine's socket-level datapath); absent when none. */
  cgroupPrograms: z.array(CgroupProg).optional(),
  /** ms since epoch, and how long discovery took. */
  discoveredAt: z.number(),
  durationMs: z.number(),
});
export type Topology = z.infer<typeof Topology>;

/** `topology:watch` takes nothing today; an object keeps room for options without a breaking change. */
export const TopologyWatchReq = z.object({}).strict().optional();

/** `topology:watch` is a watch (see events.ts): `topology:update` carries the full graph, sent only when
 * something a user can see changed (a link, an address, an FDB or ARP entry). */
export interface TopologyClientEvents {
  /** One discovery, no subscription. */
  'topology:get': (req: unknown, ack: AckFn<Topology>) => void;
}

/** Stable DOM id for an interface, derived from (netns, ifname) so re-renders and tests agree. */
export function ifaceDomId(netns: string, ifname: string): string {
  return `if-${domSafe(netns)}__${domSafe(ifname)}`;
}
export function nsDomId(netns: string): string {
  return `ns-${domSafe(netns)}`;
}
function domSafe(s: string): string {
  // `_` is escaped too, so the `__` separator never appears inside a part.
  return s.replace(/[^A-Za-z0-9-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);
}
