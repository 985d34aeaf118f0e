'use client';
// The journey as SVG: lanes (namespaces) left to right in path order, hops stacked in each lane, the
// request in sky blue, the reply in fuchsia, rewrites in amber, real drops in red. Geometry comes from
// layout.ts; React renders it; d3-zoom only pans and zooms.
import { useCallback, useMemo, useRef, useState, type ReactNode } from 'react';
import type { Journey } from '../../../server/protocol/tracer';
import { nsDomId } from '../../../server/protocol/topology';
import { dropText, flowLine, natText } from '../../../server/protocol/vocab';
import { DIR_LABEL, ellipsize, fmtDelta } from './format';
import { GEOM, layoutJourney, type Arrow, type HopBox, type HopTone } from './layout';
import { hopIds } from './test-ids';
import { usePacketAnimation } from './use-packet-animation';
import { useSvgZoom } from '../../lib/use-svg-zoom';

const BOX_STYLE: Record<HopTone, string> = {
  normal: 'fill-slate-800 stroke-slate-500',
  nat: 'fill-amber-950 stroke-amber-400',
  drop: 'fill-red-950 stroke-red-500',
  'nf-drop': 'fill-slate-800 stroke-red-500',
  end: 'fill-slate-900 stroke-slate-500',
};
const LINE_STYLE = {
  nat: 'fill-amber-300 font-mono font-semibold',
  nf: 'fill-slate-300 font-mono',
  end: 'fill-emerald-300',
  drop: 'fill-red-300 font-bold',
  where: 'fill-red-200 font-mono',
} as const;
const DIR_STYLE = { ingress: 'fill-sky-200', egress: 'fill-sky-200', end: 'fill-slate-400' } as const;

const ARROW_STYLE = {
  request: 'stroke-sky-400',
  reply: 'stroke-fuchsia-400',
  turn: 'stroke-slate-500',
  nat: 'stroke-amber-400',
  drop: 'stroke-red-500',
} as const;
type ArrowColor = keyof typeof ARROW_STYLE;
const MARKER_FILL: Record<ArrowColor, string> = {
  request: 'fill-sky-400',
  reply: 'fill-fuchsia-400',
  turn: 'fill-slate-500',
  nat: 'fill-amber-400',
  drop: 'fill-red-500',
};

/** Animation time stretch choices: normal, half speed (for explaining each hop), quarter. */
const SPEEDS = [1, 2, 4] as const;

const arrowColor = (a: Arrow): ArrowColor => (a.drop ? 'drop' : a.nat ? 'nat' : a.path);

export interface HopDiagramProps {
  journey: Journey;
  /** Subtitle per lane, e.g. `pod · 10.244.1.2/24`. */
  laneInfo?: Readonly<Record<string, string>>;
  selected?: string;
  onSelect?: (box: HopBox) => void;
  /** Shown left of the replay/fit buttons, in the same row. */
  toolbar?: ReactNode;
  /** Run the packet animation once the journey is complete (default); the replay button always can. */
  autoPlay?: boolean;
}

function HopNode({
  box,
  selected,
  active,
  onSelect,
}: {
  box: HopBox;
  selected: boolean;
  active: boolean;
  onSelect?: (b: HopBox) => void;
}) {
  const { hop } = box;
  const ring = selected
    ? 'stroke-white'
    : active
      ? box.path === 'reply'
        ? 'stroke-fuchsia-300'
        : 'stroke-sky-300'
      : '';
  return (
    <g
      id={`hd-${box.path}-${nsDomId(hop.netns)}-${hop.seq}`}
      data-testid={hopIds.hop(box.path, hop.netns, hop.seq)}
      data-path={box.path}
      data-lane={hop.netns}
      data-ifname={hop.ifname}
      data-dir={hop.dir}
      data-tone={box.tone}
      data-selected={selected}
      transform={`translate(${box.x},${box.y})`}
      role="button"
      tabIndex={0}
      aria-label={`${box.path} hop ${hop.seq}: ${hop.netns} ${hop.ifname} ${hop.dir}`}
      className="group cursor-pointer outline-none"
      onClick={() => onSelect?.(box)}
      onKeyDown={(e) => {
        if (e.key === 'Enter' || e.key === ' ') onSelect?.(box);
      }}
    >
      <rect
        width={box.w}
        height={box.h}
        rx={10}
        className={`${BOX_STYLE[box.tone]} ${ring} group-focus-visible:stroke-white`}
        strokeWidth={selected || active ? 4 : 2}
        strokeDasharray={box.tone === 'end' ? '6 4' : undefined}
      />
      {/* a colour bar says request or reply even where the border says NAT or drop */}
      <rect
        x={0}
        y={8}
        width={5}
        height={box.h - 16}
        rx={2}
        className={box.path === 'reply' ? 'fill-fuchsia-400' : 'fill-sky-400'}
      />
      <text x={16} y={27} className="fill-white font-mono font-bold" fontSize={21}>
        {ellipsize(hop.ifname, 15)}
      </text>
      <text x={box.w - 12} y={25} textAnchor="end" className="fill-slate-400" fontSize={14}>
        {fmtDelta(hop.tNs)}
      </text>
      <text x={16} y={49} className={DIR_STYLE[hop.dir]} fontSize={16}>
        {DIR_LABEL[hop.dir]}
      </text>
      <text x={box.w - 12} y={49} textAnchor="end" className="fill-slate-400 font-mono" fontSize={14}>
        ttl {hop.ttl}
      </text>
      {box.lines.map((l, i) => (
        <text
          key={i}
          x={16}
          y={GEOM.baseH + i * GEOM.lineH + 11}
          className={LINE_STYLE[l.role]}
          fontSize={l.role === 'drop' ? 16 : 14}
        >
          {ellipsize(l.text, GEOM.lineChars)}
        </text>
      ))}
    </g>
  );
}

export function HopDiagram({ journey, laneInfo, selected, onSelect, toolbar, autoPlay = true }: HopDiagramProps) {
  const layout = useMemo(() => layoutJourney(journey), [journey]);
  const svgRef = useRef<SVGSVGElement | null>(null);
  const dotRef = useRef<SVGCircleElement | null>(null);
  const pathEls = useRef(new Map<string, SVGPathElement>());
  const { transform, reset } = useSvgZoom(svgRef, { minScale: 0.4, maxScale: 5, wheelNeedsModifier: true });
  const [slow, setSlow] = useState<(typeof SPEEDS)[number]>(1);
  const anim = usePacketAnimation(
    layout,
    pathEls,
    dotRef,
    journey.pending || !autoPlay ? undefined : `${journey.id}:${layout.hops.length}`,
    slow,
  );
  const activeBox = anim.playing ? layout.hops.find((b) => b.key === anim.active) : undefined;
  const pathRef = useCallback(
    (key: string) => (el: SVGPathElement | null) => {
      if (el) pathEls.current.set(key, el);
      else pathEls.current.delete(key);
    },
    [],
  );

  return (
    <div className="space-y-2">
      <div className="flex items-center gap-2">
        <div className="min-w-0 flex-1">{toolbar}</div>
        <button
          data-testid={hopIds.replay}
          onClick={anim.replay}
          disabled={layout.hops.length === 0}
          className="rounded bg-slate-700 px-3 py-1.5 text-base font-semibold text-white hover:bg-slate-600 disabled:opacity-40"
        >
          {anim.playing ? '↻ Restart' : '▶ Replay packet'}
        </button>
        <button
          data-testid={hopIds.speed}
          onClick={() => setSlow((v) => SPEEDS[(SPEEDS.indexOf(v) + 1) % SPEEDS.length] ?? 1)}
          title="animation speed"
          className="w-16 rounded border border-slate-600 px-2 py-1.5 text-base text-slate-200 hover:bg-slate-800"
        >
          {slow === 1 ? '1×' : slow === 2 ? '½×' : '¼×'}
        </button>
        <button
          data-testid={hopIds.resetZoom}
          onClick={reset}
          className="rounded border border-slate-600 px-3 py-1.5 text-base text-slate-200 hover:bg-slate-800"
        >
          Fit
        </button>
      </div>
      <svg
        ref={svgRef}
        data-testid={hopIds.diagram}
        data-journey={journey.id}
        data-pending={journey.pending}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        width="100%"
        className="block select-none rounded-xl border border-slate-800 bg-slate-950"
        // Few lanes: don't blow them up past ~1.25x; many lanes: shrink to the width, zoom for detail.
        style={{ maxHeight: 'calc(100vh - 7rem)', maxWidth: `${Math.round(layout.width * 1.25)}px` }}
        aria-label={`journey ${journey.from} to ${journey.to}: lanes ${layout.lanes.map((l) => l.name).join(', ')}`}
      >
        <defs>
          {(Object.keys(MARKER_FILL) as ArrowColor[]).map((c) => (
            <marker
              key={c}
              id={`hd-head-${c}`}
              viewBox="0 0 10 10"
              refX={9}
              refY={5}
              markerWidth={4.5}
              markerHeight={4.5}
              orient="auto-start-reverse"
            >
              <path d="M0,0 L10,5 L0,10 z" className={MARKER_FILL[c]} />
            </marker>
          ))}
        </defs>
        <g transform={transform.toString()}>
          {layout.lanes.map((lane) => (
            <g
              key={lane.name}
              data-testid={hopIds.lane(lane.name)}
              data-lane={lane.name}
              data-index={lane.index}
              id={`hd-${nsDomId(lane.name)}`}
            >
              <rect
                x={lane.x + 4}
                y={6}
                width={lane.w - 8}
                height={layout.height - 10}
                rx={12}
                className={lane.index % 2 ? 'fill-slate-900' : 'fill-slate-900/60'}
              />
              <text x={lane.x + lane.w / 2} y={38} textAnchor="middle" className="fill-white font-bold" fontSize={26}>
                {lane.name}
              </text>
              {laneInfo?.[lane.name] && (
                <text
                  x={lane.x + lane.w / 2}
                  y={62}
                  textAnchor="middle"
                  className="fill-slate-400 font-mono"
                  fontSize={15}
                >
                  {ellipsize(laneInfo[lane.name] ?? '', 34)}
                </text>
              )}
            </g>
          ))}
          {layout.bands.map((b) => (
            <text
              key={b.path}
              transform={`translate(30,${b.y + b.h / 2}) rotate(-90)`}
              textAnchor="middle"
              className={b.path === 'reply' ? 'fill-fuchsia-300 font-bold' : 'fill-sky-300 font-bold'}
              fontSize={16}
              letterSpacing={3}
            >
              {b.path === 'reply' ? 'REPLY ←' : 'REQUEST →'}
            </text>
          ))}
          {layout.arrows.map((a) => {
            const c = arrowColor(a);
            return (
              <path
                key={a.key}
                ref={pathRef(a.key)}
                data-testid={a.path === 'turn' ? undefined : hopIds.arrow(a.path, a.toSeq)}
                d={a.d}
                fill="none"
                className={ARROW_STYLE[c]}
                strokeWidth={a.nat || a.drop ? 4 : 3}
                strokeDasharray={a.path === 'turn' ? '4 6' : undefined}
                markerEnd={`url(#hd-head-${c})`}
              />
            );
          })}
          {layout.hops.map((b) => (
            <HopNode
              key={b.key}
              box={b}
              selected={selected === b.key}
              active={anim.playing && anim.active === b.key}
              onSelect={onSelect}
            />
          ))}
          <circle
            ref={dotRef}
            data-testid={hopIds.packetDot}
            data-at={anim.active}
            data-playing={anim.playing}
            r={11}
            cx={-100}
            cy={-100}
            className="pointer-events-none fill-white stroke-sky-400 data-[path=reply]:stroke-fuchsia-400"
            strokeWidth={5}
            style={{ opacity: 0, filter: 'drop-shadow(0 0 8px rgb(255 255 255 / 0.8))' }}
          />
        </g>
      </svg>
      {/* What the dot is passing, spelled out for the room. */}
      <div
        data-testid={hopIds.caption}
        className="flex h-9 items-center gap-4 overflow-hidden whitespace-nowrap text-xl"
      >
        {activeBox && (
          <>
            <span
              className={activeBox.path === 'reply' ? 'font-semibold text-fuchsia-300' : 'font-semibold text-sky-300'}
            >
              {activeBox.path}
            </span>
            <span className="font-bold">
              {activeBox.hop.netns} · <span className="font-mono">{activeBox.hop.ifname}</span>
            </span>
            <span className="text-slate-300">{DIR_LABEL[activeBox.hop.dir]}</span>
            <span className="font-mono">{flowLine(activeBox.hop)}</span>
            <span className="font-mono text-slate-400">ttl {activeBox.hop.ttl}</span>
            {activeBox.hop.nat && <span className="font-mono text-amber-300">{natText(activeBox.hop.nat)}</span>}
            {activeBox.hop.drop && (
              <span className={activeBox.hop.drop.isRealDrop ? 'font-bold text-red-400' : 'text-emerald-300'}>
                {dropText(activeBox.hop.drop)}
              </span>
            )}
          </>
        )}
      </div>
    </div>
  );
}
