'use client';
// d3-zoom owns the pan/zoom gestures; React owns the SVG. The transform lives in React state and is
// applied to one <g>, so nothing else in the drawing is touched by d3.
import { select, zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from 'd3';
import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';

export interface SvgZoomOptions {
  readonly minScale: number;
  readonly maxScale: number;
  /**
   * Plain wheel scrolls the page and ctrl/⌘+wheel (or pinch) zooms: for drawings inside a scrolling page.
   * Otherwise the wheel always zooms.
   */
  readonly wheelNeedsModifier?: boolean;
  /** Double-click zooms in; off where double-clicking an item is its natural "open" gesture. */
  readonly dblclickZoom?: boolean;
}

export function useSvgZoom(
  svgRef: RefObject<SVGSVGElement | null>,
  { minScale, maxScale, wheelNeedsModifier = false, dblclickZoom = true }: SvgZoomOptions,
): {
  transform: ZoomTransform;
  reset: () => void;
  /** Fits a width×height drawing into the view; false while the view has no size yet (a hidden tab). */
  fit: (width: number, height: number) => boolean;
  /** Moves the view to `t` (in `ms`, eased), as a gesture would: the user can pan on from there. */
  apply: (t: ZoomTransform, ms?: number) => void;
} {
  const [transform, setTransform] = useState<ZoomTransform>(zoomIdentity);
  const behavior = useRef<ZoomBehavior<SVGSVGElement, unknown> | null>(null);

  useEffect(() => {
    const svg = svgRef.current;
    if (!svg) return;
    const z = zoom<SVGSVGElement, unknown>()
      .scaleExtent([minScale, maxScale])
      .on('zoom', (e: { transform: ZoomTransform }) => setTransform(e.transform));
    if (wheelNeedsModifier) {
      z.filter((e: Event) => {
        if (e.type === 'wheel') return (e as WheelEvent).ctrlKey || (e as WheelEvent).metaKey;
        return !(e as MouseEvent).button;
      })
        // d3 speeds ctrl+wheel up 10x (it assumes a pinch); here ctrl is the plain zoom gesture.
        .wheelDelta((e: WheelEvent) => -e.deltaY * (e.deltaMode === 1 ? 0.05 : e.deltaMode ? 1 : 0.002));
    }
    behavior.current = z;
    const sel = select(svg).call(z);
    if (!dblclickZoom) sel.on('dblclick.zoom', null);
    return () => {
      sel.on('.zoom', null);
      behavior.current = null;
    };
  }, [svgRef, minScale, maxScale, wheelNeedsModifier, dblclickZoom]);

  const reset = useCallback(() => {
    const svg = svgRef.current;
    if (svg && behavior.current) select(svg).call(behavior.current.transform, zoomIdentity);
  }, [svgRef]);

  const fit = useCallback(
    (width: number, height: number) => {
      const svg = svgRef.current;
      const z = behavior.current;
      if (!svg || !z || width <= 0 || height <= 0) return false;
      const { width: vw, height: vh } = svg.getBoundingClientRect();
      if (vw < 100 || vh < 100) return false;
      const margin = 40;
      // Never blow a small drawing up past 1.25x: text stays the size it was designed at.
      const k = Math.min(1.25, (vw - 2 * margin) / width, (vh - 2 * margin) / height);
      select(svg).call(z.transform, zoomIdentity.translate((vw - width * k) / 2, margin).scale(k));
      return true;
    },
    [svgRef],
  );

  const apply = useCallback(
    (t: ZoomTransform, ms = 0) => {
      const svg = svgRef.current;
      const z = behavior.current;
      if (!svg || !z) return;
      if (ms > 0) select(svg).transition().duration(ms).call(z.transform, t);
      else select(svg).call(z.transform, t);
    },
    [svgRef],
  );

  return { transform, reset, fit, apply };
}
