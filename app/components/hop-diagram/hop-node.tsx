'use client';
// One hop of the diagram: a box in its lane, coloured by what happened there (NAT, drop, end).
import { useT } from '../../i18n/use-t';
import { nsDomId } from '../../../server/protocol/topology';
import { DIR_LABEL, ellipsize, fmtDelta } from './format';
import { GEOM, type HopBox, type HopTone, type LineRole } from './layout';
import { hopIds } from './test-ids';

const BOX_STYLE: Record<HopTone, string> = {
  normal: 'fill-slate-800 stroke-slate-500',
  nat: 'fill-amber-950 stroke-amber-400',
  drop: 'fill-red-950 stroke-red-500',
  'nf-drop': 'fill-slate-800 stroke-red-500',
  end: 'fill-slate-900 stroke-slate-500',
};
/** A hop no tracepoint saw: violet and dashed, so it never passes for a sighting. */
const INFERRED_STYLE = 'fill-violet-950 stroke-violet-400';
const LINE_STYLE: Record<LineRole, string> = {
  reason: 'fill-slate-100 italic',
  inferred: 'fill-violet-300 font-semibold',
  prog: 'fill-cyan-300 font-mono',
  'prog-drop': 'fill-red-300 font-mono font-semibold',
  nat: 'fill-amber-300 font-mono font-semibold',
  nf: 'fill-slate-300 font-mono',
  end: 'fill-emerald-300',
  drop: 'fill-red-300 font-bold',
  where: 'fill-red-200 font-mono',
};
const DIR_STYLE = { ingress: 'fill-sky-200', egress: 'fill-sky-200', end: 'fill-slate-400' } as const;

/** The words inside a hop box: interface, time, direction, TTL, then the layout's extra lines. */
function HopText({ box }: { box: HopBox }) {
  const t = useT('hopDiagram.hopNode');
  const { hop } = box;
  return (
    <>
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
        {t('ttl')} {hop.ttl}
      </text>
      {box.lines.map((l, i) => (
        <text
          key={i}
          data-testid={
            l.role === 'reason' ? hopIds.hopReason : l.role.startsWith('prog') ? hopIds.hopProgram : undefined
          }
          x={16}
          y={GEOM.baseH + i * GEOM.lineH + 11}
          className={LINE_STYLE[l.role]}
          fontSize={l.role === 'drop' ? 16 : 14}
        >
          {ellipsize(l.text, GEOM.lineChars)}
          {/* the whole line on hover, for what the box cuts */}
          {l.text.length > GEOM.lineChars && <title>{l.text}</title>}
        </text>
      ))}
    </>
  );
}

export function HopNode({
  box,
  selected,
  active,
  current,
  onSelect,
}: {
  box: HopBox;
  selected: boolean;
  active: boolean;
  /** Step-through: true on the current hop, false on the others (dimmed), undefined when not stepping. */
  current?: boolean;
  onSelect?: (b: HopBox) => void;
}) {
  const t = useT('hopDiagram.hopNode');
  const { hop } = box;
  const ring = current
    ? 'stroke-yellow-300'
    : selected
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
      data-inferred={box.inferred}
      data-selected={selected}
      data-current={current === undefined ? undefined : current}
      opacity={current === false ? 0.45 : undefined}
      transform={`translate(${box.x},${box.y})`}
      role="button"
      tabIndex={0}
      aria-label={t('hop', { path: box.path, seq: hop.seq, netns: hop.netns, ifname: hop.ifname, dir: hop.dir })}
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
        className={`${box.inferred && box.tone === 'normal' ? INFERRED_STYLE : BOX_STYLE[box.tone]} ${ring} group-focus-visible:stroke-white`}
        strokeWidth={current ? 7 : selected || active ? 4 : 2}
        strokeDasharray={box.inferred ? '10 6' : box.tone === 'end' ? '6 4' : undefined}
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
      <HopText box={box} />
    </g>
  );
}
