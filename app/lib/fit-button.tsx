'use client';
import { useT } from '../i18n/use-t';
// "Fit": puts a zoomed SVG (use-svg-zoom.ts) back to the whole drawing; each view keeps its toolbar's look.

const LOOK = {
  outline: 'rounded border border-slate-600 px-3 py-1.5 text-base text-slate-200 hover:bg-slate-800',
  filled: 'rounded bg-slate-800 px-3 py-2 text-base hover:bg-slate-700',
} as const;

export function FitButton({ testId, onFit, look }: { testId: string; onFit: () => void; look: keyof typeof LOOK }) {
  const t = useT('lib.fitButton');
  return (
    <button data-testid={testId} onClick={onFit} className={LOOK[look]}>
      {t('fit')}
    </button>
  );
}
