'use client';
// d3-zoom owns pan/zoom gestures; React owns the SVG. The transform lives in React state and is applied
// to one <g>, so nothing else in the map is touched by d3.
import { select, zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from 'd3';
import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';

export function useMapZoom(svgRef: RefObject<SVGSVGElement | null>): {
  transform: ZoomTransform;
  /** Fits the map into the view; false while the view has no size yet (e.g. its tab is hidden). */
  fit: (width: number, height: number) => boolean;
} {
  const [transform, setTransform] = useState<ZoomTransform>(zoomIdentity);
  const behavior = useRef<ZoomBehavior<SVGSVGElement, unknown> | null>(null);

  useEffect(() => {
    const svg = svgRef.current;
    if (!svg) return;
    const z = zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.1, 4])
      .on('zoom', (e: { transform: ZoomTransform }) => setTransform(e.transform));
    behavior.current = z;
    // No double-click zoom: double-clicking a row is a natural "open it" gesture on a projector.
    select(svg).call(z).on('dblclick.zoom', null);
    return () => {
      select(svg).on('.zoom', null);
      behavior.current = null;
    };
  }, [svgRef]);

  const fit = useCallback(
    (width: number, height: number) => {
      const svg = svgRef.current;
      const z = behavior.current;
      if (!svg || !z || width <= 0 || height <= 0) return false;
      const { width: vw, height: vh } = svg.getBoundingClientRect();
      if (vw < 100 || vh < 100) return false;
      const margin = 40;
      // Never blow a small map up past 1.25x: text stays the size it was designed at.
      const k = Math.min(1.25, (vw - 2 * margin) / width, (vh - 2 * margin) / height);
      const t = zoomIdentity.translate((vw - width * k) / 2, margin).scale(k);
      select(svg).call(z.transform, t);
      return true;
    },
    [svgRef],
  );

  return { transform, fit };
}
