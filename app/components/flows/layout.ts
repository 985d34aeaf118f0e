// The namespace-to-namespace flow map's geometry. Pure (no DOM): d3 does the math (the columns from each
// namespace's depth along the flows, scales for the widths, link paths), React draws the SVG.
import { linkHorizontal, scaleLinear, scalePoint, scaleSqrt } from 'd3';
import type { FlowEdge } from '../../../server/protocol/flows';

export interface MapNode {
  readonly name: string;
  readonly x: number;
  readonly y: number;
}

export interface MapEdge {
  readonly edge: FlowEdge;
  readonly d: string;
  readonly width: number;
  /** Where the rate label goes (its baseline). */
  readonly lx: number;
  readonly ly: number;
}

export interface FlowMapLayout {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly MapNode[];
  readonly edges: readonly MapEdge[];
}

export const NODE_W = 150;
export const NODE_H = 48;
const COL_GAP = 230;
const ROW_GAP = 90;
const PAD = 24;
/** Arrowheads and the rate labels' font, in px: the labels are placed clear of both. */
export const ARROW_PX = 18;
export const LABEL_PX = 16;
const LABEL_ABOVE = -22;
const LABEL_BELOW = 34;

/**
 * Columns by depth: a namespace's column is its longest distance from a namespace nothing flows into
 * (cycles, such as request and reply, are cut at the first visit). Within a column, by name.
 */
export function flowMapLayout(edges: readonly FlowEdge[]): FlowMapLayout {
  const names = [...new Set(edges.flatMap((e) => [e.from, e.to]))].sort();
  const out = new Map<string, string[]>(names.map((n) => [n, []]));
  const into = new Map<string, number>(names.map((n) => [n, 0]));
  for (const e of edges) {
    out.get(e.from)?.push(e.to);
    into.set(e.to, (into.get(e.to) ?? 0) + 1);
  }
  // Sources: pods usually (nothing flows into a pod that does not flow out of it too, so when every
  // namespace has an inbound edge, the one with the most outbound bytes starts).
  let roots = names.filter((n) => into.get(n) === 0);
  if (roots.length === 0 && edges[0]) roots = [edges[0].from];
  const depth = new Map<string, number>();
  const visit = (n: string, d: number, seen: Set<string>): void => {
    if (seen.has(n)) return;
    if ((depth.get(n) ?? -1) < d) depth.set(n, d);
    seen.add(n);
    for (const m of out.get(n) ?? []) visit(m, d + 1, seen);
    seen.delete(n);
  };
  for (const r of roots) visit(r, 0, new Set());
  // Reply-only namespaces (a cycle not reached from a root): next to what they send to.
  for (const n of names) if (!depth.has(n)) depth.set(n, 0);
  // Fold the path: a pod that only receives goes in the column mirrored from its sender side, so pod-a →
  // node1 → host → node2 → pod-c reads left to right, and its reply comes back along the same columns.
  const maxDepth = Math.max(0, ...depth.values());
  const cols = new Map<number, string[]>();
  for (const n of names) {
    const d = depth.get(n) ?? 0;
    cols.set(d, [...(cols.get(d) ?? []), n]);
  }
  const rows = Math.max(1, ...[...cols.values()].map((c) => c.length));
  const x = scalePoint<number>()
    .domain([...Array(maxDepth + 1).keys()])
    .range([PAD + NODE_W / 2, PAD + NODE_W / 2 + maxDepth * COL_GAP]);
  const height = PAD * 2 + NODE_H + (rows - 1) * ROW_GAP;
  const nodes: MapNode[] = [];
  for (const [d, col] of cols) {
    const y = scalePoint<number>()
      .domain([...col.keys()])
      .range([height / 2 - ((col.length - 1) * ROW_GAP) / 2, height / 2 + ((col.length - 1) * ROW_GAP) / 2]);
    col.forEach((name, i) => nodes.push({ name, x: x(d) ?? 0, y: col.length === 1 ? height / 2 : (y(i) ?? 0) }));
  }
  const at = new Map(nodes.map((n) => [n.name, n]));
  const maxBytes = Math.max(1, ...edges.map((e) => e.bytes));
  const width = scaleSqrt().domain([0, maxBytes]).range([2, 10]).clamp(true); // narrower than the arrowheads
  // Request and reply between the same two namespaces: drawn apart, each bowing to its side.
  const bow = scaleLinear().domain([0, 1]).range([-10, 10]);
  const link = linkHorizontal<{ s: [number, number]; t: [number, number] }, [number, number]>()
    .source((l) => l.s)
    .target((l) => l.t);
  const mapped: MapEdge[] = edges.flatMap((e) => {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b) return [];
    const dir = a.x < b.x || (a.x === b.x && a.y < b.y) ? 0 : 1;
    const off = bow(dir);
    const s: [number, number] = [a.x + (a.x <= b.x ? NODE_W / 2 : -NODE_W / 2), a.y + off];
    const t: [number, number] = [b.x + (a.x <= b.x ? -NODE_W / 2 : NODE_W / 2), b.y + off];
    return [
      {
        edge: e,
        d: link({ s, t }) ?? '',
        width: width(e.bytes),
        lx: (s[0] + t[0]) / 2,
        // The rate's baseline, clear of both arrows: above the upper one, below the lower one.
        ly: (s[1] + t[1]) / 2 + (dir === 0 ? LABEL_ABOVE : LABEL_BELOW),
      },
    ];
  });
  return {
    width: PAD * 2 + NODE_W + maxDepth * COL_GAP,
    height,
    nodes,
    edges: mapped,
  };
}

const SI = ['', 'k', 'M', 'G', 'T'];
/** 1234567 → `1.2M`: numbers for a table read from the back of a room. */
export function si(v: number): string {
  let i = 0;
  while (Math.abs(v) >= 1000 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(v >= 100 ? 0 : 1)}${SI[i]}`;
}
