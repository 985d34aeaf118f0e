// "Where is this MAC or IP?": every interface, FDB entry and ARP entry holding it, in one pass.
import type { FdbEntry, Iface, Neighbor, Topology } from '../../../server/protocol/topology';

export type Needle = { readonly kind: 'mac'; readonly value: string } | { readonly kind: 'ip'; readonly value: string };

export interface SearchHits {
  readonly ifaces: readonly { readonly netns: string; readonly iface: Iface }[];
  readonly fdb: readonly { readonly netns: string; readonly entry: FdbEntry }[];
  readonly neighbors: readonly { readonly netns: string; readonly entry: Neighbor }[];
  /** Keys `${netns}\0${ifname}` of interfaces to light up: holders, FDB ports, ARP devices. */
  readonly lit: ReadonlySet<string>;
}

const MAC_LIKE = /^[0-9a-f]{2}([:-][0-9a-f]{0,2}){1,5}$/;
const IP_LIKE = /^(\d{1,3}\.){1,3}\d{0,3}$|^[0-9a-f]*:[0-9a-f:.]*$/;

/** Accepts a whole or leading MAC (02:42:ac, 02-42-AC-12-00-05) or IP (10.244.1.2, 10.244.1.2/24, 10.244.1.). */
export function parseNeedle(q: string): Needle | undefined {
  const s = q.trim().toLowerCase();
  if (!s) return undefined;
  // "02:42" could be IPv6-ish; two hex digits per group, no `::`, reads as a MAC first (seed 000's case).
  if (MAC_LIKE.test(s) && !s.includes('::')) return { kind: 'mac', value: s.replace(/-/g, ':') };
  const ip = s.replace(/\/\d+$/, '');
  if (IP_LIKE.test(ip)) return { kind: 'ip', value: ip };
  return undefined;
}

const macMatch = (mac: string | undefined, n: Needle): boolean =>
  mac !== undefined && mac !== '' && mac.startsWith(n.value);
const ipMatch = (ip: string, n: Needle): boolean => {
  const bare = ip.replace(/\/\d+$/, '');
  return bare === n.value || (n.value.endsWith('.') && bare.startsWith(n.value));
};

export const litKey = (netns: string, ifname: string): string => `${netns}\u0000${ifname}`;

export function search(t: Topology, n: Needle): SearchHits {
  const ifaces: { netns: string; iface: Iface }[] = [];
  const fdb: { netns: string; entry: FdbEntry }[] = [];
  const neighbors: { netns: string; entry: Neighbor }[] = [];
  const lit = new Set<string>();
  for (const ns of t.namespaces) {
    for (const f of ns.interfaces) {
      const hit = n.kind === 'mac' ? macMatch(f.mac, n) : f.addrs.some((a) => ipMatch(a, n));
      if (hit) {
        ifaces.push({ netns: ns.name, iface: f });
        lit.add(litKey(ns.name, f.name));
      }
    }
    for (const e of ns.fdb ?? []) {
      if (n.kind === 'mac' && macMatch(e.mac, n)) {
        fdb.push({ netns: ns.name, entry: e });
        lit.add(litKey(ns.name, e.port));
      }
    }
    for (const e of ns.neighbors) {
      const hit = n.kind === 'mac' ? macMatch(e.mac, n) : ipMatch(e.ip, n);
      if (hit) {
        neighbors.push({ netns: ns.name, entry: e });
        lit.add(litKey(ns.name, e.dev));
      }
    }
  }
  return { ifaces, fdb, neighbors, lit };
}
