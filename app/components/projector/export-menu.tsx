'use client';
// The journey's export buttons: the diagram as SVG or PNG (projector- or print-styled), the journey as
// JSON. Nothing goes to the server: the files are made in the browser from what is on screen.
import { tx } from '../../i18n/current';
import { useT } from '../../i18n/use-t';
import { useRef, useState, type MouseEvent } from 'react';
import type { Journey } from '../../../server/protocol/tracer';
import { downloadBlob, exportName, journeyJson, serializeDiagram, svgToPng, type ExportStyle } from './export';
import { projectorIds } from './test-ids';

const BTN =
  'rounded-lg border border-slate-600 px-3 py-1.5 text-lg font-semibold text-slate-100 hover:bg-slate-800 disabled:opacity-40';
const keepFocus = (e: MouseEvent) => e.preventDefault();

export function ExportMenu({
  journey,
  diagram,
}: {
  journey: Journey;
  /** The diagram's <svg> as it is now (the menu renders before it does). */
  diagram: () => SVGSVGElement | null;
}) {
  const t = useT('projector.exportMenu');
  const [style, setStyle] = useState<ExportStyle>('projector');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const menu = useRef<HTMLDetailsElement | null>(null);
  // A file chosen: the drop-down closes so it does not sit over the diagram (an error keeps it open).
  const close = () => {
    if (menu.current) menu.current.open = false;
  };

  const withSvg = (f: (s: ReturnType<typeof serializeDiagram>) => Promise<void> | void) => async () => {
    const svg = diagram();
    if (!svg) return setError(tx('projector.exportMenu.nothing'));
    setError(undefined);
    setBusy(true);
    try {
      await f(serializeDiagram(svg, style));
      close();
    } catch (e) {
      setError(tx('projector.exportMenu.failed', { why: e instanceof Error ? e.message : String(e) }));
    } finally {
      setBusy(false);
    }
  };

  const svgFile = withSvg((s) =>
    downloadBlob(exportName(journey, 'svg', style), new Blob([s.text], { type: 'image/svg+xml' })),
  );
  const pngFile = withSvg(async (s) =>
    downloadBlob(exportName(journey, 'png', style), await svgToPng(s.text, s.width, s.height)),
  );
  const jsonFile = () => {
    downloadBlob(exportName(journey, 'json'), new Blob([journeyJson(journey)], { type: 'application/json' }));
    close();
  };

  // A drop-down, so the step bar keeps to one row at 1280 px wide even in projector type.
  return (
    <details ref={menu} data-testid={projectorIds.exportMenu} className="relative">
      <summary className="cursor-pointer list-none rounded-lg border border-slate-600 px-3 py-1.5 text-lg font-semibold text-slate-100 hover:bg-slate-800">
        {t('export')}
      </summary>
      <div className="absolute right-0 z-30 mt-2 flex w-max flex-col gap-2 rounded-xl border border-slate-500 bg-slate-900 p-3 shadow-2xl">
        <label className="flex items-center gap-2 text-base text-slate-300">
          {t('diagramStyle')}
          <select
            data-testid={projectorIds.exportStyle}
            value={style}
            onChange={(e) => setStyle(e.target.value === 'print' ? 'print' : 'projector')}
            className="rounded-lg border border-slate-600 bg-slate-900 px-2 py-1 text-lg text-slate-100"
          >
            <option value="projector">{t('projector')}</option>
            <option value="print">{t('print')}</option>
          </select>
        </label>
        <div className="flex gap-2">
          {(
            [
              [projectorIds.exportSvg, svgFile, busy, tx('projector.exportMenu.svgTitle'), 'SVG'],
              [projectorIds.exportPng, pngFile, busy, tx('projector.exportMenu.pngTitle'), 'PNG'],
              [projectorIds.exportJson, jsonFile, journey.pending, tx('projector.exportMenu.jsonTitle'), 'JSON'],
            ] as const
          ).map(([testId, onClick, disabled, title, label]) => (
            <button
              key={label}
              data-testid={testId}
              onMouseDown={keepFocus}
              onClick={onClick}
              disabled={disabled}
              title={title}
              className={BTN}
            >
              {label}
            </button>
          ))}
        </div>
        {error && (
          <span role="alert" data-testid={projectorIds.exportError} className="max-w-xs text-base text-red-300">
            {error}
          </span>
        )}
      </div>
    </details>
  );
}
