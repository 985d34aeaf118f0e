'use client';
// Above the diagram: the current step's narration in large type, the step controls, the projector
// toggle and the shortcut list. Its buttons do not take focus on click, so space stays play/pause.
import { tx } from '../../i18n/current';
import { useT } from '../../i18n/use-t';
import type { MouseEvent, ReactNode } from 'react';
import { useProjector } from './projector-context';
import type { Stepper } from './use-stepper';
import { projectorIds } from './test-ids';

const keepFocus = (e: MouseEvent) => e.preventDefault();

function Btn(p: { testId: string; onClick: () => void; title: string; children: ReactNode; disabled?: boolean }) {
  return (
    <button
      data-testid={p.testId}
      onMouseDown={keepFocus}
      onClick={p.onClick}
      title={p.title}
      aria-label={p.title}
      disabled={p.disabled}
      className="rounded-lg bg-slate-800 px-3 py-1.5 text-xl font-semibold text-white hover:bg-slate-700 disabled:opacity-40 projector:px-4 projector:py-2"
    >
      {p.children}
    </button>
  );
}

const PATH_TONE = {
  request: 'bg-sky-500 text-slate-950',
  reply: 'bg-fuchsia-500 text-slate-950',
  socket: 'bg-amber-400 text-slate-950',
  diagnosis: 'bg-red-500 text-white',
} as const;

export function StepBar({ stepper, exports }: { stepper: Stepper; exports?: ReactNode }) {
  const t = useT('projector.stepBar');
  const { steps, index, step, playing, dispatch, driven } = stepper;
  const { projector, toggleProjector, setHelpOpen } = useProjector();
  const tone = step ? (step.kind === 'hop' ? step.path : step.kind) : undefined;
  const where =
    step?.kind === 'hop'
      ? tx('projector.stepBar.where', {
          path: tx(`projector.path.${step.path}`),
          ns: step.hop.netns,
          ifname: step.hop.ifname,
        })
      : step?.kind === 'socket'
        ? tx('projector.stepBar.socket')
        : step
          ? tx('projector.stepBar.whyStopped')
          : '';
  return (
    <div
      data-testid={projectorIds.stepper}
      data-index={index}
      data-step={step?.key ?? ''}
      data-playing={playing}
      className="space-y-2 rounded-xl border border-slate-700 bg-slate-900 px-4 py-3 projector:border-2 projector:border-slate-300"
    >
      <div className="flex flex-wrap items-center gap-2">
        {driven ? (
          <span className="rounded-lg bg-emerald-800 px-3 py-1.5 text-lg font-semibold">{t('theInstructorSteps')}</span>
        ) : index < 0 ? (
          <Btn testId={projectorIds.start} onClick={() => dispatch({ type: 'first' })} title={t('stepThroughHopBy')}>
            {t('stepThrough')}
          </Btn>
        ) : (
          <>
            <Btn testId={projectorIds.prev} onClick={() => dispatch({ type: 'prev' })} title={t('previousHop')}>
              ◀
            </Btn>
            <Btn
              testId={projectorIds.play}
              onClick={() => dispatch({ type: 'toggle-play' })}
              title={t('playPauseSpace')}
            >
              {playing ? t('pause') : t('play')}
            </Btn>
            <Btn
              testId={projectorIds.next}
              onClick={() => dispatch({ type: 'next' })}
              title={t('nextHop')}
              disabled={index >= steps.length - 1}
            >
              ▶
            </Btn>
            <Btn testId={projectorIds.exit} onClick={() => dispatch({ type: 'exit' })} title={t('leaveTheStepThrough')}>
              ✕
            </Btn>
          </>
        )}
        <span data-testid={projectorIds.counter} className="px-2 font-mono text-xl text-slate-300">
          {index < 0 ? tx('projector.stepBar.steps', { n: steps.length }) : `${index + 1} / ${steps.length}`}
        </span>
        {where && (
          <span className={`rounded px-2 py-0.5 text-lg font-bold ${tone ? PATH_TONE[tone] : ''}`}>{where}</span>
        )}
        <div className="ml-auto flex flex-wrap items-center gap-2">
          {exports}
          <button
            data-testid={projectorIds.projectorToggle}
            onMouseDown={keepFocus}
            onClick={toggleProjector}
            aria-pressed={projector}
            title={t('projectorModeP')}
            className={`rounded-lg px-3 py-1.5 text-lg font-semibold ${projector ? 'bg-white text-black' : 'border border-slate-600 text-slate-200 hover:bg-slate-800'}`}
          >
            {t('projector')}
          </button>
          <button
            data-testid={projectorIds.shortcutsButton}
            onMouseDown={keepFocus}
            onClick={() => setHelpOpen(true)}
            title={t('keyboardShortcuts')}
            className="rounded-lg border border-slate-600 px-3 py-1.5 text-lg font-bold text-slate-200 hover:bg-slate-800"
          >
            ?
          </button>
        </div>
      </div>
      <p
        data-testid={projectorIds.narration}
        aria-live="polite"
        className={`text-2xl leading-snug projector:text-[2rem] projector:font-semibold projector:leading-tight ${step ? 'text-white' : 'text-slate-400'}`}
      >
        {step ? step.narration : t('pressToStepThrough')}
      </p>
    </div>
  );
}
