'use client';
// The MAC/veth map: every namespace as a box (pods under their node), veth pairs as cables, bridges with
// their ports. Click an interface, a bridge or a namespace for its tables; search a MAC or IP to light up
// every interface, FDB and ARP entry that holds it. Live: the `topology` watch, while shown.
import { tx } from '../../i18n/current';
import { useT } from '../../i18n/use-t';
import { useEffect, useMemo, useRef, useState, type RefObject } from 'react';
import type { Topology } from '../../../server/protocol/topology';
import { useSocket } from '../../lib/socket';
import { useLiveTopology } from '../../lib/topology';
import { useSvgZoom } from '../../lib/use-svg-zoom';
import { useProjector } from '../projector/projector-context';
import { CgroupLine, machineWide } from './bpf-badges';
import { DetailPanel, type Selection } from './detail-panel';
import { layoutTopology, type MapLayout } from './layout';
import { MapToolbar } from './map-toolbar';
import { MapGraph } from './ns-box';
import { litKey, parseNeedle, search, type SearchHits } from './search';
import { macMapIds } from './test-ids';

export interface MacMapProps {
  /** Open the capture panel on this interface. */
  onCapture?: (netns: string, iface: string) => void;
  /** Start a follow from this pod. */
  onSelectPod?: (netns: string) => void;
}

export type LoadState =
  { readonly kind: 'loading' } | { readonly kind: 'ready' } | { readonly kind: 'error'; readonly error: string };

export function MacMap(actions: MacMapProps) {
  const { state } = useSocket();
  // The page keeps hidden tabs mounted: watch (and make the server poll) only while the map is shown.
  const rootRef = useRef<HTMLDivElement | null>(null);
  const [shown, setShown] = useState(true);
  useEffect(() => {
    const el = rootRef.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setShown(el.getClientRects().length > 0));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const { state: topo, error } = useLiveTopology(shown);
  const load: LoadState = error ? { kind: 'error', error } : topo ? { kind: 'ready' } : { kind: 'loading' };

  return (
    <div ref={rootRef} className="h-full">
      <MacMapView topo={topo} load={load} connection={state} {...actions} />
    </div>
  );
}

export interface MacMapViewProps extends MacMapProps {
  topo: Topology | undefined;
  load: LoadState;
  connection: string;
  /** Initial selection (tests and static renders). */
  initialSelection?: Selection;
  initialQuery?: string;
}

/** Fits once, as soon as the view has a size: the tab may mount hidden, and the first topology may arrive before or after that. */
function useFitOnce(
  svgRef: RefObject<SVGSVGElement | null>,
  layout: MapLayout | undefined,
  fit: (w: number, h: number) => boolean,
): void {
  const fitted = useRef(false);
  const [viewSize, setViewSize] = useState(0);
  useEffect(() => {
    const svg = svgRef.current;
    if (!svg || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver((entries) => setViewSize(entries[0]?.contentRect.width ?? 0));
    ro.observe(svg);
    return () => ro.disconnect();
  }, [svgRef]);
  useEffect(() => {
    if (layout && !fitted.current && layout.width > 0) fitted.current = fit(layout.width, layout.height);
  }, [layout, fit, viewSize]);
}

/** The selection, kept only while what it points at exists, and the key of its veth peer. */
function useSelection(topo: Topology | undefined, initial: Selection | undefined) {
  const [selection, setSelection] = useState<Selection | undefined>(initial);
  const selected = useMemo(() => {
    if (!topo || !selection) return undefined;
    const ns = topo.namespaces.find((n) => n.name === selection.netns);
    if (!ns) return undefined;
    if (selection.kind === 'ns') return selection;
    return ns.interfaces.some((f) => f.name === selection.ifname) ? selection : undefined;
  }, [topo, selection]);
  const peerKey = useMemo(() => {
    if (!topo || selected?.kind !== 'iface') return undefined;
    const f = topo.namespaces
      .find((n) => n.name === selected.netns)
      ?.interfaces.find((i) => i.name === selected.ifname);
    return f?.peer ? litKey(f.peer.netns, f.peer.ifname) : undefined;
  }, [topo, selected]);
  return { selected, setSelection, peerKey };
}

/** The search box's text, what it parses to, and what it finds in `topo`. */
function useSearch(topo: Topology | undefined, initialQuery: string | undefined) {
  const [query, setQuery] = useState(initialQuery ?? '');
  const needle = useMemo(() => parseNeedle(query), [query]);
  const hits: SearchHits | undefined = useMemo(
    () => (topo && needle ? search(topo, needle) : undefined),
    [topo, needle],
  );
  return { query, setQuery, needle, hits };
}

/** The map without the socket: everything is drawn from `topo`. */
export function MacMapView({ topo, load, connection, initialSelection, initialQuery, ...actions }: MacMapViewProps) {
  const t = useT('macMap.macMap');
  const { selected, setSelection, peerKey } = useSelection(topo, initialSelection);
  const { query, setQuery, needle, hits } = useSearch(topo, initialQuery);
  const svgRef = useRef<SVGSVGElement | null>(null);
  const { transform, fit } = useSvgZoom(svgRef, { minScale: 0.1, maxScale: 4, dblclickZoom: false });
  const layout = useMemo(() => (topo ? layoutTopology(topo) : undefined), [topo]);
  useFitOnce(svgRef, layout, fit);
  const cgroupProgs = useMemo(() => (topo ? machineWide(topo) : []), [topo]);
  // The interface a journey's step-through is on (Follow tab) is lit here too.
  const { focus } = useProjector();
  const highlight = focus ? litKey(focus.netns, focus.ifname) : undefined;
  const counts =
    topo && layout ? tx('macMap.macMap.counts', { ns: topo.namespaces.length, pairs: layout.cables.length }) : '';

  return (
    <div
      data-testid={macMapIds.root}
      className="flex h-[calc(100vh-4.5rem)] min-h-[600px] flex-col bg-slate-950 text-slate-100"
    >
      <MapToolbar
        query={query}
        setQuery={setQuery}
        needle={needle}
        hits={hits}
        onFit={() => layout && fit(layout.width, layout.height)}
        state={connection}
        load={load}
        counts={counts}
        durationMs={topo?.durationMs ?? 0}
      />
      {topo && <Warnings warnings={topo.warnings} />}
      {topo && <CgroupLine topo={topo} />}
      <div className="flex min-h-0 flex-1">
        <svg
          ref={svgRef}
          data-testid={macMapIds.svg}
          className="min-w-0 flex-1 cursor-grab select-none active:cursor-grabbing"
          role="img"
          aria-label={t('macAndVethMap')}
        >
          <g transform={transform.toString()}>
            <MapGraph
              layout={layout}
              highlight={highlight}
              selected={selected}
              peerKey={peerKey}
              hits={hits}
              cgroupProgs={cgroupProgs}
              onSelect={setSelection}
            />
          </g>
        </svg>
        <aside className="w-[30rem] shrink-0 overflow-y-auto border-l border-slate-800 bg-slate-900/80">
          {topo && <DetailPanel topo={topo} selection={selected} hits={hits} onSelect={setSelection} {...actions} />}
        </aside>
      </div>
    </div>
  );
}

/** What discovery could not do (e.g. the Docker socket exists but cannot be read); the first three. */
function Warnings({ warnings }: { warnings: readonly string[] }) {
  if (warnings.length === 0) return null;
  return (
    <div className="border-b border-amber-700/50 bg-amber-950/40 px-5 py-2 text-base text-amber-200">
      {warnings.slice(0, 3).map((w) => (
        <div key={w}>⚠ {w}</div>
      ))}
    </div>
  );
}
