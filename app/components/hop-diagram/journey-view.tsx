'use client';
// One journey: its one-line outcome, the diagram, a legend, and the clicked hop's fields.
import { useLocalizedJourney } from '../../i18n/journey';
import { useT } from '../../i18n/use-t';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { Hop, Journey } from '../../../server/protocol/tracer';
import { ExportMenu } from '../projector/export-menu';
import { StepBar } from '../projector/step-bar';
import { MiniMacMap, StepFields } from '../projector/step-side';
import { stepBox, stepIface } from '../projector/steps';
import { useStepper } from '../projector/use-stepper';
import { outcome, socketRewriteLine } from './format';
import { HopDetail } from './hop-detail';
import { HopDiagram } from './hop-diagram';
import { hopIds, type PathKind } from './test-ids';

const TONE = {
  ok: 'bg-emerald-600 text-white',
  drop: 'bg-red-600 text-white',
  pending: 'bg-amber-500 text-slate-950',
  lost: 'bg-slate-600 text-white',
} as const;

export function JourneySummary({ journey }: { journey: Journey }) {
  const t = useT('hopDiagram.journeyView');
  const o = outcome(journey);
  const nReq = journey.hops.length;
  const nRep = journey.reply?.hops.length ?? 0;
  return (
    <div
      data-testid={hopIds.summary}
      data-outcome={o.tone}
      className="flex flex-wrap items-center gap-x-4 gap-y-2 text-xl"
    >
      <span className={`rounded px-3 py-1 font-semibold ${TONE[o.tone]}`}>{o.label}</span>
      <span className="font-semibold">
        {journey.from} → {journey.to}
      </span>
      <span className="rounded bg-slate-800 px-2 py-0.5 font-mono uppercase">{journey.proto}</span>
      <span className="text-slate-300">
        {t('hops', { n: nReq })}
        {nRep > 0 && (
          <>
            {' '}
            {t('reply')} {nRep}
          </>
        )}
      </span>
      {journey.generator && <span className="font-mono text-slate-400">{journey.generator}</span>}
      {!journey.pending && journey.durationMs > 0 && (
        <span className="text-slate-400">{journey.durationMs.toFixed(1)} ms</span>
      )}
    </div>
  );
}

/** Why a journey that did not arrive stopped, and the fix hint: big enough to read off a projector. */
function DiagnosisBanner({ text, current }: { text: string; current?: boolean }) {
  const t = useT('hopDiagram.journeyView');
  return (
    <div
      role="alert"
      data-testid={hopIds.diagnosis}
      data-current={current}
      className={`rounded-xl border-2 border-red-500 bg-red-950/70 px-5 py-4 text-2xl leading-snug text-red-50 ${current ? 'outline outline-4 outline-yellow-300' : ''}`}
    >
      <span className="mr-3 font-bold uppercase tracking-wide text-red-300">{t('whyItStopped')}</span>
      {text}
    </div>
  );
}

/** The step before any packet: connect()/sendmsg() rewritten at the socket by a cgroup program. */
function SocketRewriteStep({
  rewrite,
  current,
}: {
  rewrite: NonNullable<Journey['socketRewrite']>;
  current?: boolean;
}) {
  const t = useT('hopDiagram.journeyView');
  return (
    <div
      data-testid={hopIds.socketRewrite}
      data-current={current}
      className={`flex items-center gap-3 rounded-xl border-2 border-dashed border-amber-400 bg-amber-950/40 px-4 py-3 text-xl text-amber-100 ${current ? 'outline outline-4 outline-yellow-300' : ''}`}
    >
      <span className="rounded bg-amber-400 px-2 py-0.5 text-base font-bold text-slate-950">{t('step0Socket')}</span>
      <span className="font-mono">{socketRewriteLine(rewrite)}</span>
      <span className="text-base text-amber-300">{t('beforeTheFirstPacket')}</span>
    </div>
  );
}

function Legend() {
  const t = useT('hopDiagram.journeyView');
  const item = (cls: string, label: string, dashed = false) => (
    <span className="flex items-center gap-2">
      <span className={`inline-block h-1 w-8 rounded ${cls} ${dashed ? 'opacity-70' : ''}`} />
      {label}
    </span>
  );
  return (
    <div className="flex flex-wrap gap-x-6 gap-y-1 text-base text-slate-300">
      {item('bg-sky-400', t('legendRequest'))}
      {item('bg-fuchsia-400', t('legendReply'))}
      {item('bg-amber-400', t('legendNat'))}
      {item('bg-red-500', t('legendDrop'))}
      {item('bg-slate-500', t('legendEnd'), true)}
      {item('bg-violet-400', t('legendInferred'), true)}
      <span className="text-slate-500">{t('nfNetfilterHooksAccept')}</span>
    </div>
  );
}

/** `request:3` -> the hop, looked up in the journey as it is now (it grows while a follow runs). */
function findHop(j: Journey, key: string): { path: PathKind; hop: Hop; prev?: Hop } | undefined {
  const [p, seqText] = key.split(':');
  const path: PathKind = p === 'reply' ? 'reply' : 'request';
  const list = path === 'reply' ? (j.reply?.hops ?? []) : j.hops;
  const i = list.findIndex((h) => String(h.seq) === seqText);
  const hop = list[i];
  if (!hop) return undefined;
  const prev = i > 0 ? list[i - 1] : undefined;
  return { path, hop, ...(prev && { prev }) };
}

export function JourneyView({
  journey: asSent,
  laneInfo,
  autoPlay = true,
}: {
  journey: Journey;
  laneInfo?: Readonly<Record<string, string>>;
  autoPlay?: boolean;
}) {
  const t = useT('hopDiagram.journeyView');
  const journey = useLocalizedJourney(asSent);
  const [selected, setSelected] = useState<string | undefined>();
  // A new journey: the old selection means nothing there.
  useEffect(() => setSelected(undefined), [journey.id]);
  const current = selected ? findHop(journey, selected) : undefined;
  const root = useRef<HTMLDivElement | null>(null);
  const stepper = useStepper(journey, root);
  const { steps, step, dispatch } = stepper;
  const stepping = step !== undefined;
  const box = stepBox(step);
  const focus = useMemo(() => stepIface(steps, step), [steps, step]);
  // Starting the step-through brings the narration and the diagram on screen together.
  useEffect(() => {
    if (stepping) root.current?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }, [stepping]);
  return (
    <div ref={root} data-pj-stage className="scroll-mt-2 space-y-3">
      <StepBar
        stepper={stepper}
        exports={
          <ExportMenu
            // the JSON export is what `follow --json` prints: the journey as the server sent it
            journey={asSent}
            diagram={() => root.current?.querySelector<SVGSVGElement>(`svg[data-testid="${hopIds.diagram}"]`) ?? null}
          />
        }
      />
      {journey.diagnosis && !journey.delivered && (
        <DiagnosisBanner text={journey.diagnosis} current={stepping ? step.kind === 'diagnosis' : undefined} />
      )}
      {journey.socketPrograms && !journey.socketRewrite && (
        <div data-testid={hopIds.socketPrograms} className="font-mono text-base text-amber-200">
          {t('socketPrograms')} {journey.socketPrograms.join(', ')}
        </div>
      )}
      {journey.socketRewrite && (
        <SocketRewriteStep rewrite={journey.socketRewrite} current={stepping ? step.kind === 'socket' : undefined} />
      )}
      <div className={stepping ? 'grid grid-cols-[minmax(0,1fr)_24rem] items-start gap-3' : ''}>
        <div className="relative">
          <HopDiagram
            journey={journey}
            autoPlay={autoPlay}
            laneInfo={laneInfo}
            selected={current && selected}
            onSelect={(b) => {
              // While stepping, a click moves the step there; otherwise it opens the hop's fields.
              const i = steps.findIndex((s) => s.key === b.key);
              if (stepping && i >= 0) dispatch({ type: 'goto', index: i });
              else setSelected(b.key);
            }}
            toolbar={<JourneySummary journey={journey} />}
            stepping={stepping}
            current={box}
          />
          {current && selected && !stepping && (
            <div className="absolute right-3 top-16 z-20">
              <HopDetail
                hopKey={selected}
                path={current.path}
                hop={current.hop}
                prev={current.prev}
                onClose={() => setSelected(undefined)}
              />
            </div>
          )}
        </div>
        {stepping && (
          <aside className="space-y-3">
            <StepFields step={step} steps={steps} />
            <MiniMacMap focus={focus} />
          </aside>
        )}
      </div>
      <Legend />
    </div>
  );
}
