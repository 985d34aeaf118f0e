// Pure graph building: veth peers resolved across namespaces, then kinds (node/pod/…) derived from the
// wiring. No I/O here, so it is tested on recorded iproute2 output.
import type { FdbEntry, Iface, Namespace, NamespaceKind } from '../protocol/topology';
import type { LocalIface, NsSnapshot } from './iproute';

/** What enumeration knows about a namespace before looking inside it. */
export interface NsMeta {
  readonly name: string;
  readonly inode: number;
  /** How it was found: decides the default kind and how peers name it. */
  readonly source: 'host' | 'named' | 'container' | 'process';
  /** `ip netns` name (named namespaces only), what `ip netns list-id` reports for peers. */
  readonly netnsName?: string;
  readonly pid?: number;
  readonly container?: { readonly id: string; readonly image: string };
  /** UTS hostname of a Kubernetes pod sandbox (a `pause` process lives in it). */
  readonly hostname?: string;
}

export interface NsCollected {
  readonly meta: NsMeta;
  readonly snap: NsSnapshot;
  readonly fdb?: readonly FdbEntry[];
}

/** The bridge a Kubernetes CNI (bridge plugin, kindnet-less setups, the lab) attaches pods to. */
export const POD_BRIDGE = 'cni0';

/** (ifindex, peer ifindex) of every veth -> the namespaces holding one: peer candidates in O(1). */
function vethIndex(items: readonly NsCollected[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  items.forEach((it, y) => {
    for (const f of it.snap.interfaces) {
      if (f.kind !== 'veth' || f.peerIfindex === undefined) continue;
      const k = `${f.ifindex}:${f.peerIfindex}`;
      const l = m.get(k);
      if (l) l.push(y);
      else m.set(k, [y]);
    }
  });
  return m;
}

export interface PeerResolution {
  /** peers[x] maps ifname -> the peer's namespace index and ifname. */
  readonly peers: readonly Map<string, { ns: number; ifname: string }>[];
  /** Namespace index -> how many of its veths are still unresolved. */
  readonly unresolved: ReadonlyMap<number, number>;
}

/**
 * Veth peers across namespaces. Exact where `netns list-id` named the peer's nsid; otherwise by
 * (ifindex, peer ifindex) pointing back, constrained so all veths sharing an nsid land in one namespace;
 * finally, a veth whose peer was resolved from the other side takes that answer. Identical pods on two
 * nodes (eth0 ifindex 2 -> 4 on both) stay ambiguous until list-id names one side.
 */
export function resolvePeers(items: readonly NsCollected[]): PeerResolution {
  const byNetnsName = new Map<string, number>();
  items.forEach((it, i) => {
    if (it.meta.netnsName !== undefined) byNetnsName.set(it.meta.netnsName, i);
  });
  const ifByIndex = items.map((it) => new Map(it.snap.interfaces.map((f) => [f.ifindex, f] as const)));
  const back = vethIndex(items);
  const pointingBack = (x: number, f: LocalIface): number[] =>
    (back.get(`${f.peerIfindex ?? -1}:${f.ifindex}`) ?? []).filter((y) => y !== x);
  const peers: Map<string, { ns: number; ifname: string }>[] = items.map(() => new Map());
  const set = (x: number, f: LocalIface, y: number): void => {
    const p = ifByIndex[y]?.get(f.peerIfindex ?? -1);
    if (p && p.kind === 'veth' && p.peerIfindex === f.ifindex) peers[x]?.set(f.name, { ns: y, ifname: p.name });
  };

  items.forEach((it, x) => {
    const groups = new Map<number, LocalIface[]>();
    for (const f of it.snap.interfaces) {
      if (f.kind === 'veth' && f.peerName !== undefined) {
        // Both ends here: iproute2 names the peer directly.
        if (it.snap.interfaces.some((g) => g.name === f.peerName)) peers[x]?.set(f.name, { ns: x, ifname: f.peerName });
        continue;
      }
      if (f.kind !== 'veth' || f.peerIfindex === undefined) continue;
      if (f.peerNsid === undefined) {
        set(x, f, x);
        continue;
      }
      groups.set(f.peerNsid, [...(groups.get(f.peerNsid) ?? []), f]);
    }
    for (const [nsid, group] of groups) {
      const named = it.snap.nsids.get(nsid);
      const exact = named !== undefined ? byNetnsName.get(named) : undefined;
      if (exact !== undefined) {
        for (const f of group) set(x, f, exact);
        continue;
      }
      let cands: number[] | undefined;
      for (const f of group) {
        const mine = pointingBack(x, f);
        cands = cands === undefined ? mine : cands.filter((c) => mine.includes(c));
      }
      if (cands?.length === 1 && cands[0] !== undefined) for (const f of group) set(x, f, cands[0]);
    }
  });

  // Peer of a peer: what one side resolved, the other side inherits.
  peers.forEach((m, x) => {
    for (const [ifname, p] of m) {
      const other = peers[p.ns];
      if (other && !other.has(p.ifname)) other.set(p.ifname, { ns: x, ifname });
    }
  });

  const unresolved = new Map<number, number>();
  items.forEach((it, x) => {
    const n = it.snap.interfaces.filter(
      (f) => f.kind === 'veth' && f.peerIfindex !== undefined && f.peerNsid !== undefined && !peers[x]?.has(f.name),
    ).length;
    if (n > 0) unresolved.set(x, n);
  });
  return { peers, unresolved };
}

export function buildNamespaces(items: readonly NsCollected[]): Namespace[] {
  const { peers } = resolvePeers(items);

  // Kinds. A node owns a cni0 bridge; a pod's eth0 peer is a port of a node's cni0.
  const kinds: NamespaceKind[] = items.map((it) => {
    if (it.meta.source === 'host') return 'host';
    if (it.snap.interfaces.some((f) => f.name === POD_BRIDGE && f.kind === 'bridge')) return 'node';
    return it.meta.source === 'container' ? 'container' : 'netns';
  });
  const nodeOf: (string | undefined)[] = items.map((it, x) => {
    const p = peers[x]?.get('eth0');
    if (p === undefined || kinds[p.ns] !== 'node') return undefined;
    const peerIf = items[p.ns]?.snap.interfaces.find((f) => f.name === p.ifname);
    return peerIf?.master === POD_BRIDGE ? items[p.ns]?.meta.name : undefined;
  });
  items.forEach((it, x) => {
    if (kinds[x] === 'host' || kinds[x] === 'node') return;
    if (nodeOf[x] !== undefined || it.meta.hostname !== undefined) kinds[x] = 'pod';
  });

  const out: Namespace[] = items.map((it, x) => {
    const interfaces: Iface[] = it.snap.interfaces.map((f) => {
      const p = peers[x]?.get(f.name);
      const peerName = p !== undefined ? items[p.ns]?.meta.name : undefined;
      return {
        name: f.name,
        ifindex: f.ifindex,
        mac: f.mac,
        kind: f.kind,
        mtu: f.mtu,
        state: f.state,
        up: f.up,
        addrs: f.addrs,
        ...(f.master !== undefined ? { master: f.master } : {}),
        ...(p !== undefined && peerName !== undefined ? { peer: { netns: peerName, ifname: p.ifname } } : {}),
        // XDP programs, from the same `ip -d` output; tc programs are merged in later (bpf-programs.ts).
        ...(f.programs?.length ? { programs: [...f.programs] } : {}),
      };
    });
    const node = nodeOf[x];
    return {
      name: it.meta.name,
      inode: it.meta.inode,
      kind: kinds[x] ?? 'netns',
      ...(node !== undefined && kinds[x] === 'pod' ? { node } : {}),
      ...(it.meta.pid !== undefined ? { pid: it.meta.pid } : {}),
      ...(it.meta.container !== undefined ? { container: { ...it.meta.container } } : {}),
      ...(it.meta.hostname !== undefined ? { hostname: it.meta.hostname } : {}),
      interfaces,
      ...(it.fdb !== undefined ? { fdb: [...it.fdb] } : {}),
      neighbors: [...it.snap.neighbors],
      routes: [...it.snap.routes],
    };
  });
  return sortNamespaces(out);
}

const KIND_ORDER: Record<NamespaceKind, number> = { host: 0, node: 1, pod: 2, container: 3, netns: 4 };

/** host, nodes, pods grouped by node, containers, the rest; by name within each. */
export function sortNamespaces(list: Namespace[]): Namespace[] {
  return [...list].sort(
    (a, b) =>
      KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
      (a.node ?? '').localeCompare(b.node ?? '') ||
      a.name.localeCompare(b.name, 'en', { numeric: true }),
  );
}
