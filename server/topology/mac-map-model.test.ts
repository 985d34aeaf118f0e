// The MAC/veth map's pure parts (app/components/mac-map): layout and the MAC/IP search, on topologies
// built from the recorded lab fixtures. (vitest only collects server/**, so the test lives here.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { layoutTopology } from '../../app/components/mac-map/layout';
import { parseNeedle, search, litKey } from '../../app/components/mac-map/search';
import type { Namespace, Topology } from '../protocol/topology';
import { buildNamespaces, type NsCollected, type NsMeta } from './graph';
import { parseFdb, parseIpBatch } from './iproute';

const fx = (f: string): string => readFileSync(join(__dirname, 'fixtures', f), 'utf8');
const col = (meta: NsMeta, ip: string, fdb?: string): NsCollected => ({
  meta,
  snap: parseIpBatch(fx(ip)),
  ...(fdb ? { fdb: parseFdb(fx(fdb)).entries } : {}),
});
const lab: Topology = {
  namespaces: buildNamespaces([
    col({ name: 'host', inode: 1, source: 'host' }, 'lab-host.ip.ndjson', 'lab-host.fdb.json'),
    col({ name: 'node1', inode: 2, source: 'named', netnsName: 'node1' }, 'lab-node1.ip.ndjson', 'lab-node1.fdb.json'),
    col({ name: 'pod-a', inode: 3, source: 'named', netnsName: 'pod-a' }, 'lab-pod-a.ip.ndjson'),
    col({ name: 'pod-b', inode: 4, source: 'named', netnsName: 'pod-b' }, 'lab-pod-b.ip.ndjson'),
  ]),
  warnings: [],
  discoveredAt: 0,
  durationMs: 0,
};

/** 4 nodes x 12 pods, as a 50-namespace classroom cluster would look. */
function bigCluster(): Topology {
  const node1 = lab.namespaces.find((n) => n.name === 'node1') as Namespace;
  const podA = lab.namespaces.find((n) => n.name === 'pod-a') as Namespace;
  const out: Namespace[] = [lab.namespaces[0] as Namespace];
  for (let k = 1; k <= 4; k++) {
    const pods = Array.from({ length: 12 }, (_, i) => `p${k}-${i}`);
    out.push({
      ...node1,
      name: `n${k}`,
      interfaces: [
        ...node1.interfaces.filter((f) => !f.name.startsWith('veth-pod') && f.name !== 'eth0'),
        ...pods.map((p, i) => ({
          name: `v-${p}`,
          ifindex: 10 + i,
          mac: '',
          kind: 'veth',
          mtu: 1500,
          state: 'UP',
          up: true,
          addrs: [],
          master: 'cni0',
          peer: { netns: p, ifname: 'eth0' },
        })),
      ],
    });
    for (const p of pods) {
      out.push({
        ...podA,
        name: p,
        node: `n${k}`,
        interfaces: podA.interfaces.map((f) =>
          f.name === 'eth0' ? { ...f, peer: { netns: `n${k}`, ifname: `v-${p}` } } : f,
        ),
      });
    }
  }
  return { ...lab, namespaces: out };
}

describe('map layout', () => {
  it('draws every veth pair of the lab as one cable', () => {
    const l = layoutTopology(lab);
    expect(l.boxes.map((b) => b.ns.name).sort()).toEqual(['host', 'node1', 'pod-a', 'pod-b']);
    expect(l.cables).toHaveLength(3); // host-node1, node1-pod-a, node1-pod-b
    const podA = l.boxes.find((b) => b.ns.name === 'pod-a');
    const node1 = l.boxes.find((b) => b.ns.name === 'node1');
    expect(podA && node1 && podA.y > node1.y).toBe(true); // pods hang under their node
  });

  it('keeps 53 namespaces apart, in a screen-shaped grid', () => {
    const l = layoutTopology(bigCluster());
    expect(l.boxes).toHaveLength(53);
    expect(l.cables).toHaveLength(48);
    for (const a of l.boxes)
      for (const b of l.boxes) {
        if (a === b) continue;
        const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
        expect(apart, `${a.ns.name} overlaps ${b.ns.name}`).toBe(true);
      }
    expect(l.width / l.height).toBeGreaterThan(0.7);
    expect(l.width / l.height).toBeLessThan(3);
  });
});

describe('where is this MAC or IP?', () => {
  it('parses MACs (any case, dashes, prefixes) and IPs (with or without prefix length)', () => {
    expect(parseNeedle('0A-58-0A-F4-01-02')).toEqual({ kind: 'mac', value: '0a:58:0a:f4:01:02' });
    expect(parseNeedle('02:42:ac')).toEqual({ kind: 'mac', value: '02:42:ac' });
    expect(parseNeedle('10.244.1.2/24')).toEqual({ kind: 'ip', value: '10.244.1.2' });
    expect(parseNeedle('fe80::1')).toEqual({ kind: 'ip', value: 'fe80::1' });
    expect(parseNeedle('hello')).toBeUndefined();
    expect(parseNeedle('   ')).toBeUndefined();
  });

  it("finds pod-a's MAC on its eth0, in node1's FDB and in pod-b's ARP table", () => {
    const mac = lab.namespaces.find((n) => n.name === 'pod-a')?.interfaces.find((f) => f.name === 'eth0')?.mac ?? '';
    const hits = search(lab, { kind: 'mac', value: mac });
    expect(hits.ifaces.map((h) => `${h.netns}/${h.iface.name}`)).toEqual(['pod-a/eth0']);
    expect(hits.fdb.map((h) => `${h.netns}/${h.entry.bridge}/${h.entry.port}`)).toEqual(['node1/cni0/veth-pod-a']);
    expect(hits.lit.has(litKey('node1', 'veth-pod-a'))).toBe(true);
    const byIp = search(lab, { kind: 'ip', value: '10.244.1.3' });
    expect(byIp.ifaces.map((h) => `${h.netns}/${h.iface.name}`)).toEqual(['pod-b/eth0']);
    expect(byIp.neighbors.map((h) => h.netns)).toContain('pod-a'); // the recorded ping pod-a -> pod-b
  });
});
