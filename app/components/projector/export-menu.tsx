'use client';
// The journey's export buttons: the diagram as SVG or PNG (projector- or print-styled), the journey as
// JSON. Nothing goes to the server: the files are made in the browser from what is on screen.
import { useState, type MouseEvent } from 'react';
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
  const [style, setStyle] = useState<ExportStyle>('projector');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const withSvg = (f: (s: ReturnType<typeof serializeDiagram>) => Promise<void> | void) => async () => {
    const svg = diagram();
    if (!svg) return setError('no diagram to export yet');
    setError(undefined);
    setBusy(true);
    try {
      await f(serializeDiagram(svg, style));
    } catch (e) {
      setError(`export failed: ${e instanceof Error ? e.message : String(e)}`);
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
  const jsonFile = () =>
    downloadBlob(exportName(journey, 'json'), new Blob([journeyJson(journey)], { type: 'application/json' }));

  return (
    <div className="flex items-center gap-2">
      <span className="text-base text-slate-400">export</span>
      <select
        data-testid={projectorIds.exportStyle}
        value={style}
        onChange={(e) => setStyle(e.target.value === 'print' ? 'print' : 'projector')}
        title="look of the exported diagram"
        className="rounded-lg border border-slate-600 bg-slate-900 px-2 py-1.5 text-lg text-slate-100"
      >
        <option value="projector">projector</option>
        <option value="print">print</option>
      </select>
      <button
        data-testid={projectorIds.exportSvg}
        onMouseDown={keepFocus}
        onClick={svgFile}
        disabled={busy}
        className={BTN}
      >
        SVG
      </button>
      <button
        data-testid={projectorIds.exportPng}
        onMouseDown={keepFocus}
        onClick={pngFile}
        disabled={busy}
        className={BTN}
      >
        PNG
      </button>
      <button
        data-testid={projectorIds.exportJson}
        onMouseDown={keepFocus}
        onClick={jsonFile}
        disabled={journey.pending}
        title="the journey as follow --json prints it"
        className={BTN}
      >
        JSON
      </button>
      {error && (
        <span role="alert" data-testid={projectorIds.exportError} className="text-base text-red-300">
          {error}
        </span>
      )}
    </div>
  );
}
