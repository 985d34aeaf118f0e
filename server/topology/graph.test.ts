// Unit tests on iproute2 JSON recorded from the lab (fixtures/): parsing, veth peers across namespaces
// (named by `netns list-id` or matched by ifindex when the peer has no name, like the host), and kinds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Topology } from '../protocol/topology';
import { buildNamespaces, resolvePeers, type NsCollected, type NsMeta } from './graph';
import { parseFdb, parseIpBatch, splitBatch } from './iproute';
import { topologyKey } from './cache';

const fx = (f: string): string => readFileSync(join(__dirname, 'fixtures', f), 'utf8');

function collected(meta: NsMeta, ip: string, fdb?: string): NsCollected {
  const snap = parseIpBatch(fx(ip));
  return { meta, snap, ...(fdb ? { fdb: parseFdb(fx(fdb)).entries } : {}) };
}

const lab = (): NsCollected[] => [
  collected({ name: 'host', inode: 1, source: 'host' }, 'lab-host.ip.ndjson', 'lab-host.fdb.json'),
  collected(
    { name: 'node1', inode: 2, source: 'named', netnsName: 'node1' },
    'lab-node1.ip.ndjson',
    'lab-node1.fdb.json',
  ),
  collected({ name: 'pod-a', inode: 3, source: 'named', netnsName: 'pod-a' }, 'lab-pod-a.ip.ndjson'),
  collected({ name: 'pod-b', inode: 4, source: 'named', netnsName: 'pod-b' }, 'lab-pod-b.ip.ndjson'),
];

describe('iproute2 parsing', () => {
  it('reads one JSON array per batch command', () => {
    expect(splitBatch(fx('lab-pod-a.ip.ndjson'))).toHaveLength(4);
  });

  it('parses links with kind, MAC, master and addresses', () => {
    const s = parseIpBatch(fx('lab-node1.ip.ndjson'));
    expect(s.badElements).toBe(0);
    const cni0 = s.interfaces.find((f) => f.name === 'cni0');
    expect(cni0).toMatchObject({ kind: 'bridge', up: true, mtu: 1500 });
    expect(cni0?.addrs[0]).toBe('10.244.1.1/24');
    expect(cni0?.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(s.interfaces.find((f) => f.name === 'veth-pod-a')).toMatchObject({ kind: 'veth', master: 'cni0' });
    expect(s.interfaces.find((f) => f.name === 'lo')?.kind).toBe('loopback');
    expect(s.nsids.get(1)).toBe('pod-a');
  });

  it('counts bad elements instead of throwing', () => {
    const broken = '[{"ifindex":"x"},{"ifindex":1,"ifname":"lo","link_type":"loopback"}]\n[{"nope":1}]\nnot json\n[]\n';
    const s = parseIpBatch(broken);
    expect(s.interfaces.map((f) => f.name)).toEqual(['lo']);
    expect(s.badElements).toBe(2);
    expect(s.routes).toEqual([]);
  });

  it('keeps only the bridge table from bridge fdb (what brctl showmacs shows)', () => {
    const { entries, bad } = parseFdb(fx('lab-node1.fdb.json'));
    expect(bad).toBe(0);
    expect(entries.every((e) => e.bridge === 'cni0')).toBe(true);
    const learned = entries.filter((e) => !e.local);
    expect(learned.map((e) => e.port).sort()).toEqual(['veth-pod-a', 'veth-pod-b']);
    expect(learned.every((e) => typeof e.ageing === 'number')).toBe(true);
    expect(entries.filter((e) => e.local).every((e) => e.ageing === undefined)).toBe(true);
    expect(parseFdb('garbage').bad).toBe(1);
  });
});

describe('graph', () => {
  it('resolves veth peers across namespaces and derives node/pod kinds', () => {
    const ns = buildNamespaces(lab());
    expect(() => Topology.parse({ namespaces: ns, warnings: [], discoveredAt: 0, durationMs: 0 })).not.toThrow();
    const get = (n: string) => ns.find((x) => x.name === n);
    const podA = get('pod-a');
    expect(podA?.kind).toBe('pod');
    expect(podA?.node).toBe('node1');
    expect(podA?.interfaces.find((f) => f.name === 'eth0')?.peer).toEqual({ netns: 'node1', ifname: 'veth-pod-a' });
    expect(get('node1')?.kind).toBe('node');
    expect(get('node1')?.interfaces.find((f) => f.name === 'veth-pod-a')?.peer).toEqual({
      netns: 'pod-a',
      ifname: 'eth0',
    });
    // node1 sees the host as an unnamed nsid: matched by ifindex both ways.
    expect(get('node1')?.interfaces.find((f) => f.name === 'eth0')?.peer).toEqual({
      netns: 'host',
      ifname: 'veth-node1',
    });
    expect(get('host')?.interfaces.find((f) => f.name === 'veth-node1')?.peer).toEqual({
      netns: 'node1',
      ifname: 'eth0',
    });
    expect(ns.map((n) => n.name)).toEqual(['host', 'node1', 'pod-a', 'pod-b']);
  });

  it('matches peers by ifindex when no namespace has a name (containers)', () => {
    const anon: NsCollected[] = lab().map((c) => ({
      meta: { name: c.meta.name, inode: c.meta.inode, source: 'process' },
      snap: { ...c.snap, nsids: new Map<number, string | undefined>() },
      ...(c.fdb ? { fdb: c.fdb } : {}),
    }));
    anon[0] = { ...anon[0]!, meta: { name: 'host', inode: 1, source: 'host' } };
    const ns = buildNamespaces(anon);
    expect(ns.find((n) => n.name === 'pod-b')?.interfaces.find((f) => f.name === 'eth0')?.peer).toEqual({
      netns: 'node1',
      ifname: 'veth-pod-b',
    });
  });
});

describe('graph: peers that ifindex alone cannot name', () => {
  it('keeps identical pods on two nodes apart only with list-id names, and inherits the reverse side', () => {
    // pod-c on "node2" is pod-a's recording again: eth0 ifindex 2 -> 4 on both, like the real lab.
    const items = lab();
    const node2: NsCollected = { ...items[1]!, meta: { name: 'node2', inode: 5, source: 'named', netnsName: 'node2' } };
    const podC: NsCollected = { ...items[2]!, meta: { name: 'pod-c', inode: 6, source: 'named', netnsName: 'pod-c' } };
    const noNames = (c: NsCollected): NsCollected => ({ ...c, snap: { ...c.snap, nsids: new Map() } });
    const bare = [...items, node2, podC].map(noNames);
    const r = resolvePeers(bare);
    expect(r.peers[2]?.get('eth0')).toBeUndefined(); // pod-a: node1 or node2?
    expect(r.unresolved.get(2)).toBe(1);
    // Names for node1's nsids alone (one list-id) resolve node1's pods and, by reverse, the pods' eth0.
    bare[1] = {
      ...bare[1]!,
      snap: {
        ...bare[1]!.snap,
        nsids: new Map([
          [1, 'pod-a'],
          [2, 'pod-b'],
        ]),
      },
    };
    const r2 = resolvePeers(bare);
    expect(r2.peers[2]?.get('eth0')).toEqual({ ns: 1, ifname: 'veth-pod-a' });
    expect(r2.peers[1]?.get('veth-pod-a')).toEqual({ ns: 2, ifname: 'eth0' });
  });

  it('pairs veths whose both ends are in one namespace (iproute2 prints `link` by name)', () => {
    const batch =
      '[{"ifindex":2,"link":"pjt-a","ifname":"pjt-b","linkinfo":{"info_kind":"veth"}},' +
      '{"ifindex":3,"link":"pjt-b","ifname":"pjt-a","linkinfo":{"info_kind":"veth"}}]\n[]\n[]\n';
    const ns = buildNamespaces([
      { meta: { name: 'solo', inode: 9, source: 'named', netnsName: 'solo' }, snap: parseIpBatch(batch) },
    ]);
    expect(ns[0]?.interfaces.find((f) => f.name === 'pjt-a')?.peer).toEqual({ netns: 'solo', ifname: 'pjt-b' });
    expect(ns[0]?.interfaces.find((f) => f.name === 'pjt-b')?.peer).toEqual({ netns: 'solo', ifname: 'pjt-a' });
  });

  it('leaves a peer unresolved when its namespace was not collected (vanished)', () => {
    const ns = buildNamespaces(lab().filter((c) => c.meta.name !== 'pod-a'));
    expect(ns.find((n) => n.name === 'node1')?.interfaces.find((f) => f.name === 'veth-pod-a')?.peer).toBeUndefined();
  });

  it('ignores FDB ageing when deciding whether the topology changed', () => {
    const ns = buildNamespaces(lab());
    const t = { namespaces: ns, warnings: [], discoveredAt: 1, durationMs: 1 };
    const aged = {
      ...t,
      discoveredAt: 2,
      namespaces: ns.map((n) => ({ ...n, fdb: n.fdb?.map((e) => ({ ...e, ageing: (e.ageing ?? 0) + 5 })) })),
    };
    expect(topologyKey(aged)).toBe(topologyKey(t));
    const down = {
      ...t,
      namespaces: ns.map((n) => ({ ...n, interfaces: n.interfaces.map((f) => ({ ...f, up: false })) })),
    };
    expect(topologyKey(down)).not.toBe(topologyKey(t));
  });
});
