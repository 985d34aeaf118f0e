'use client';
// The reconnect banner: "reconnecting…" while the connection is down, then "resumed" and what was missed,
// across the top of the screen in projector-sized type (a room sees it too).
import { useT } from '../../i18n/use-t';
import { useResume } from '../../lib/resume';
import { shellIds } from './test-ids';

export function ResumeBanner() {
  const { phase, notes } = useResume();
  const t = useT('shell.resume');
  if (phase === 'steady') return null;
  const down = phase === 'reconnecting';
  return (
    <div
      data-testid={shellIds.resume}
      data-phase={phase}
      role="status"
      aria-live="polite"
      className={`fixed inset-x-0 top-0 z-50 flex flex-wrap items-center justify-center gap-x-6 px-6 py-3 text-center text-2xl font-bold shadow-lg ${
        down ? 'bg-amber-400 text-slate-950' : 'bg-emerald-600 text-white'
      }`}
    >
      <span>{down ? t('reconnecting') : t('resumed')}</span>
      {notes.map((n, i) => (
        <span key={i} data-testid={shellIds.resumeNote} className="text-xl font-semibold">
          {t(n.key, n.values)}
        </span>
      ))}
    </div>
  );
}
