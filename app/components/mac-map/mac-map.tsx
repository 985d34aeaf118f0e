'use client';
// The MAC/veth map: every namespace as a box (pods under their node), veth pairs as cables, bridges with
// their ports. Click an interface, a bridge or a namespace for its tables; search a MAC or IP to light up
// every interface, FDB and ARP entry that holds it. Live: the server pushes `topology:update`.
import { useEffect, useMemo, useRef, useState } from 'react';
import { Topology, type Iface, type NamespaceKind } from '../../../server/protocol/topology';
import { useSocket } from '../../lib/socket';
import { HEAD_H, ROW_H, layoutTopology, type BoxLayout } from './layout';
import { litKey, parseNeedle, search, type SearchHits } from './search';
import { macMapIds } from './test-ids';
import { useSvgZoom } from '../../lib/use-svg-zoom';
import { DetailPanel, type Selection } from './detail-panel';

export interface MacMapProps {
  /** Open the capture panel on this interface. */
  onCapture?: (netns: string, iface: string) => void;
  /** Start a follow from this pod. */
  onSelectPod?: (netns: string) => void;
}

const KIND_STYLE: Record<NamespaceKind, { stroke: string; fill: string; badge: string }> = {
  host: { stroke: '#94a3b8', fill: '#1e293b', badge: '#64748b' },
  node: { stroke: '#38bdf8', fill: '#0c2438', badge: '#0284c7' },
  pod: { stroke: '#34d399', fill: '#0b2a22', badge: '#059669' },
  container: { stroke: '#a78bfa', fill: '#221a3d', badge: '#7c3aed' },
  netns: { stroke: '#cbd5e1', fill: '#1e293b', badge: '#475569' },
};

export type LoadState =
  { readonly kind: 'loading' } | { readonly kind: 'ready' } | { readonly kind: 'error'; readonly error: string };

export function MacMap({ onCapture, onSelectPod }: MacMapProps) {
  const { socket, state } = useSocket();
  const [topo, setTopo] = useState<Topology | undefined>();
  const [load, setLoad] = useState<LoadState>({ kind: 'loading' });

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

  useEffect(() => {
    if (!shown) return;
    // Parse at the boundary: a malformed push is reported, never rendered half-way.
    const accept = (raw: unknown): void => {
      const p = Topology.safeParse(raw);
      if (p.success) {
        setTopo(p.data);
        setLoad({ kind: 'ready' });
      } else {
        setLoad({ kind: 'error', error: 'the server sent a topology this page cannot read' });
      }
    };
    const watch = (): void => {
      socket.emit('topology:watch', {}, (r) => {
        if (r.ok) accept(r.value);
        else setLoad({ kind: 'error', error: r.error });
      });
    };
    socket.on('topology:update', accept);
    socket.on('connect', watch);
    if (socket.connected) watch();
    return () => {
      socket.off('topology:update', accept);
      socket.off('connect', watch);
      socket.emit('topology:unwatch');
    };
  }, [socket, shown]);

  return (
    <div ref={rootRef} className="h-full">
      <MacMapView
        topo={topo}
        load={load}
        connection={state}
        {...(onCapture ? { onCapture } : {})}
        {...(onSelectPod ? { onSelectPod } : {})}
      />
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

/** The map without the socket: everything is drawn from `topo`. */
export function MacMapView({
  topo,
  load,
  connection,
  onCapture,
  onSelectPod,
  initialSelection,
  initialQuery,
}: MacMapViewProps) {
  const state = connection;
  const [selection, setSelection] = useState<Selection | undefined>(initialSelection);
  const [query, setQuery] = useState(initialQuery ?? '');
  const svgRef = useRef<SVGSVGElement | null>(null);
  const { transform, fit } = useSvgZoom(svgRef, { minScale: 0.1, maxScale: 4, dblclickZoom: false });
  const fitted = useRef(false);

  const layout = useMemo(() => (topo ? layoutTopology(topo) : undefined), [topo]);

  // Fit once, as soon as the view has a size: the tab may mount hidden, and the first topology may
  // arrive before or after that.
  const [viewSize, setViewSize] = useState(0);
  useEffect(() => {
    const svg = svgRef.current;
    if (!svg || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver((entries) => setViewSize(entries[0]?.contentRect.width ?? 0));
    ro.observe(svg);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    if (layout && !fitted.current && layout.width > 0) fitted.current = fit(layout.width, layout.height);
  }, [layout, fit, viewSize]);

  const needle = useMemo(() => parseNeedle(query), [query]);
  const hits: SearchHits | undefined = useMemo(
    () => (topo && needle ? search(topo, needle) : undefined),
    [topo, needle],
  );

  // Keep the selection only while what it points at exists.
  const selected = useMemo(() => {
    if (!topo || !selection) return undefined;
    const ns = topo.namespaces.find((n) => n.name === selection.netns);
    if (!ns) return undefined;
    if (selection.kind === 'ns') return selection;
    return ns.interfaces.some((f) => f.name === selection.ifname) ? selection : undefined;
  }, [topo, selection]);

  const peerOfSelected = useMemo(() => {
    if (!topo || selected?.kind !== 'iface') return undefined;
    const f = topo.namespaces
      .find((n) => n.name === selected.netns)
      ?.interfaces.find((i) => i.name === selected.ifname);
    return f?.peer ? litKey(f.peer.netns, f.peer.ifname) : undefined;
  }, [topo, selected]);

  const counts = topo && layout ? `${topo.namespaces.length} namespaces · ${layout.cables.length} veth pairs` : '';

  return (
    <div
      data-testid={macMapIds.root}
      className="flex h-[calc(100vh-4.5rem)] min-h-[600px] flex-col bg-slate-950 text-slate-100"
    >
      <div className="flex flex-wrap items-center gap-4 border-b border-slate-800 px-5 py-3">
        <label className="flex items-center gap-3 text-lg">
          <span className="font-semibold text-slate-200">Where is this MAC or IP?</span>
          <input
            data-testid={macMapIds.search}
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            placeholder="02:42:ac:12:00:05 or 10.244.1.2"
            spellCheck={false}
            className="w-80 rounded border border-slate-600 bg-slate-900 px-3 py-2 font-mono text-lg text-slate-100 placeholder:text-slate-500 focus:border-amber-400 focus:outline-none"
          />
        </label>
        {query.trim() !== '' && (
          <span className="text-base text-slate-300" data-testid={macMapIds.searchResults + '-count'}>
            {needle === undefined
              ? 'not a MAC or an IP'
              : hits
                ? `${hits.ifaces.length} interfaces · ${hits.fdb.length} FDB · ${hits.neighbors.length} ARP`
                : ''}
          </span>
        )}
        <button
          data-testid={macMapIds.fitButton}
          onClick={() => layout && fit(layout.width, layout.height)}
          className="rounded bg-slate-800 px-3 py-2 text-base hover:bg-slate-700"
        >
          Fit
        </button>
        <span data-testid={macMapIds.status} data-state={load.kind} className="ml-auto text-base text-slate-400">
          {state !== 'connected' ? (
            `server ${state}`
          ) : load.kind === 'loading' ? (
            'discovering…'
          ) : load.kind === 'error' ? (
            <span className="text-red-400">{load.error}</span>
          ) : (
            `${counts} · ${topo?.durationMs ?? 0} ms`
          )}
        </span>
      </div>
      {topo && topo.warnings.length > 0 && (
        <div className="border-b border-amber-700/50 bg-amber-950/40 px-5 py-2 text-base text-amber-200">
          {topo.warnings.slice(0, 3).map((w) => (
            <div key={w}>⚠ {w}</div>
          ))}
        </div>
      )}
      <div className="flex min-h-0 flex-1">
        <svg
          ref={svgRef}
          data-testid={macMapIds.svg}
          className="min-w-0 flex-1 cursor-grab select-none active:cursor-grabbing"
          role="img"
          aria-label="MAC and veth map"
        >
          <g transform={transform.toString()}>
            {layout?.cables.map((c) => {
              const ka = litKey(c.a.netns, c.a.ifname);
              const kb = litKey(c.b.netns, c.b.ifname);
              const sel =
                selected?.kind === 'iface' &&
                (ka === litKey(selected.netns, selected.ifname) || kb === litKey(selected.netns, selected.ifname));
              const lit = hits?.lit.has(ka) || hits?.lit.has(kb);
              return (
                <g key={c.key}>
                  <path d={c.path} fill="none" stroke="#020617" strokeWidth={9} />
                  <path
                    d={c.path}
                    fill="none"
                    stroke={sel ? '#f8fafc' : lit ? '#fbbf24' : '#64748b'}
                    strokeWidth={sel || lit ? 5 : 3.5}
                    strokeLinecap="round"
                  />
                  <circle cx={c.a.x} cy={c.a.y} r={5} fill="#94a3b8" />
                  <circle cx={c.b.x} cy={c.b.y} r={5} fill="#94a3b8" />
                </g>
              );
            })}
            {layout?.boxes.map((b) => (
              <NsBox
                key={b.ns.name}
                box={b}
                selected={selected}
                peerKey={peerOfSelected}
                lit={hits?.lit}
                arpHit={!!hits?.neighbors.some((h) => h.netns === b.ns.name)}
                onSelect={setSelection}
              />
            ))}
          </g>
        </svg>
        <aside className="w-[30rem] shrink-0 overflow-y-auto border-l border-slate-800 bg-slate-900/80">
          {topo && (
            <DetailPanel
              topo={topo}
              selection={selected}
              hits={hits}
              onSelect={setSelection}
              {...(onCapture ? { onCapture } : {})}
              {...(onSelectPod ? { onSelectPod } : {})}
            />
          )}
        </aside>
      </div>
    </div>
  );
}

function NsBox({
  box,
  selected,
  peerKey,
  lit,
  arpHit,
  onSelect,
}: {
  box: BoxLayout;
  selected: Selection | undefined;
  peerKey: string | undefined;
  lit: ReadonlySet<string> | undefined;
  arpHit: boolean;
  onSelect: (s: Selection) => void;
}) {
  const { ns } = box;
  const st = KIND_STYLE[ns.kind];
  const nsSel = selected?.kind === 'ns' && selected.netns === ns.name;
  const subtitle = [ns.kind, ns.node ? `on ${ns.node}` : '', ns.container ? ns.container.image : '']
    .filter(Boolean)
    .join(' · ');
  return (
    <g data-testid={macMapIds.namespace(ns.name)} id={macMapIds.namespace(ns.name)} data-kind={ns.kind}>
      <rect
        x={box.x}
        y={box.y}
        width={box.w}
        height={box.h}
        rx={10}
        fill={st.fill}
        stroke={nsSel ? '#f8fafc' : arpHit ? '#fbbf24' : st.stroke}
        strokeWidth={nsSel || arpHit ? 4 : 2}
      />
      <g
        className="cursor-pointer"
        role="button"
        tabIndex={0}
        aria-label={`namespace ${ns.name}`}
        onClick={() => onSelect({ kind: 'ns', netns: ns.name })}
        onKeyDown={(e) => e.key === 'Enter' && onSelect({ kind: 'ns', netns: ns.name })}
      >
        <rect x={box.x} y={box.y} width={box.w} height={HEAD_H - 4} rx={10} fill="transparent" />
        <text x={box.x + 14} y={box.y + 27} fontSize={20} fontWeight={700} fill="#f8fafc">
          {ns.name.length > 22 ? ns.name.slice(0, 21) + '…' : ns.name}
        </text>
        <text x={box.x + box.w - 12} y={box.y + 26} fontSize={14} textAnchor="end" fill={st.stroke}>
          {subtitle.length > 24 ? subtitle.slice(0, 23) + '…' : subtitle}
        </text>
      </g>
      {box.rows.length === 0 && (
        <text x={box.x + 14} y={box.y + HEAD_H + 20} fontSize={15} fill="#94a3b8">
          no interfaces
        </text>
      )}
      {box.rows.map((r) => (
        <IfaceRow
          key={r.iface.name}
          netns={ns.name}
          iface={r.iface}
          x={box.x + 8 + r.indent * 22}
          y={r.y}
          w={box.w - 16 - r.indent * 22}
          indent={r.indent}
          selected={selected?.kind === 'iface' && selected.netns === ns.name && selected.ifname === r.iface.name}
          isPeer={peerKey === litKey(ns.name, r.iface.name)}
          lit={!!lit?.has(litKey(ns.name, r.iface.name))}
          onSelect={onSelect}
        />
      ))}
    </g>
  );
}

function IfaceRow({
  netns,
  iface,
  x,
  y,
  w,
  indent,
  selected,
  isPeer,
  lit,
  onSelect,
}: {
  netns: string;
  iface: Iface;
  x: number;
  y: number;
  w: number;
  indent: number;
  selected: boolean;
  isPeer: boolean;
  lit: boolean;
  onSelect: (s: Selection) => void;
}) {
  const bridge = iface.kind === 'bridge';
  const v4 = iface.addrs.find((a) => !a.includes(':'));
  const down = !iface.up || iface.state === 'DOWN' || iface.state === 'LOWERLAYERDOWN';
  const fill = lit ? '#78350f' : selected ? '#334155' : bridge ? '#3b2a0a' : '#0f172a';
  const stroke = lit ? '#fbbf24' : selected ? '#f8fafc' : isPeer ? '#e2e8f0' : bridge ? '#f59e0b' : '#334155';
  return (
    <g
      data-testid={macMapIds.iface(netns, iface.name)}
      id={macMapIds.iface(netns, iface.name)}
      data-lit={lit ? 'true' : 'false'}
      data-up={down ? 'false' : 'true'}
      className="cursor-pointer"
      role="button"
      tabIndex={0}
      aria-label={`${iface.kind} ${iface.name} in ${netns}`}
      onClick={(e) => {
        e.stopPropagation();
        onSelect({ kind: 'iface', netns, ifname: iface.name });
      }}
      onKeyDown={(e) => e.key === 'Enter' && onSelect({ kind: 'iface', netns, ifname: iface.name })}
      opacity={down ? 0.55 : 1}
    >
      {indent > 0 && (
        <path d={`M${x - 12},${y - 2} V${y + ROW_H / 2} H${x}`} fill="none" stroke="#f59e0b" strokeWidth={2} />
      )}
      <rect
        x={x}
        y={y + 2}
        width={w}
        height={ROW_H - 4}
        rx={5}
        fill={fill}
        stroke={stroke}
        strokeWidth={lit || selected ? 2.5 : 1}
      />
      <circle cx={x + 12} cy={y + ROW_H / 2} r={5} fill={down ? '#ef4444' : '#22c55e'} />
      <text x={x + 24} y={y + 20} fontSize={16} fontWeight={600} fill={bridge ? '#fcd34d' : '#f1f5f9'}>
        {iface.name}
      </text>
      {v4 && (
        <text
          x={x + w - 8}
          y={y + 20}
          fontSize={14}
          textAnchor="end"
          fill="#7dd3fc"
          fontFamily="DejaVu Sans Mono, monospace"
        >
          {v4}
        </text>
      )}
      <text x={x + 24} y={y + 40} fontSize={13.5} fill="#cbd5e1" fontFamily="DejaVu Sans Mono, monospace">
        {iface.mac || '—'}
      </text>
      <text x={x + w - 8} y={y + 40} fontSize={12.5} textAnchor="end" fill="#94a3b8">
        {iface.kind}
        {iface.master ? ` · ${iface.master}` : ''}
      </text>
      <title>{`${netns}/${iface.name} ${iface.mac} ${iface.addrs.join(' ')}`}</title>
    </g>
  );
}
