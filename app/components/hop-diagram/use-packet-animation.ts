'use client';
// A dot that travels the journey hop to hop, for the projector. The arrows React drew are the track
// (SVGPathElement.getPointAtLength); the dot's position is set per animation frame on the element
// React rendered, so the diagram itself re-renders only when the dot reaches a new hop.
import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import type { DiagramLayout } from './layout';

const TRAVEL_MS = 450;
const DWELL_MS = 260;

export interface PacketAnimation {
  /** Key of the hop the dot is on (or heading to). */
  readonly active: string | undefined;
  readonly playing: boolean;
  readonly replay: () => void;
}

interface Seg {
  readonly arrow: DiagramLayout['arrows'][number];
  readonly el: SVGPathElement;
  readonly len: number;
}

/** Where the dot is `t` ms into a run: a point, the path it is on, and the hops it is at, in order. */
function dotAt(
  t: number,
  segs: readonly Seg[],
  home: { x: number; y: number; path: string; key: string },
  travel: number,
  dwell: number,
): { x: number; y: number; path: string; at: readonly string[] } | undefined {
  if (t < dwell || segs.length === 0) return { x: home.x, y: home.y, path: home.path, at: [home.key] };
  const k = Math.min(segs.length - 1, Math.floor((t - dwell) / (travel + dwell)));
  const seg = segs[k];
  if (!seg) return undefined;
  const within = t - dwell - k * (travel + dwell);
  const f = Math.min(1, within / travel);
  // ease in-out so the dot visibly leaves and arrives
  const e = f < 0.5 ? 2 * f * f : 1 - (-2 * f + 2) ** 2 / 2;
  const pt = seg.el.getPointAtLength(seg.len * e);
  const path = seg.arrow.path === 'turn' ? 'reply' : seg.arrow.path;
  return { x: pt.x, y: pt.y, path, at: [f < 1 ? seg.arrow.from : seg.arrow.to, ...(f >= 0.5 ? [seg.arrow.to] : [])] };
}

export function usePacketAnimation(
  layout: DiagramLayout,
  paths: RefObject<Map<string, SVGPathElement>>,
  dot: RefObject<SVGCircleElement | null>,
  /** Plays once each time this changes (e.g. the journey id when its final version arrives). */
  autoKey: string | undefined,
  /** Time stretch: 2 = half speed. Read when a run starts. */
  slow = 1,
): PacketAnimation {
  const slowRef = useRef(slow);
  slowRef.current = slow;
  const [run, setRun] = useState(0);
  const [active, setActive] = useState<string | undefined>();
  const [playing, setPlaying] = useState(false);
  const lastAuto = useRef<string | undefined>(undefined);
  const lastRun = useRef(0);

  useEffect(() => {
    if (autoKey !== undefined && autoKey !== lastAuto.current) {
      lastAuto.current = autoKey;
      setRun((r) => r + 1);
    }
  }, [autoKey]);

  useEffect(() => {
    const el = dot.current;
    if (!el) return;
    if (run === lastRun.current) {
      // The journey changed under the dot (more hops arrived): park it until the next play.
      el.style.opacity = '0';
      setPlaying(false);
      return;
    }
    lastRun.current = run;
    const first = layout.hops.find((h) => h.key === layout.firstHop);
    if (!first) return;
    const segs: Seg[] = layout.arrows.flatMap((a) => {
      const p = paths.current?.get(a.key);
      return p ? [{ arrow: a, el: p, len: p.getTotalLength() }] : [];
    });
    const place = (x: number, y: number, path: string): void => {
      el.setAttribute('cx', String(x));
      el.setAttribute('cy', String(y));
      el.setAttribute('data-path', path);
      el.style.opacity = '1';
    };
    const start0 = segs[0]?.el.getPointAtLength(0);
    const home = start0 ? { x: start0.x, y: start0.y } : { x: first.x + first.w / 2, y: first.y + first.h / 2 };
    const TRAVEL = TRAVEL_MS * slowRef.current;
    const DWELL = DWELL_MS * slowRef.current;
    const total = DWELL + segs.length * (TRAVEL + DWELL);
    let raf = 0;
    let shown: string | undefined;
    const show = (key: string): void => {
      if (shown !== key) {
        shown = key;
        setActive(key);
      }
    };
    const t0 = performance.now();
    setPlaying(true);
    const frame = (now: number): void => {
      const t = now - t0;
      const d = dotAt(t, segs, { ...home, path: first.path, key: first.key }, TRAVEL, DWELL);
      if (d) {
        place(d.x, d.y, d.path);
        for (const k of d.at) show(k);
      }
      if (t < total) raf = requestAnimationFrame(frame);
      else setPlaying(false);
    };
    raf = requestAnimationFrame(frame);
    return () => cancelAnimationFrame(raf);
  }, [run, layout, paths, dot]);

  const replay = useCallback(() => setRun((r) => r + 1), []);
  return { active, playing, replay };
}
