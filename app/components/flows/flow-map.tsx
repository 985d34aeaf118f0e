'use client';
// The namespace-to-namespace flow map, like Hubble's service map but with the hop path: one box per
// namespace, one arrow per direction between two, as wide as the bytes it carried. React owns the SVG;
// layout.ts does the math. Sized for a projector: large labels, thick arrows.
import { useMemo } from 'react';
import { useT } from '../../i18n/use-t';
import type { FlowEdge } from '../../../server/protocol/flows';
import { ARROW_PX, flowMapLayout, LABEL_PX, NODE_H, NODE_W, si } from './layout';
import { flowIds } from './test-ids';

/** An edge's tone: it dropped packets, it is on the selected flow's path, or neither. The arrowheads get the
 * same colour as a fill of their own: a marker does not inherit its path's. */
const TONES = {
  drop: { line: 'text-red-400', head: 'fill-red-400' },
  hot: { line: 'text-sky-300', head: 'fill-sky-300' },
  idle: { line: 'text-slate-500', head: 'fill-slate-500' },
} as const;
type Tone = keyof typeof TONES;

export function FlowMap({ edges, selected }: { edges: readonly FlowEdge[]; selected?: readonly string[] }) {
  const t = useT('flows.map');
  const l = useMemo(() => flowMapLayout(edges), [edges]);
  const on = new Set(selected ?? []);
  if (edges.length === 0) return <p className="text-lg text-slate-400">{t('empty')}</p>;
  return (
    <svg
      data-testid={flowIds.map}
      viewBox={`0 0 ${l.width} ${l.height}`}
      className="w-full max-w-full"
      style={{ maxHeight: '22rem' }}
      role="img"
      aria-label={t('label')}
    >
      <defs>
        {/* Sized in pixels, not in stroke widths: at 4× an 18 px stroke the heads hid the rates. */}
        {(Object.keys(TONES) as Tone[]).map((tone) => (
          <marker
            key={tone}
            id={`flow-arrow-${tone}`}
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerUnits="userSpaceOnUse"
            markerWidth={ARROW_PX}
            markerHeight={ARROW_PX}
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" className={TONES[tone].head} />
          </marker>
        ))}
      </defs>
      {l.edges.map((e) => {
        const hot = on.has(e.edge.from) && on.has(e.edge.to);
        const tone: Tone = e.edge.drops > 0 ? 'drop' : hot ? 'hot' : 'idle';
        return (
          <g
            key={`${e.edge.from}>${e.edge.to}`}
            data-testid={flowIds.edge(e.edge.from, e.edge.to)}
            data-tone={tone}
            className={TONES[tone].line}
          >
            <title>
              {t('edgeTitle', {
                from: e.edge.from,
                to: e.edge.to,
                flows: e.edge.flows,
                packets: e.edge.packets,
                drops: e.edge.drops,
              })}
            </title>
            <path
              d={e.d}
              fill="none"
              stroke="currentColor"
              strokeWidth={e.width}
              markerEnd={`url(#flow-arrow-${tone})`}
              opacity={0.85}
            />
            <text x={e.lx} y={e.ly} textAnchor="middle" className="fill-slate-200" fontSize={LABEL_PX}>
              {t('rate', { rate: si(e.edge.bps) })}
            </text>
          </g>
        );
      })}
      {l.nodes.map((n) => (
        <g key={n.name} transform={`translate(${n.x - NODE_W / 2},${n.y - NODE_H / 2})`}>
          <rect
            width={NODE_W}
            height={NODE_H}
            rx={8}
            className={on.has(n.name) ? 'fill-sky-900 stroke-sky-400' : 'fill-slate-800 stroke-slate-500'}
            strokeWidth={2}
          />
          <text
            x={NODE_W / 2}
            y={NODE_H / 2 + 7}
            textAnchor="middle"
            className="fill-slate-100"
            fontSize={20}
            fontWeight={600}
          >
            {n.name}
          </text>
        </g>
      ))}
    </svg>
  );
}
