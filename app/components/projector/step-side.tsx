'use client';
// Beside the diagram while stepping: the packet's fields at the current step, and a small MAC map
// centred on the same interface, lit.
import { tx } from '../../i18n/current';
import { useT } from '../../i18n/use-t';
import { useEffect, useMemo, useRef } from 'react';
import { zoomIdentity } from 'd3';
import { useTopology } from '../../lib/topology';
import { useSvgZoom } from '../../lib/use-svg-zoom';
import { layoutTopology } from '../mac-map/layout';
import { MapGraph } from '../mac-map/ns-box';
import { litKey } from '../mac-map/search';
import { DIR_LABEL } from '../hop-diagram/format';
import { hopFields, socketFields, type FieldRow, type FieldTone } from './fields';
import type { FocusIface } from './projector-context';
import type { Step } from './steps';
import { projectorIds } from './test-ids';

const TONE: Record<FieldTone, string> = {
  plain: 'text-white',
  nat: 'font-semibold text-amber-300',
  drop: 'font-bold text-red-300',
  ok: 'text-emerald-300',
  prog: 'text-cyan-300',
};

function rowsOf(step: Step, steps: readonly Step[]): { title: string; rows: FieldRow[] } {
  if (step.kind === 'socket') return { title: tx('projector.stepSide.socket'), rows: socketFields(step.rewrite) };
  if (step.kind === 'hop')
    return {
      title: tx('projector.stepSide.hop', {
        path: tx(`projector.path.${step.path}`),
        seq: step.hop.seq,
        dir: DIR_LABEL[step.hop.dir],
      }),
      rows: hopFields(step.hop, step.prev),
    };
  const at = steps.find((x): x is Extract<Step, { kind: 'hop' }> => x.kind === 'hop' && x.key === step.at);
  return { title: tx('projector.stepSide.stopped'), rows: at ? hopFields(at.hop, at.prev) : [] };
}

export function StepFields({ step, steps }: { step: Step; steps: readonly Step[] }) {
  const { title, rows } = rowsOf(step, steps);
  return (
    <section
      data-testid={projectorIds.fields}
      data-step={step.key}
      className="space-y-2 rounded-xl border border-slate-700 bg-slate-900 p-4 projector:border-2 projector:border-slate-300"
    >
      <h3 className="text-sm font-semibold uppercase tracking-wider text-slate-400">{title}</h3>
      <dl className="grid grid-cols-[5.5rem_1fr] gap-x-3 gap-y-1 text-lg leading-snug">
        {rows.map((r) => (
          <div key={r.name} className="contents" data-testid={projectorIds.field(r.name)}>
            <dt className="pt-0.5 text-base text-slate-400">{r.label}</dt>
            <dd className={`break-words font-mono ${TONE[r.tone]}`}>{r.value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

/** Scale of the small map: one namespace box (340 units) fills most of the column. */
const MINI_SCALE = 0.85;

export function MiniMacMap({ focus }: { focus: FocusIface | undefined }) {
  const t = useT('projector.stepSide');
  const { state: topo } = useTopology();
  const layout = useMemo(() => (topo ? layoutTopology(topo) : undefined), [topo]);
  const svgRef = useRef<SVGSVGElement | null>(null);
  const { transform, apply } = useSvgZoom(svgRef, { minScale: 0.1, maxScale: 3, wheelNeedsModifier: true });
  const lit = focus ? litKey(focus.netns, focus.ifname) : undefined;

  // Centre the lit interface (its namespace box's middle, the row's height).
  useEffect(() => {
    const svg = svgRef.current;
    if (!svg || !layout || !focus) return;
    const box = layout.boxes.find((b) => b.ns.name === focus.netns);
    const row = box?.rows.find((r) => r.iface.name === focus.ifname);
    if (!box) return;
    const { width, height } = svg.getBoundingClientRect();
    const x = box.x + box.w / 2;
    const y = row ? row.y + row.h / 2 : box.y + box.h / 2;
    apply(zoomIdentity.translate(width / 2 - x * MINI_SCALE, height / 2 - y * MINI_SCALE).scale(MINI_SCALE), 350);
  }, [layout, focus, apply]);

  return (
    <section
      data-testid={projectorIds.miniMap}
      data-focus={lit ?? ''}
      className="overflow-hidden rounded-xl border border-slate-700 bg-slate-950 projector:border-2 projector:border-slate-300"
    >
      <div className="px-3 pt-2 text-sm font-semibold uppercase tracking-wider text-slate-400">
        {t('macMap')} {focus ? `· ${focus.netns} ${focus.ifname}` : ''}
      </div>
      <svg
        ref={svgRef}
        className="block h-64 w-full projector:h-52"
        role="img"
        aria-label={t('macMapCurrentInterface')}
      >
        <g transform={transform.toString()}>
          <MapGraph layout={layout} highlight={lit} />
        </g>
      </svg>
    </section>
  );
}
