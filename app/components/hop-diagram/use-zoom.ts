'use client';
// d3-zoom does the gesture math; React applies the resulting transform to the diagram's <g>.
import { select, zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from 'd3';
import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';

export function useZoom(svgRef: RefObject<SVGSVGElement | null>): { transform: ZoomTransform; reset: () => void } {
  const [transform, setTransform] = useState<ZoomTransform>(zoomIdentity);
  const behavior = useRef<ZoomBehavior<SVGSVGElement, unknown> | null>(null);

  useEffect(() => {
    const svg = svgRef.current;
    if (!svg) return;
    const z = zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.4, 5])
      // Plain wheel scrolls the page; ctrl/⌘+wheel or pinch zooms. Drag pans, double-click zooms in.
      .filter((e: Event) => {
        if (e.type === 'wheel') return (e as WheelEvent).ctrlKey || (e as WheelEvent).metaKey;
        return !(e as MouseEvent).button;
      })
      // d3 speeds ctrl+wheel up 10x (it assumes a pinch); here ctrl is the plain zoom gesture.
      .wheelDelta((e: WheelEvent) => -e.deltaY * (e.deltaMode === 1 ? 0.05 : e.deltaMode ? 1 : 0.002))
      .on('zoom', (e: { transform: ZoomTransform }) => setTransform(e.transform));
    behavior.current = z;
    const sel = select(svg);
    sel.call(z);
    return () => {
      sel.on('.zoom', null);
      behavior.current = null;
    };
  }, [svgRef]);

  const reset = useCallback(() => {
    const svg = svgRef.current;
    if (svg && behavior.current) select(svg).call(behavior.current.transform, zoomIdentity);
  }, [svgRef]);

  return { transform, reset };
}
