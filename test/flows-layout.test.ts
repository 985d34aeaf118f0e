// The flow map's geometry and the flow table's sort, without a browser.
import { describe, expect, it } from 'vitest';
import { ARROW_PX, flowMapLayout, LABEL_PX, si } from '../app/components/flows/layout';
import { sortFlows } from '../app/components/flows/flow-table';
import type { FlowEdge, FlowRow } from '../server/protocol/flows';

const edge = (from: string, to: string, bytes = 1000): FlowEdge => ({
  from,
  to,
  flows: 1,
  packets: 10,
  bytes,
  bps: bytes * 8,
  drops: 0,
});
const PATH = ['pod-a', 'node1', 'host', 'node2', 'pod-c'];
const request = PATH.slice(1).map((n, i) => edge(PATH[i] as string, n, 5000));
const reply = [...PATH]
  .reverse()
  .slice(1)
  .map((n, i) => edge([...PATH].reverse()[i] as string, n, 1000));

describe('flow map layout', () => {
  it('lays a cross-node path out left to right, its reply along the same columns', () => {
    const l = flowMapLayout([...request, ...reply]);
    const x = Object.fromEntries(l.nodes.map((n) => [n.name, n.x]));
    for (let i = 1; i < PATH.length; i++)
      expect(x[PATH[i] as string]).toBeGreaterThan(x[PATH[i - 1] as string] as number);
    expect(l.edges).toHaveLength(8);
    // Wider for more bytes; request and reply between the same two namespaces apart.
    const ab = l.edges.find((e) => e.edge.from === 'pod-a' && e.edge.to === 'node1');
    const ba = l.edges.find((e) => e.edge.from === 'node1' && e.edge.to === 'pod-a');
    expect(ab?.width).toBeGreaterThan(ba?.width ?? Infinity);
    expect(ab?.ly).not.toBe(ba?.ly);
    expect(l.width).toBeGreaterThan(4 * 200);
  });

  it('puts each rate label clear of both arrows between its two namespaces, heads included', () => {
    const l = flowMapLayout([...request, ...reply]);
    // An arrow's band: its line (from the path's end points) as wide as its stroke or its head.
    const band = (e: (typeof l.edges)[number]) => {
      const [y0, y1] = [...e.d.matchAll(/-?\d+(?:\.\d+)?,(-?\d+(?:\.\d+)?)/g)].map((m) => Number(m[1]));
      const half = Math.max(e.width, ARROW_PX) / 2;
      return [Math.min(y0 ?? 0, y1 ?? 0) - half, Math.max(y0 ?? 0, y1 ?? 0) + half] as const;
    };
    for (const e of l.edges) {
      // A label's glyphs: from about 0.8 of the font above its baseline to 0.25 below.
      const text = [e.ly - LABEL_PX * 0.8, e.ly + LABEL_PX * 0.25] as const;
      const pair = l.edges.filter(
        (o) => [o.edge.from, o.edge.to].sort().join() === [e.edge.from, e.edge.to].sort().join(),
      );
      expect(pair).toHaveLength(2);
      for (const o of pair) {
        const [lo, hi] = band(o);
        expect(text[1] < lo || text[0] > hi, `${e.edge.from}>${e.edge.to} label over ${o.edge.from}>${o.edge.to}`).toBe(
          true,
        );
      }
    }
  });

  it('is empty without edges, and stacks two sources in one column', () => {
    expect(flowMapLayout([]).nodes).toEqual([]);
    const l = flowMapLayout([edge('pod-a', 'node1'), edge('pod-b', 'node1')]);
    const [a, b] = ['pod-a', 'pod-b'].map((n) => l.nodes.find((m) => m.name === n));
    expect(a?.x).toBe(b?.x);
    expect(a?.y).not.toBe(b?.y);
  });

  it('prints numbers short', () => {
    expect([si(0), si(999), si(1234), si(2_500_000), si(9.4e9)]).toEqual(['0', '999', '1.2k', '2.5M', '9.4G']);
  });
});

describe('flow table sort', () => {
  const row = (id: string, bytes: number, drops = 0): FlowRow => ({
    id,
    proto: 'tcp',
    src: '10.0.0.1',
    dst: '10.0.0.2',
    sport: 1,
    dport: 2,
    packets: bytes / 100,
    bytes,
    payload: bytes,
    pps: 0,
    bps: bytes,
    drops: [],
    dropsTotal: drops,
    firstMs: 0,
    lastMs: 0,
    path: [],
    journeys: 0,
  });
  const rows = [row('b', 300), row('a', 100, 5), row('c', 200)];
  it('sorts by any column, both ways', () => {
    expect(sortFlows(rows, 'bytes', true).map((r) => r.id)).toEqual(['b', 'c', 'a']);
    expect(sortFlows(rows, 'flow', false).map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(sortFlows(rows, 'drops', true).map((r) => r.id)[0]).toBe('a');
  });
});
