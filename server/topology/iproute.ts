// Every iproute2 JSON the server reads (`ip -j -d -b -`, `ip -j -d link`, `ip -j addr`, `ip -j route get`,
// `bridge -j -s fdb`) is parsed here, once, into readonly domain types, with one interface-kind rule.
// Elements that do not match are counted and skipped, never a crash.
import { z } from 'zod';
import { Route, type AttachedProg, type FdbEntry, type Iface, type Neighbor } from '../protocol/topology';

/**
 * The commands fed to one `ip -j -d -b -` per namespace, in this order. `netns list-id` is not among
 * them: naming each nsid opens every /var/run/netns entry, O(n²) over all namespaces, so it runs only
 * where matching peers by ifindex was ambiguous (see discover.ts).
 */
export const IP_BATCH = ['addr show', 'neigh show', 'route show'] as const;

const RawAddr = z.object({
  family: z.string(),
  local: z.string(),
  prefixlen: z.number(),
  scope: z.string().optional(),
});
const RawLink = z.object({
  ifindex: z.number().int(),
  ifname: z.string(),
  flags: z.array(z.string()).default([]),
  mtu: z.number().int().default(0),
  operstate: z.string().default('UNKNOWN'),
  master: z.string().optional(),
  link_type: z.string().optional(),
  address: z.string().optional(),
  link_index: z.number().int().optional(),
  /** Set instead of link_index when the peer is in the same namespace. */
  link: z.string().optional(),
  link_netnsid: z.number().int().optional(),
  linkinfo: z.object({ info_kind: z.string().optional() }).optional(),
  addr_info: z.array(z.unknown()).default([]),
  /** With `-d`: the XDP program(s); `attached` lists each mode's when more than one is (mode 4, multi). */
  xdp: z.unknown().optional(),
});
const RawXdpProg = z.object({
  mode: z.number().int(),
  prog: z.object({ id: z.number().int(), name: z.string().optional(), tag: z.string().optional() }),
});
const RawXdp = RawXdpProg.partial({ prog: true }).extend({ attached: z.array(z.unknown()).optional() });
/** iproute2's XDP modes: 1 native (driver), 2 generic (skb), 3 offloaded. */
const XDP_MODES: Readonly<Record<number, string>> = { 1: 'driver', 2: 'generic', 3: 'offload' };

/** The XDP programs of one link, from the batch `ip -d` already prints: no extra command per namespace. */
function xdpPrograms(raw: unknown): AttachedProg[] {
  const x = RawXdp.safeParse(raw);
  if (!x.success) return [];
  const list = x.data.attached?.length ? x.data.attached : x.data.prog ? [x.data] : [];
  return list.flatMap((el) => {
    const p = RawXdpProg.safeParse(el);
    if (!p.success) return [];
    const { mode, prog } = p.data;
    return [
      { id: prog.id, name: prog.name ?? '', tag: prog.tag ?? '', hook: 'xdp', mode: XDP_MODES[mode] ?? `mode ${mode}` },
    ];
  });
}
const RawNeigh = z.object({
  dst: z.string(),
  dev: z.string().optional(),
  lladdr: z.string().optional(),
  state: z.array(z.string()).default([]),
  router: z.unknown().optional(),
});
// iproute2's route JSON already has the domain shape: the wire schema parses it directly.
const RawRoute = Route;
const RawNsid = z.object({ nsid: z.number().int(), name: z.string().optional() });
const RawFdb = z.object({
  mac: z.string(),
  ifname: z.string(),
  master: z.string().optional(),
  vlan: z.number().int().optional(),
  updated: z.number().optional(),
  flags: z.array(z.string()).default([]),
  state: z.string().default(''),
});

/** An interface as seen inside its namespace, before peers are resolved across namespaces. */
export interface LocalIface extends Iface {
  /** Peer ifindex for veths (iproute2's link_index). */
  readonly peerIfindex?: number;
  /** Peer namespace id relative to this namespace; absent when the peer is in the same namespace. */
  readonly peerNsid?: number;
  /** Peer name, when the peer lives in the same namespace (iproute2 prints `link` then). */
  readonly peerName?: string;
}

export interface NsSnapshot {
  readonly interfaces: readonly LocalIface[];
  readonly neighbors: readonly Neighbor[];
  readonly routes: readonly Route[];
  /** netnsid -> `ip netns` name, for the ids iproute2 could name. */
  readonly nsids: ReadonlyMap<number, string | undefined>;
  readonly badElements: number;
}

/** Parses each element with `schema`, keeping the good ones and counting the rest. */
function parseEach<T>(raw: unknown, schema: z.ZodType<T>): { items: T[]; bad: number } {
  if (!Array.isArray(raw)) return { items: [], bad: raw === undefined ? 0 : 1 };
  const items: T[] = [];
  let bad = 0;
  for (const el of raw) {
    const r = schema.safeParse(el);
    if (r.success) items.push(r.data);
    else bad++;
  }
  return { items, bad };
}

/**
 * Splits `ip -j -b -` output into one JSON value per command. iproute2 prints each result on its own line;
 * a command with nothing to print may print nothing, so callers look results up by position and accept
 * `undefined`.
 */
export function splitBatch(stdout: string): unknown[] {
  const out: unknown[] = [];
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    try {
      out.push(JSON.parse(t));
    } catch {
      out.push(undefined);
    }
  }
  return out;
}

/**
 * The one interface-kind rule: `loopback` by link type (whatever driver), else iproute2's info_kind (veth,
 * bridge, vxlan… printed with `-d` only), else a non-Ethernet link type (`none` for tun, `ipip`…), else
 * `device` for a plain NIC.
 */
export function ifaceKind(l: {
  readonly link_type?: string;
  readonly linkinfo?: { readonly info_kind?: string };
}): string {
  if (l.link_type === 'loopback') return 'loopback';
  return l.linkinfo?.info_kind ?? (l.link_type && l.link_type !== 'ether' ? l.link_type : 'device');
}

/** One `ip -j -d` link element as a LocalIface; `bad` counts address entries that did not parse. */
function toIface(x: z.infer<typeof RawLink>): { iface: LocalIface; bad: number } {
  const addrs: string[] = [];
  const v6: string[] = [];
  let bad = 0;
  for (const a of x.addr_info) {
    const p = RawAddr.safeParse(a);
    if (!p.success) {
      bad++;
      continue;
    }
    (p.data.family === 'inet' ? addrs : v6).push(`${p.data.local}/${p.data.prefixlen}`);
  }
  const kind = ifaceKind(x);
  const xdp = xdpPrograms(x.xdp);
  const iface: LocalIface = {
    name: x.ifname,
    ifindex: x.ifindex,
    mac: (x.address ?? '').toLowerCase(),
    kind,
    mtu: x.mtu,
    state: x.operstate,
    up: x.flags.includes('UP'),
    addrs: [...addrs, ...v6],
    ...(x.master !== undefined ? { master: x.master } : {}),
    ...(kind === 'veth' && x.link_index !== undefined ? { peerIfindex: x.link_index } : {}),
    ...(kind === 'veth' && x.link_netnsid !== undefined ? { peerNsid: x.link_netnsid } : {}),
    ...(kind === 'veth' && x.link !== undefined && x.link_index === undefined ? { peerName: x.link } : {}),
    ...(xdp.length ? { programs: xdp } : {}),
  };
  return { iface, bad };
}

function toIfaces(raw: unknown): { interfaces: LocalIface[]; bad: number } {
  const l = parseEach(raw, RawLink);
  let bad = l.bad;
  const interfaces = l.items.map((x) => {
    const r = toIface(x);
    bad += r.bad;
    return r.iface;
  });
  return { interfaces, bad };
}

/** Parses a whole JSON document; undefined when it is not JSON. */
function jsonOf(stdout: string): unknown {
  try {
    return JSON.parse(stdout.trim() || '[]');
  } catch {
    return undefined;
  }
}

/** `ip -j -d link show` (or `addr show`): the links of one namespace; undefined when it is not JSON. */
export function parseLinks(stdout: string): { interfaces: LocalIface[]; bad: number } | undefined {
  const raw = jsonOf(stdout);
  return Array.isArray(raw) ? toIfaces(raw) : undefined;
}

/** `ip -j -4 addr show` -> the namespace's main IPv4 address: eth0's if it has one, else the first non-host one. */
export function parsePrimaryIpv4(stdout: string): string | undefined {
  return parsePrimary(stdout, 'inet');
}

/** `ip -j -6 addr show` -> the namespace's main IPv6 address: a global one (not link-local or loopback),
 * eth0's first. */
export function parsePrimaryIpv6(stdout: string): string | undefined {
  return parsePrimary(stdout, 'inet6');
}

function parsePrimary(stdout: string, family: 'inet' | 'inet6'): string | undefined {
  const global = parseEach(jsonOf(stdout), RawLink).items.flatMap((l) =>
    parseEach(l.addr_info, RawAddr)
      .items.filter((a) => a.family === family && (family === 'inet' ? a.scope !== 'host' : a.scope === 'global'))
      .map((a) => ({ ifname: l.ifname, ip: a.local })),
  );
  return (global.find((a) => a.ifname === 'eth0') ?? global[0])?.ip;
}

/** `ip -j -4 route get DST` -> the source address the namespace would use (prefsrc). */
export function parseRouteSource(stdout: string): string | undefined {
  return parseEach(jsonOf(stdout), RawRoute).items[0]?.prefsrc;
}

/** `ip -j netns list-id` -> nsid -> `ip netns` name (undefined when iproute2 could not name it). */
export function parseNsids(stdout: string): Map<number, string | undefined> {
  const m = new Map<number, string | undefined>();
  const [raw] = splitBatch(stdout);
  for (const x of parseEach(raw, RawNsid).items) m.set(x.nsid, x.name);
  return m;
}

/** Parses the IP_BATCH output; a 4th result, if present, is read as `netns list-id` (fixtures record it). */
export function parseIpBatch(stdout: string): NsSnapshot {
  const [links, neighs, routes, nsids] = splitBatch(stdout);
  const l = toIfaces(links);
  const n = parseEach(neighs, RawNeigh);
  const r = parseEach(routes, RawRoute);
  const s = parseEach(nsids, RawNsid);
  const bad = l.bad + n.bad + r.bad + s.bad;
  const interfaces = l.interfaces;
  const neighbors: Neighbor[] = n.items
    .filter((x) => x.dev !== undefined)
    .map((x) => ({
      ip: x.dst,
      dev: x.dev ?? '',
      ...(x.lladdr !== undefined ? { mac: x.lladdr.toLowerCase() } : {}),
      state: x.state.join(','),
      router: x.router !== undefined,
    }));
  const routeList: Route[] = r.items.map((x) => ({ ...x }));
  const nsidMap = new Map<number, string | undefined>();
  for (const x of s.items) nsidMap.set(x.nsid, x.name);
  return { interfaces, neighbors, routes: routeList, nsids: nsidMap, badElements: bad };
}

/**
 * `bridge -j -s fdb show` -> the bridges' forwarding databases. Only entries with a master are the
 * bridge's own table (what brctl showmacs reads); `self` entries are a port's address filter, left out.
 */
export function parseFdb(stdout: string): { entries: FdbEntry[]; bad: number } {
  const raw = jsonOf(stdout);
  if (raw === undefined) return { entries: [], bad: 1 };
  const { items, bad } = parseEach(raw, RawFdb);
  const entries: FdbEntry[] = [];
  for (const x of items) {
    if (x.master === undefined || x.flags.includes('self')) continue;
    const permanent = x.state === 'permanent' || x.state === 'static';
    entries.push({
      bridge: x.master,
      port: x.ifname,
      mac: x.mac.toLowerCase(),
      local: x.state === 'permanent',
      ...(permanent || x.updated === undefined ? {} : { ageing: x.updated }),
      ...(x.vlan !== undefined ? { vlan: x.vlan } : {}),
      state: x.state || 'learned',
    });
  }
  return { entries, bad };
}
