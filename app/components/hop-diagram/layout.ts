// Journey -> diagram geometry. Pure (no DOM): d3-scale places the lanes, d3-shape draws the arrows,
// React only renders what this returns. One lane (column) per namespace in path order; the request
// runs through the upper band, the reply through the lower one, and inside a band each lane stacks
// its hops top to bottom in kernel order.
import { linkHorizontal, linkVertical, scaleBand } from 'd3';
import type { Hop, Journey } from '../../../server/protocol/tracer';
import { dropWhereText, natParts } from '../../../server/protocol/vocab';
import { endLine, inferredLines, nfLine, programLine } from './format';
import type { PathKind } from './test-ids';

export type HopTone = 'normal' | 'nat' | 'drop' | 'end' | 'nf-drop';
export type LineRole = 'reason' | 'inferred' | 'prog' | 'prog-drop' | 'nat' | 'nf' | 'end' | 'drop' | 'where';

export interface HopBox {
  /** Unique in the layout: `request:3`. */
  readonly key: string;
  readonly path: PathKind;
  readonly hop: Hop;
  readonly laneIndex: number;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly tone: HopTone;
  /** No tracepoint saw it (e.g. a peer redirect's arrival): drawn dashed. */
  readonly inferred: boolean;
  /** Text lines under the ifname/direction line, in order, with their role for styling. */
  readonly lines: readonly { readonly text: string; readonly role: LineRole }[];
}

export interface Arrow {
  readonly key: string;
  readonly path: PathKind | 'turn';
  readonly from: string;
  readonly to: string;
  /** SVG path data (d3-shape link). */
  readonly d: string;
  /** Arrives at a hop whose addresses were rewritten / that is a real drop. */
  readonly nat: boolean;
  readonly drop: boolean;
  /** Seq of the hop it arrives at (for test ids); -1 for the request→reply turn. */
  readonly toSeq: number;
}

export interface Lane {
  readonly name: string;
  readonly index: number;
  readonly x: number;
  readonly w: number;
}

export interface Band {
  readonly path: PathKind;
  readonly y: number;
  readonly h: number;
}

export interface DiagramLayout {
  readonly width: number;
  readonly height: number;
  readonly headerH: number;
  readonly lanes: readonly Lane[];
  readonly bands: readonly Band[];
  readonly hops: readonly HopBox[];
  /** In travel order: request arrows, the turn, reply arrows — the packet animation follows this. */
  readonly arrows: readonly Arrow[];
  /** The hop the animation starts on. */
  readonly firstHop?: string;
}

export const GEOM = {
  laneW: 300,
  lanePad: 14,
  marginL: 48,
  marginR: 12,
  headerH: 76,
  bandPad: 22,
  bandGap: 40,
  boxGap: 30,
  baseH: 58,
  lineH: 21,
  /** Characters of 14px monospace that fit a box line. */
  lineChars: 31,
} as const;

const hopKey = (path: PathKind, seq: number): string => `${path}:${seq}`;

function toneOf(h: Hop): HopTone {
  if (h.drop?.isRealDrop) return 'drop';
  if (h.verdict === 'drop') return 'nf-drop';
  if (h.dir === 'end') return 'end';
  if (h.nat) return 'nat';
  return 'normal';
}

/** The box's lines: why it went here first (compact, one line), then how it is known, its programs. */
function linesOf(h: Hop): HopBox['lines'] {
  const out: { text: string; role: LineRole }[] = [];
  if (h.reason) out.push({ text: h.reason, role: 'reason' });
  for (const l of inferredLines(h)) out.push({ text: l, role: 'inferred' });
  for (const p of h.programs ?? [])
    out.push({ text: programLine(p), role: p.verdict === 'dropped' ? 'prog-drop' : 'prog' });
  if (h.nat) for (const l of natParts(h.nat)) out.push({ text: l, role: 'nat' });
  const nf = nfLine(h);
  if (nf) out.push({ text: nf, role: 'nf' });
  const end = endLine(h);
  if (end) out.push({ text: end, role: h.drop?.isRealDrop ? 'drop' : 'end' });
  const where = h.drop && dropWhereText(h.drop);
  if (where) out.push({ text: where, role: 'where' });
  return out;
}

/** Arrows in travel order: request hop to hop, the turn to the reply, reply hop to hop. */
function arrowsOf(req: readonly HopBox[], rep: readonly HopBox[]): Arrow[] {
  const arrows: Arrow[] = [];
  const hLink = linkHorizontal<{ source: [number, number]; target: [number, number] }, [number, number]>();
  const vLink = linkVertical<{ source: [number, number]; target: [number, number] }, [number, number]>();
  const connect = (a: HopBox, b: HopBox, path: Arrow['path']): void => {
    let d: string | null;
    if (path === 'turn' || a.laneIndex === b.laneIndex) {
      d = vLink({ source: [a.x + a.w / 2, a.y + a.h], target: [b.x + b.w / 2, b.y] });
    } else if (b.laneIndex > a.laneIndex) {
      d = hLink({ source: [a.x + a.w, a.y + a.h / 2], target: [b.x, b.y + b.h / 2] });
    } else {
      d = hLink({ source: [a.x, a.y + a.h / 2], target: [b.x + b.w, b.y + b.h / 2] });
    }
    arrows.push({
      key: `${a.key}->${b.key}`,
      path,
      from: a.key,
      to: b.key,
      d: d ?? '',
      nat: path !== 'turn' && b.hop.nat !== undefined,
      drop: path !== 'turn' && b.hop.drop?.isRealDrop === true,
      toSeq: path === 'turn' ? -1 : b.hop.seq,
    });
  };
  for (let i = 1; i < req.length; i++) connect(req[i - 1] as HopBox, req[i] as HopBox, 'request');
  const lastReq = req[req.length - 1];
  const firstRep = rep[0];
  if (lastReq && firstRep) connect(lastReq, firstRep, 'turn');
  for (let i = 1; i < rep.length; i++) connect(rep[i - 1] as HopBox, rep[i] as HopBox, 'reply');
  return arrows;
}

/** Lanes are the server's (`j.lanes`, path order): the browser does not work them out again. */
export function layoutJourney(j: Journey, geom: typeof GEOM = GEOM): DiagramLayout {
  const names = j.lanes;
  const width = geom.marginL + Math.max(1, names.length) * geom.laneW + geom.marginR;
  const x = scaleBand<string>()
    .domain(names)
    .range([geom.marginL, geom.marginL + names.length * geom.laneW])
    .paddingInner(0);
  const lanes: Lane[] = names.map((name, index) => ({ name, index, x: x(name) ?? geom.marginL, w: x.bandwidth() }));
  const laneIndex = new Map(names.map((n, i) => [n, i]));

  const hops: HopBox[] = [];
  const perPath = new Map<PathKind, HopBox[]>();
  const bands: Band[] = [];
  let top = geom.headerH;
  const paths: [PathKind, readonly Hop[]][] = [['request', j.hops]];
  if (j.reply && j.reply.hops.length > 0) paths.push(['reply', j.reply.hops]);

  for (const [path, list] of paths) {
    // Each lane stacks its own hops; the band is as tall as its tallest stack.
    const cursor = new Map<string, number>();
    const boxes: HopBox[] = [];
    perPath.set(path, boxes);
    let bottom = top + geom.bandPad;
    for (const hop of list) {
      const li = laneIndex.get(hop.netns);
      const lane = li === undefined ? undefined : lanes[li];
      if (li === undefined || !lane) continue; // the server puts every hop's namespace in lanes
      const lines = linesOf(hop);
      const h = geom.baseH + lines.length * geom.lineH;
      const y = cursor.get(hop.netns) ?? top + geom.bandPad;
      cursor.set(hop.netns, y + h + geom.boxGap);
      bottom = Math.max(bottom, y + h);
      boxes.push({
        key: hopKey(path, hop.seq),
        path,
        hop,
        laneIndex: li,
        x: lane.x + geom.lanePad,
        y,
        w: lane.w - 2 * geom.lanePad,
        h,
        tone: toneOf(hop),
        inferred: hop.inferred !== undefined,
        lines,
      });
    }
    hops.push(...boxes);
    const h = bottom + geom.bandPad - top;
    bands.push({ path, y: top, h });
    top += h + geom.bandGap;
  }

  const arrows = arrowsOf(perPath.get('request') ?? [], perPath.get('reply') ?? []);

  const height = bands.length > 0 ? top - geom.bandGap + 8 : geom.headerH + 40;
  const first = hops[0];
  return { width, height, headerH: geom.headerH, lanes, bands, hops, arrows, ...(first && { firstHop: first.key }) };
}
