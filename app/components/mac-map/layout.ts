// Layout math for the MAC/veth map (d3 for the arithmetic; React draws). Deterministic: the same topology
// always lands in the same place, so a projected map does not jump when an ARP entry appears.
//
//   row 0: host, then containers and plain netns
//   row 1: nodes, each heading a column
//   row 2: each node's pods, under their node
import { max } from 'd3';
import type { Iface, Namespace, Topology } from '../../../server/protocol/topology';

export const BOX_W = 340;
export const HEAD_H = 44;
export const ROW_H = 50;
/** Extra height of a row whose interface has BPF programs: one line of badges under it. */
export const PROG_H = 30;
export const PAD = 10;
export const GAP_X = 64;
export const GAP_Y = 110;
/** Left/right room for cable lanes outside the outermost boxes. */
export const MARGIN = 50;

export interface RowLayout {
  readonly iface: Iface;
  /** Bridge ports are indented under their bridge. */
  readonly indent: number;
  readonly y: number;
  /** ROW_H, plus PROG_H when the interface has BPF programs (their badges). */
  readonly h: number;
}

export interface BoxLayout {
  readonly ns: Namespace;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly rows: readonly RowLayout[];
  /** Bottom of the row band the box sits in: the free band below it carries cables. */
  readonly bandBottom: number;
}

export interface CableLayout {
  readonly key: string;
  readonly a: { readonly netns: string; readonly ifname: string; readonly x: number; readonly y: number };
  readonly b: { readonly netns: string; readonly ifname: string; readonly x: number; readonly y: number };
  readonly path: string;
}

export interface MapLayout {
  readonly boxes: readonly BoxLayout[];
  readonly cables: readonly CableLayout[];
  readonly width: number;
  readonly height: number;
}

/** Loopback says nothing about wiring; show it only when it carries a real address. */
function visible(f: Iface): boolean {
  return f.kind !== 'loopback' || f.addrs.some((a) => !a.startsWith('127.') && a !== '::1/128');
}

/** Bridges first, each followed by its ports, then the rest: reads like `brctl show`. */
export function orderedRows(ns: Namespace): { iface: Iface; indent: number }[] {
  const ifs = ns.interfaces.filter(visible);
  const bridges = ifs.filter((f) => f.kind === 'bridge');
  const out: { iface: Iface; indent: number }[] = [];
  const placed = new Set<string>();
  for (const b of bridges) {
    out.push({ iface: b, indent: 0 });
    placed.add(b.name);
    for (const p of ifs.filter((f) => f.master === b.name)) {
      out.push({ iface: p, indent: 1 });
      placed.add(p.name);
    }
  }
  for (const f of ifs) if (!placed.has(f.name)) out.push({ iface: f, indent: 0 });
  return out;
}

const rowHeight = (f: Iface): number => (f.programs?.length ? ROW_H + PROG_H : ROW_H);

function boxHeight(ns: Namespace): number {
  const rows = orderedRows(ns);
  return HEAD_H + (rows.length ? rows.reduce((h, r) => h + rowHeight(r.iface), 0) : ROW_H) + PAD;
}

function place(ns: Namespace, x: number, y: number, bandBottom: number): BoxLayout {
  let at = y + HEAD_H;
  const rows = orderedRows(ns).map((r) => {
    const h = rowHeight(r.iface);
    at += h;
    return { ...r, y: at - h, h };
  });
  return { ns, x, y, w: BOX_W, h: boxHeight(ns), rows, bandBottom };
}

const CELL = BOX_W + GAP_X;

/** Lays `list` out in rows of `cols` boxes from (x, y); returns the boxes and the bottom of the last row. */
function grid(list: readonly Namespace[], cols: number, x: number, y: number): { boxes: BoxLayout[]; bottom: number } {
  const boxes: BoxLayout[] = [];
  let rowY = y;
  for (let i = 0; i < list.length; i += cols) {
    const row = list.slice(i, i + cols);
    const h = max(row, boxHeight) ?? 0;
    row.forEach((n, j) => boxes.push(place(n, x + j * CELL, rowY, rowY + h)));
    rowY += h + GAP_Y;
  }
  return { boxes, bottom: list.length ? rowY - GAP_Y : y };
}

/**
 * Places everything with `podCols` pod columns per node. The caller tries several and keeps the one whose
 * shape best fits the screen, so 4 nodes x 11 pods become a readable grid rather than a 44-box ribbon.
 */
function arrange(t: Topology, podCols: number): { boxes: BoxLayout[]; width: number; height: number } {
  const nodes = t.namespaces.filter((n) => n.kind === 'node');
  const nodeNames = new Set(nodes.map((n) => n.name));
  const podsOf = new Map<string, Namespace[]>();
  for (const n of t.namespaces) {
    if (n.kind === 'pod' && n.node !== undefined && nodeNames.has(n.node)) {
      podsOf.set(n.node, [...(podsOf.get(n.node) ?? []), n]);
    }
  }
  const top = t.namespaces.filter(
    (n) => n.kind !== 'node' && !(n.kind === 'pod' && n.node !== undefined && nodeNames.has(n.node)),
  );

  // Node columns: each as wide as its pod grid.
  const colsOf = (n: Namespace): number => Math.max(1, Math.min(podCols, podsOf.get(n.name)?.length ?? 0));
  const nodesW =
    nodes.reduce((w, n) => w + colsOf(n) * CELL, 0) -
    (nodes.length ? GAP_X : 0) +
    Math.max(0, nodes.length - 1) * GAP_X;
  const topCols = Math.max(
    1,
    nodes.length ? Math.max(1, Math.floor((nodesW + GAP_X) / CELL)) : Math.ceil(Math.sqrt(top.length * 1.6)),
  );
  const topUsed = Math.min(topCols, Math.max(1, top.length));
  const topW = topUsed * CELL - GAP_X;
  const width = Math.max(nodesW, topW);

  const boxes: BoxLayout[] = [];
  const t0 = grid(top, topCols, MARGIN + (width - topW) / 2, 0);
  boxes.push(...t0.boxes);

  const nodesY = top.length ? t0.bottom + GAP_Y : 0;
  const nodesH = max(nodes, boxHeight) ?? 0;
  let x = MARGIN + (width - nodesW) / 2;
  let bottom = top.length ? t0.bottom : 0;
  for (const n of nodes) {
    const cols = colsOf(n);
    const w = cols * CELL - GAP_X;
    boxes.push(place(n, x + (w - BOX_W) / 2, nodesY, nodesY + nodesH));
    const g = grid(podsOf.get(n.name) ?? [], cols, x, nodesY + nodesH + GAP_Y);
    boxes.push(...g.boxes);
    bottom = Math.max(bottom, g.bottom, nodesY + nodesH);
    x += w + GAP_X * 2;
  }
  return { boxes, width: width + 2 * MARGIN, height: bottom + 10 };
}

/** `aspect` is the drawing area's width/height; the layout closest to it wins. */
export function layoutTopology(t: Topology, aspect = 1.4): MapLayout {
  const maxPods = Math.max(
    1,
    ...t.namespaces.map((n) => (n.kind === 'node' ? t.namespaces.filter((p) => p.node === n.name).length : 1)),
  );
  let best: ReturnType<typeof arrange> | undefined;
  let bestScore = Infinity;
  for (let c = 1; c <= maxPods; c++) {
    const a = arrange(t, c);
    const score = Math.abs(Math.log(a.width / Math.max(1, a.height) / aspect));
    if (score < bestScore - 1e-9) {
      best = a;
      bestScore = score;
    }
  }
  const { boxes, width, height } = best ?? arrange(t, 1);

  const anchors = new Map<string, { box: BoxLayout; row: RowLayout }>();
  for (const b of boxes) for (const r of b.rows) anchors.set(`${b.ns.name}\u0000${r.iface.name}`, { box: b, row: r });

  const cables: CableLayout[] = [];
  const done = new Set<string>();
  const counters = new Map<string, number>();
  const next = (k: string): number => {
    const n = counters.get(k) ?? 0;
    counters.set(k, n + 1);
    return n;
  };
  for (const b of boxes) {
    for (const r of b.rows) {
      const p = r.iface.peer;
      if (!p) continue;
      const k1 = `${b.ns.name}\u0000${r.iface.name}`;
      const k2 = `${p.netns}\u0000${p.ifname}`;
      const key = k1 < k2 ? `${k1}|${k2}` : `${k2}|${k1}`;
      if (done.has(key)) continue;
      const other = anchors.get(k2);
      if (!other) continue;
      done.add(key);
      // Route from the upper box down to the lower one.
      const [ua, ur, la, lr] = b.y <= other.box.y ? [b, r, other.box, other.row] : [other.box, other.row, b, r];
      cables.push(cable(key, ua, ur, la, lr, next));
    }
  }
  return { boxes, cables, width, height };
}

/**
 * A veth as a cable, routed orthogonally so it never cuts through a box: out of the upper row's side into
 * the gap beside its box, down into the free band under that box's row, across to the gap beside the
 * lower box (the gaps between columns are free all the way down), down, and in. Lanes and bands are
 * staggered per box so parallel cables stay apart.
 */
function cable(
  key: string,
  ba: BoxLayout,
  ra: RowLayout,
  bb: BoxLayout,
  rb: RowLayout,
  next: (k: string) => number,
): CableLayout {
  const ya = ra.y + ROW_H / 2;
  const yb = rb.y + ROW_H / 2;
  const ca = ba.x + ba.w / 2;
  const cb = bb.x + bb.w / 2;
  const lane = (k: string): number => 10 + (next(k) % 4) * 6;
  let path: string;
  let xa: number;
  let xb: number;
  if (ba === bb) {
    xa = xb = ba.x + ba.w;
    const lx = xa + lane(`${ba.ns.name}:r`);
    path = `M${xa},${ya} H${lx} V${yb} H${xb}`;
  } else {
    const aRight = cb > ca || (cb === ca && true);
    xa = aRight ? ba.x + ba.w : ba.x;
    const x1 = aRight ? xa + lane(`${ba.ns.name}:r`) : xa - lane(`${ba.ns.name}:l`);
    const bLeft = x1 <= cb;
    xb = bLeft ? bb.x : bb.x + bb.w;
    const x2 = bLeft ? xb - lane(`${bb.ns.name}:l`) : xb + lane(`${bb.ns.name}:r`);
    const yg = ba.bandBottom + 14 + (next(`band:${ba.bandBottom}`) % 12) * 6;
    path = `M${xa},${ya} H${x1} V${yg} H${x2} V${yb} H${xb}`;
  }
  return {
    key,
    a: { netns: ba.ns.name, ifname: ra.iface.name, x: xa, y: ya },
    b: { netns: bb.ns.name, ifname: rb.iface.name, x: xb, y: yb },
    path,
  };
}
