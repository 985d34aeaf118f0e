// The flow table without a kernel: ticks add up, rates are the last tick's, paths and edges follow the
// namespaces in the order they first saw the flow, and the loader's record is parsed strictly.
import { describe, expect, it } from 'vitest';
import { checkFlowsFlags, formatFlows } from './cli';
import { parseFlowsLine, type FlowsRecord, type TickFlow } from './record';
import { FlowTable, type TableNames } from './table';

const names: TableNames = {
  netns: (i) => ({ 1: 'pod-a', 2: 'node1', 3: 'pod-c' })[i] ?? `netns:${i}`,
  device: (i, d) => (i === 2 && d === 7 ? 'veth-pod-a' : undefined),
  wallMs: (ns) => ns / 1e6,
};

const flow = (netns: number, firstNs: number, o: Partial<TickFlow> = {}): TickFlow => ({
  src: '10.244.1.2',
  dst: '10.244.2.2',
  sport: 40000,
  dport: 5201,
  proto: 6,
  netns,
  packets: 10,
  bytes: 15000,
  payload: 14480,
  firstNs,
  lastNs: firstNs + 1000,
  ifindexes: [7],
  drops: [],
  sampled: 0,
  ...o,
});

const tick = (seq: number, flows: TickFlow[], o: Partial<FlowsRecord> = {}): FlowsRecord => ({
  seq,
  tsNs: seq * 1e9,
  intervalNs: 1e9,
  entries: flows.length,
  maxEntries: 1024,
  insertFailed: 0,
  lostPackets: 0,
  lostBytes: 0,
  lostDrops: 0,
  sampled: 0,
  counted: 0,
  flows,
  ...o,
});

describe('FlowTable', () => {
  it('adds ticks up per namespace, with the last tick as the rate', () => {
    const t = new FlowTable();
    t.apply(tick(0, [flow(2, 200), flow(1, 100), flow(3, 300, { drops: [['NETFILTER_DROP', 2]] })]));
    t.apply(tick(1, [flow(1, 1100, { packets: 5, bytes: 7500 }), flow(2, 1200, { packets: 5, bytes: 7500 })]));
    const s = t.state(names, { running: true, samplePerSec: 1 });
    expect(s.total).toBe(1);
    const [r] = s.flows;
    expect(r?.id).toBe('tcp 10.244.1.2:40000 > 10.244.2.2:5201');
    expect(r?.path.map((h) => [h.netns, h.packets, h.drops])).toEqual([
      ['pod-a', 15, 0],
      ['node1', 15, 0],
      ['pod-c', 10, 2],
    ]);
    expect(r?.path[1]?.devices).toEqual(['veth-pod-a']);
    expect(r?.path[0]?.devices).toEqual(['if7']);
    expect(r?.packets).toBe(15);
    expect(r?.pps).toBe(5);
    expect(r?.bps).toBe(7500 * 8);
    expect(r?.drops).toEqual([{ reason: 'NETFILTER_DROP', count: 2 }]);
    expect(s.edges.map((e) => [e.from, e.to, e.packets])).toEqual([
      ['pod-a', 'node1', 15],
      ['node1', 'pod-c', 10],
    ]);
  });

  it('keeps the drops of an unknown namespace out of the path, and counts journeys seen before the flow', () => {
    const t = new FlowTable();
    t.noteJourney('tcp 10.244.1.2:40000 > 10.244.2.2:5201');
    t.apply(tick(0, [flow(1, 100), flow(0, 150, { packets: 0, bytes: 0, drops: [['TCP_OLD_DATA', 1]] })]));
    const [r] = t.state(names, { running: true, samplePerSec: 1 }).flows;
    expect(r?.path.map((h) => h.netns)).toEqual(['pod-a']);
    expect(r?.dropsTotal).toBe(1);
    expect(r?.journeys).toBe(1);
  });

  it("lists ping's NO_SOCKET ends without counting them as drops; UDP's NO_SOCKET is a drop", () => {
    const t = new FlowTable();
    const reply = { src: '10.244.2.2', dst: '10.244.1.2', sport: 7, dport: 0, proto: 1 };
    const lost = { drops: [['NO_SOCKET', 4] as const], proto: 17 };
    t.apply(
      tick(0, [
        flow(3, 100, reply),
        flow(2, 200, reply),
        flow(1, 300, {
          ...reply,
          drops: [
            ['NO_SOCKET', 10],
            ['NETFILTER_DROP', 1],
          ],
        }),
        flow(1, 100, lost),
        flow(3, 300, lost),
      ]),
    );
    const s = t.state(names, { running: true, samplePerSec: 1 });
    const icmp = s.flows.find((f) => f.proto === 'icmp');
    expect(icmp?.dropsTotal).toBe(1);
    expect(icmp?.drops).toEqual([
      { reason: 'NETFILTER_DROP', count: 1 },
      { reason: 'NO_SOCKET', count: 10, ordinary: true },
    ]);
    expect(icmp?.path.map((h) => [h.netns, h.drops])).toEqual([
      ['pod-c', 0],
      ['node1', 0],
      ['pod-a', 1],
    ]);
    expect(s.edges.find((e) => e.to === 'pod-a')?.drops).toBe(1);
    const udp = s.flows.find((f) => f.proto === 'udp');
    expect(udp?.dropsTotal).toBe(8);
    expect(udp?.drops).toEqual([{ reason: 'NO_SOCKET', count: 8 }]);
  });

  it('evicts the flows idle longest past its limit, and says so', () => {
    const t = new FlowTable(2);
    t.apply(tick(0, [flow(1, 100, { sport: 1 }), flow(1, 200, { sport: 2 }), flow(1, 300, { sport: 3 })]));
    const s = t.state(names, { running: true, samplePerSec: 1 });
    expect(s.total).toBe(2);
    expect(s.pressure.evicted).toBe(1);
    expect(s.flows.map((f) => f.sport).sort()).toEqual([2, 3]);
  });
});

describe('the loader flows record', () => {
  const line = JSON.stringify({
    type: 'flows',
    seq: 3,
    ts_ns: 5,
    interval_ns: 1e9,
    entries: 1,
    max_entries: 4,
    insert_failed: 2,
    lost_packets: 9,
    lost_bytes: 900,
    lost_drops: 0,
    sampled: 1,
    counted: 4,
    flows: [['10.0.0.1', 'fd00::2', 1, 2, 17, 42, 3, 300, 270, 1, 2, [5, 6], [['NO_SOCKET', 1]], 1]],
  });
  it('parses it', () => {
    const r = parseFlowsLine(line);
    expect(r?.insertFailed).toBe(2);
    expect(r?.flows[0]).toMatchObject({ dst: 'fd00::2', netns: 42, ifindexes: [5, 6], drops: [['NO_SOCKET', 1]] });
  });
  it('refuses a malformed one', () => {
    expect(parseFlowsLine(line.replace('"seq":3', '"seq":-1'))).toBeUndefined();
    expect(parseFlowsLine('{"type":"flows"')).toBeUndefined();
  });
});

describe('trace --flows', () => {
  it('refuses bad flags in one line', () => {
    expect(() => checkFlowsFlags({ json: false, seconds: 0 })).toThrow(/--seconds/);
    expect(() => checkFlowsFlags({ json: false, sample: 1.5 })).toThrow(/--sample/);
    expect(() => checkFlowsFlags({ json: true, seconds: 2, sample: 3 })).not.toThrow();
  });
  it('prints a table with the pressure', () => {
    const t = new FlowTable();
    t.apply(tick(0, [flow(1, 100)], { insertFailed: 3, lostPackets: 7 }));
    const out = formatFlows(t.state(names, { running: true, samplePerSec: 1 }));
    expect(out).toContain('map full: 3 new flows not counted (7 packets)');
    expect(out).toContain('tcp 10.244.1.2:40000 > 10.244.2.2:5201');
  });
});
