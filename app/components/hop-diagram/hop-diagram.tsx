'use client';
// The journey as SVG: lanes (namespaces) left to right in path order, hops stacked in each lane, the
// request in sky blue, the reply in fuchsia, rewrites in amber, real drops in red. Geometry comes from
// layout.ts; React renders it; d3-zoom only pans and zooms.
import { useT } from '../../i18n/use-t';
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode, type RefObject } from 'react';
import { zoomIdentity } from 'd3';
import type { Journey } from '../../../server/protocol/tracer';
import { nsDomId } from '../../../server/protocol/topology';
import { dropText, flowLine, natText } from '../../../server/protocol/vocab';
import { DIR_LABEL, ellipsize } from './format';
import { layoutJourney, type Arrow, type DiagramLayout, type HopBox } from './layout';
import { HopNode } from './hop-node';
import { hopIds } from './test-ids';
import { usePacketAnimation } from './use-packet-animation';
import { FitButton } from '../../lib/fit-button';
import { useSvgZoom } from '../../lib/use-svg-zoom';
import { useProjector } from '../projector/projector-context';

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
  /**
   * The step-through is on (`current` may still be undefined, e.g. on the socket step): the other hops
   * dim and the view follows the current hop at a readable scale.
   */
  stepping?: boolean;
  /** The step-through's hop (box key), highlighted. */
  current?: string;
}

/** Readable size of a box while stepping: CSS px per drawing unit (the boxes' text is 14-21 units). */
const STEP_SCALE = { normal: 1.05, projector: 1.3 } as const;

/**
 * The view that puts (x, y) in the middle at `target` px per unit, kept inside the drawing. The SVG
 * scales its viewBox by `fit` (meet) first, so the zoom is what remains. Identity when the whole
 * drawing is already that readable.
 */
export function focusTransform(
  x: number,
  y: number,
  size: { readonly width: number; readonly height: number },
  fit: number,
  target: number,
): ReturnType<typeof zoomIdentity.scale> {
  const k = Math.min(5, target / Math.max(fit, 1e-6));
  if (k <= 1) return zoomIdentity;
  const tx = Math.min(0, Math.max(size.width - size.width * k, size.width / 2 - x * k));
  const ty = Math.min(0, Math.max(size.height - size.height * k, size.height / 2 - y * k));
  return zoomIdentity.translate(tx, ty).scale(k);
}

function DiagramToolbar(p: {
  toolbar: ReactNode;
  playing: boolean;
  onReplay: () => void;
  canReplay: boolean;
  slow: (typeof SPEEDS)[number];
  onSpeed: () => void;
  onFit: () => void;
}) {
  const tr = useT('hopDiagram.hopDiagram');
  const { toolbar, playing, onReplay, canReplay, slow, onSpeed, onFit } = p;
  return (
    <div className="flex items-center gap-2">
      <div className="min-w-0 flex-1">{toolbar}</div>
      <button
        data-testid={hopIds.replay}
        onClick={onReplay}
        disabled={!canReplay}
        className="rounded bg-slate-700 px-3 py-1.5 text-base font-semibold text-white hover:bg-slate-600 disabled:opacity-40"
      >
        {playing ? tr('restart') : tr('replayPacket')}
      </button>
      <button
        data-testid={hopIds.speed}
        onClick={onSpeed}
        title={tr('animationSpeed')}
        className="w-16 rounded border border-slate-600 px-2 py-1.5 text-base text-slate-200 hover:bg-slate-800"
      >
        {slow === 1 ? '1×' : slow === 2 ? '½×' : '¼×'}
      </button>
      <FitButton testId={hopIds.resetZoom} onFit={onFit} look="outline" />
    </div>
  );
}

function ArrowHeads() {
  return (
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
  );
}

/** Lane columns with their namespace names, and the REQUEST / REPLY band labels. */
function LaneBackdrops({ layout, laneInfo }: { layout: DiagramLayout; laneInfo?: Readonly<Record<string, string>> }) {
  const tr = useT('hopDiagram.hopDiagram');
  return (
    <>
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
            <text x={lane.x + lane.w / 2} y={62} textAnchor="middle" className="fill-slate-400 font-mono" fontSize={15}>
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
          {b.path === 'reply' ? tr('reply') : tr('request')}
        </text>
      ))}
    </>
  );
}

/** What the dot is passing, spelled out for the room. */
function Caption({ box }: { box: HopBox | undefined }) {
  const tr = useT('hopDiagram.hopDiagram');
  return (
    // Wraps rather than clips: an IPv6 flow line is twice an IPv4 one, and the room must read all of it.
    <div
      data-testid={hopIds.caption}
      className="flex min-h-9 flex-wrap items-center gap-x-4 overflow-hidden whitespace-nowrap text-xl"
    >
      {box && (
        <>
          <span className={box.path === 'reply' ? 'font-semibold text-fuchsia-300' : 'font-semibold text-sky-300'}>
            {box.path}
          </span>
          <span className="font-bold">
            {box.hop.netns} · <span className="font-mono">{box.hop.ifname}</span>
          </span>
          <span className="text-slate-300">{DIR_LABEL[box.hop.dir]}</span>
          <span className="font-mono">{flowLine(box.hop)}</span>
          <span className="font-mono text-slate-400">
            {tr('ttl')} {box.hop.ttl}
          </span>
          {box.hop.nat && <span className="font-mono text-amber-300">{natText(box.hop.nat)}</span>}
          {box.hop.drop && (
            <span className={box.hop.drop.isRealDrop ? 'font-bold text-red-400' : 'text-emerald-300'}>
              {dropText(box.hop.drop)}
            </span>
          )}
        </>
      )}
    </div>
  );
}

/** The arrows hop to hop; the animation reads their path elements through pathRef. */
function ArrowPaths({
  arrows,
  pathRef,
}: {
  arrows: readonly Arrow[];
  pathRef: (key: string) => (el: SVGPathElement | null) => void;
}) {
  return (
    <>
      {arrows.map((a) => {
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
    </>
  );
}

/** The packet: hidden until the animation moves it along the arrows (use-packet-animation.ts). */
function PacketDot(p: {
  dotRef: RefObject<SVGCircleElement | null>;
  at: string | undefined;
  playing: boolean;
  /** The step-through lights its own hop: no dot running elsewhere meanwhile. */
  hidden?: boolean;
}) {
  return (
    <circle
      ref={p.dotRef}
      data-testid={hopIds.packetDot}
      data-at={p.at}
      data-playing={p.playing}
      data-export="skip"
      r={11}
      cx={-100}
      cy={-100}
      className={`pointer-events-none fill-white stroke-sky-400 data-[path=reply]:stroke-fuchsia-400 ${p.hidden ? 'hidden' : ''}`}
      strokeWidth={5}
      style={{ opacity: 0, filter: 'drop-shadow(0 0 8px rgb(255 255 255 / 0.8))' }}
    />
  );
}

/** While stepping, the view follows the current hop; leaving the step-through shows the whole drawing again. */
function useFollowCurrent(
  svgRef: RefObject<SVGSVGElement | null>,
  layout: DiagramLayout,
  current: string | undefined,
  apply: (t: ReturnType<typeof zoomIdentity.scale>, ms?: number) => void,
): void {
  const { projector } = useProjector();
  const moved = useRef(false);
  useEffect(() => {
    const svg = svgRef.current;
    if (!svg) return;
    const box = current ? layout.hops.find((b) => b.key === current) : undefined;
    if (!box) {
      if (moved.current) apply(zoomIdentity, 300);
      moved.current = false;
      return;
    }
    const r = svg.getBoundingClientRect();
    const fit = Math.min(r.width / layout.width, r.height / layout.height);
    const target = STEP_SCALE[projector ? 'projector' : 'normal'];
    apply(focusTransform(box.x + box.w / 2, box.y + box.h / 2, layout, fit, target), 450);
    moved.current = true;
  }, [svgRef, layout, current, apply, projector]);
}

export function HopDiagram({
  journey,
  laneInfo,
  selected,
  onSelect,
  toolbar,
  autoPlay = true,
  stepping = false,
  current,
}: HopDiagramProps) {
  const tr = useT('hopDiagram.hopDiagram');
  const layout = useMemo(() => layoutJourney(journey), [journey]);
  const svgRef = useRef<SVGSVGElement | null>(null);
  const dotRef = useRef<SVGCircleElement | null>(null);
  const pathEls = useRef(new Map<string, SVGPathElement>());
  const { transform, reset, apply } = useSvgZoom(svgRef, { minScale: 0.4, maxScale: 5, wheelNeedsModifier: true });
  useFollowCurrent(svgRef, layout, stepping ? current : undefined, apply);
  const [slow, setSlow] = useState<(typeof SPEEDS)[number]>(1);
  const anim = usePacketAnimation(
    layout,
    pathEls,
    dotRef,
    journey.pending || !autoPlay ? undefined : `${journey.id}:${layout.hops.length}`,
    slow,
  );
  const activeBox = anim.playing && !stepping ? layout.hops.find((b) => b.key === anim.active) : undefined;
  const pathRef = useCallback(
    (key: string) => (el: SVGPathElement | null) => {
      if (el) pathEls.current.set(key, el);
      else pathEls.current.delete(key);
    },
    [],
  );

  return (
    <div className="space-y-2">
      {/* While stepping the narration bar is the toolbar: the camera zooms, Esc shows it all again. */}
      {!stepping && (
        <DiagramToolbar
          toolbar={toolbar}
          playing={anim.playing}
          onReplay={anim.replay}
          canReplay={layout.hops.length > 0}
          slow={slow}
          onSpeed={() => setSlow((v) => SPEEDS[(SPEEDS.indexOf(v) + 1) % SPEEDS.length] ?? 1)}
          onFit={reset}
        />
      )}
      <svg
        ref={svgRef}
        data-testid={hopIds.diagram}
        data-journey={journey.id}
        data-pending={journey.pending}
        data-current={stepping ? (current ?? '') : undefined}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        width="100%"
        className="block select-none rounded-xl border border-slate-800 bg-slate-950"
        // Few lanes: don't blow them up past ~1.25x; many lanes: shrink to the width, zoom for detail.
        style={{ maxHeight: 'calc(100vh - 7rem)', maxWidth: `${Math.round(layout.width * 1.25)}px` }}
        aria-label={tr('journeyToLanes', {
          from: journey.from,
          to: journey.to,
          v2: layout.lanes.map((l) => l.name).join(', '),
        })}
      >
        <ArrowHeads />
        <g data-zoom transform={transform.toString()}>
          <LaneBackdrops layout={layout} laneInfo={laneInfo} />
          <ArrowPaths arrows={layout.arrows} pathRef={pathRef} />
          {layout.hops.map((b) => (
            <HopNode
              key={b.key}
              box={b}
              selected={selected === b.key}
              active={anim.playing && !stepping && anim.active === b.key}
              current={stepping ? current === b.key : undefined}
              onSelect={onSelect}
            />
          ))}
          <PacketDot dotRef={dotRef} at={anim.active} playing={anim.playing} hidden={stepping} />
        </g>
      </svg>
      {!stepping && <Caption box={activeBox} />}
    </div>
  );
}
