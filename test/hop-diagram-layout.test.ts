// The hop diagram's geometry, on recorded journeys parsed with the wire schema (so a contract change
// that the fixtures no longer satisfy fails here first).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journey } from '../server/protocol/tracer';
import { GEOM, layoutJourney, type DiagramLayout, type HopBox } from '../app/components/hop-diagram/layout';
import { endLine, fmtDelta, nfLine, outcome } from '../app/components/hop-diagram/format';
import { natParts } from '../server/protocol/vocab';
import { hopIds } from '../app/components/hop-diagram/test-ids';

const dir = join(__dirname, '../app/components/hop-diagram/fixtures');
const load = (name: string): Journey => Journey.parse(JSON.parse(readFileSync(join(dir, name), 'utf8')));

const ping = load('ping-pod-a-pod-c.json');
const tcp = load('tcp-clusterip.json');
const drop = load('netfilter-drop.json');

/** First and last coordinates of an SVG path d (M x,y ... x,y). */
function ends(d: string): { start: [number, number]; end: [number, number] } {
  const nums = (d.match(/-?\d+(\.\d+)?(e-?\d+)?/g) ?? []).map(Number);
  expect(nums.length).toBeGreaterThanOrEqual(4);
  return { start: [nums[0]!, nums[1]!], end: [nums[nums.length - 2]!, nums[nums.length - 1]!] };
}
const close = (a: [number, number], b: [number, number]): void => {
  expect(a[0]).toBeCloseTo(b[0], 3);
  expect(a[1]).toBeCloseTo(b[1], 3);
};
const box = (l: DiagramLayout, key: string): HopBox => {
  const b = l.hops.find((h) => h.key === key);
  if (!b) throw new Error(`no box ${key}`);
  return b;
};

describe('layoutJourney on a cross-node ping pod-a -> pod-c', () => {
  const l = layoutJourney(ping);

  it('puts one lane per namespace in path order, left to right, without overlap', () => {
    expect(l.lanes.map((x) => x.name)).toEqual(['pod-a', 'node1', 'host', 'node2', 'pod-c']);
    for (let i = 1; i < l.lanes.length; i++)
      expect(l.lanes[i]!.x).toBeGreaterThanOrEqual(l.lanes[i - 1]!.x + l.lanes[i - 1]!.w);
    expect(l.width).toBe(GEOM.marginL + 5 * GEOM.laneW + GEOM.marginR);
  });

  it('places every hop inside its lane, request band above reply band', () => {
    expect(l.hops).toHaveLength(ping.hops.length + ping.reply!.hops.length);
    for (const b of l.hops) {
      const lane = l.lanes[b.laneIndex]!;
      expect(lane.name).toBe(b.hop.netns);
      expect(b.x).toBeGreaterThanOrEqual(lane.x);
      expect(b.x + b.w).toBeLessThanOrEqual(lane.x + lane.w);
      const band = l.bands.find((x) => x.path === b.path)!;
      expect(b.y).toBeGreaterThanOrEqual(band.y);
      expect(b.y + b.h).toBeLessThanOrEqual(band.y + band.h);
    }
    const [req, rep] = l.bands;
    expect(req!.path).toBe('request');
    expect(rep!.path).toBe('reply');
    expect(rep!.y).toBeGreaterThan(req!.y + req!.h);
    expect(l.height).toBeGreaterThanOrEqual(rep!.y + rep!.h);
  });

  it('stacks hops of one lane in kernel order without overlap', () => {
    for (const path of ['request', 'reply'] as const) {
      for (const lane of l.lanes) {
        const stack = l.hops.filter((b) => b.path === path && b.laneIndex === lane.index);
        for (let i = 1; i < stack.length; i++) {
          expect(stack[i]!.hop.seq).toBeGreaterThan(stack[i - 1]!.hop.seq);
          expect(stack[i]!.y).toBeGreaterThanOrEqual(stack[i - 1]!.y + stack[i - 1]!.h + GEOM.boxGap - 0.001);
        }
      }
    }
    // node1 sees the request three times: veth-pod-a, cni0, eth0.
    const node1 = l.hops.filter((b) => b.path === 'request' && b.hop.netns === 'node1').map((b) => b.hop.ifname);
    expect(node1).toEqual(['veth-pod-a', 'cni0', 'eth0']);
  });

  it('draws arrows hop to hop, edge to edge, and one turn from the request end to the reply start', () => {
    const req = l.arrows.filter((a) => a.path === 'request');
    const rep = l.arrows.filter((a) => a.path === 'reply');
    const turn = l.arrows.filter((a) => a.path === 'turn');
    expect(req).toHaveLength(ping.hops.length - 1);
    expect(rep).toHaveLength(ping.reply!.hops.length - 1);
    expect(turn).toHaveLength(1);
    // travel order: all request arrows, the turn, then the reply
    expect(l.arrows.map((a) => a.path)).toEqual([...req.map(() => 'request'), 'turn', ...rep.map(() => 'reply')]);

    // pod-a eth0 egress -> node1 veth-pod-a: rightwards, from the right edge to the left edge
    const a0 = req[0]!;
    const from = box(l, a0.from);
    const to = box(l, a0.to);
    const e = ends(a0.d);
    close(e.start, [from.x + from.w, from.y + from.h / 2]);
    close(e.end, [to.x, to.y + to.h / 2]);
    // node1 veth-pod-a -> node1 cni0: same lane, straight down
    const a1 = ends(req[1]!.d);
    const v1 = box(l, req[1]!.from);
    const c1 = box(l, req[1]!.to);
    close(a1.start, [v1.x + v1.w / 2, v1.y + v1.h]);
    close(a1.end, [c1.x + c1.w / 2, c1.y]);
    // the reply runs right to left: from the left edge of node2 eth0 to the right edge of host veth-node2
    const r3 = rep.find((a) => box(l, a.from).hop.netns === 'node2' && box(l, a.to).hop.netns === 'host')!;
    const re = ends(r3.d);
    const rf = box(l, r3.from);
    const rt = box(l, r3.to);
    close(re.start, [rf.x, rf.y + rf.h / 2]);
    close(re.end, [rt.x + rt.w, rt.y + rt.h / 2]);
    expect(rt.hop.ifname).toBe('veth-node2');
  });
});

describe('layoutJourney on a cross-node ping: ends and ids', () => {
  const l = layoutJourney(ping);

  it('shows ordinary ends calmly, not as drops', () => {
    const endReq = box(l, `request:${ping.hops.length - 1}`);
    expect(endReq.tone).toBe('end');
    expect(endReq.lines.map((x) => x.text)).toContain('end: CONSUMED');
    const endRep = box(l, `reply:${ping.reply!.hops.length - 1}`);
    expect(endRep.tone).toBe('end');
    expect(endRep.lines.find((x) => x.role === 'end')?.text).toBe('end: NO_SOCKET');
    expect(l.hops.some((b) => b.tone === 'drop')).toBe(false);
    expect(l.arrows.some((a) => a.drop)).toBe(false);
    expect(outcome(ping)).toEqual({ label: 'delivered, reply came back', tone: 'ok' });
  });

  it('gives every hop a distinct test id', () => {
    const ids = l.hops.map((b) => hopIds.hop(b.path, b.hop.netns, b.hop.seq));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe('hd-hop-req-ns-pod-a-0');
  });
});

describe('layoutJourney on TCP to the ClusterIP', () => {
  const l = layoutJourney(tcp);

  it('highlights the DNAT hop and the arrow into it, and the reverse rewrite on the reply', () => {
    const nat = l.hops.filter((b) => b.tone === 'nat');
    expect(nat.map((b) => `${b.path}/${b.hop.netns}/${b.hop.ifname}`)).toEqual([
      'request/node1/cni0',
      'reply/node1/cni0',
    ]);
    const dnat = nat[0]!;
    expect(dnat.lines.filter((x) => x.role === 'nat').map((x) => x.text)).toEqual([
      'DNAT 10.96.0.10:80',
      '→ 10.244.2.2:8080',
    ]);
    // the box grows by one line per extra line of text
    expect(dnat.h).toBe(GEOM.baseH + dnat.lines.length * GEOM.lineH);
    const into = l.arrows.find((a) => a.to === dnat.key)!;
    expect(into.nat).toBe(true);
    expect(l.arrows.filter((a) => a.nat)).toHaveLength(2);
    expect(nfLine(dnat.hop)).toBe('nf PRE ✓  FWD ✓  5 rules');
  });
});

describe('layoutJourney on a netfilter drop', () => {
  const l = layoutJourney(drop);

  it('has no reply band and shows the drop in red with its reason and place', () => {
    expect(l.bands.map((b) => b.path)).toEqual(['request']);
    expect(l.arrows.every((a) => a.path === 'request')).toBe(true);
    const end = box(l, 'request:2');
    expect(end.tone).toBe('drop');
    expect(end.lines.map((x) => [x.role, x.text])).toEqual([
      ['drop', 'DROP NETFILTER_DROP'],
      ['where', 'at nf_hook_slow+0x9c'],
    ]);
    expect(box(l, 'request:1').tone).toBe('nf-drop');
    expect(l.arrows[l.arrows.length - 1]!.drop).toBe(true);
    expect(outcome(drop)).toEqual({ label: 'dropped in pjt-hd-r (NETFILTER_DROP, netfilter)', tone: 'drop' });
    expect(endLine(end.hop)).toBe('DROP NETFILTER_DROP');
  });
});

describe('layoutJourney while a journey is still arriving', () => {
  it('keeps the boxes already drawn in place as hops are added', () => {
    const partial = (n: number): Journey => {
      const hops = ping.hops.slice(0, n);
      const lanes: string[] = [];
      for (const h of hops) if (!lanes.includes(h.netns)) lanes.push(h.netns);
      const { reply: _reply, ...rest } = ping;
      return Journey.parse({ ...rest, pending: true, delivered: false, hops, lanes });
    };
    const small = layoutJourney(partial(4));
    const big = layoutJourney(partial(9));
    expect(small.lanes.map((x) => x.name)).toEqual(['pod-a', 'node1']);
    for (const b of small.hops) {
      const same = big.hops.find((x) => x.key === b.key)!;
      expect([same.x, same.y, same.w, same.h]).toEqual([b.x, b.y, b.w, b.h]);
    }
    expect(small.arrows).toHaveLength(3);
  });

  it('lays out an empty journey, and takes the lanes the server sent as they are', () => {
    const empty = layoutJourney({ ...ping, hops: [], reply: undefined, lanes: [], pending: true });
    expect(empty.hops).toHaveLength(0);
    expect(empty.arrows).toHaveLength(0);
    expect(empty.height).toBeGreaterThan(0);
    // The browser does not reorder or extend the server's lanes (the server lists every hop's namespace).
    const reordered = layoutJourney({ ...ping, lanes: ['pod-c', 'node2', 'host', 'node1', 'pod-a'] });
    expect(reordered.lanes.map((x) => x.name)).toEqual(['pod-c', 'node2', 'host', 'node1', 'pod-a']);
    const fewer = layoutJourney({ ...ping, lanes: ['pod-a', 'node1'] });
    expect(fewer.lanes.map((x) => x.name)).toEqual(['pod-a', 'node1']);
    expect(fewer.hops.every((b) => b.hop.netns === 'pod-a' || b.hop.netns === 'node1')).toBe(true);
  });
});

describe('format', () => {
  it('prints kernel time deltas with units', () => {
    expect(fmtDelta(0)).toBe('+0 ns');
    expect(fmtDelta(40_100)).toBe('+40.1 µs');
    expect(fmtDelta(1_234_567)).toBe('+1.23 ms');
  });
  it('splits a both-ways rewrite into two lines', () => {
    expect(natParts({ kind: 'both', from: '1.1.1.1:5 → 2.2.2.2:80', to: '3.3.3.3:6 → 4.4.4.4:8080' })).toEqual([
      'BOTH 1.1.1.1:5 → 2.2.2.2:80',
      '→ 3.3.3.3:6 → 4.4.4.4:8080',
    ]);
  });
});
