'use client';
// The open capture's state line (packets, kernel drops, exit reason, export) and the saved captures.
import { useT } from '../../i18n/use-t';
import type { CaptureInfo } from '../../../server/protocol/capture';
import { captureIds } from './test-ids';
import type { CaptureView } from './use-capture';

export function CaptureStatus({ info, uiDropped }: { info: CaptureInfo; uiDropped: number }) {
  const t = useT('capture.captureStatus');
  return (
    <div
      data-testid={captureIds.status}
      data-state={info.state}
      className="flex flex-wrap items-center gap-4 text-slate-300"
    >
      <span
        className={`rounded px-3 py-1 font-semibold ${info.state === 'running' ? 'bg-emerald-600 text-white' : info.state === 'failed' ? 'bg-red-600 text-white' : 'bg-slate-700'}`}
      >
        {info.state}
      </span>
      <span className="font-mono">
        {info.iface}@{info.netns}
        {info.filter && ` · ${info.filter}`}
      </span>
      <span>
        {info.packets} {t('packets')}
      </span>
      {info.kernel && (
        <span>
          {t('kernel')} {info.kernel.received} {t('received')} {info.kernel.dropped} {t('dropped')}
        </span>
      )}
      {uiDropped > 0 && (
        <span className="text-amber-300">
          {uiDropped} {t('rowsNotShownBrowser')}
        </span>
      )}
      {info.exit && (
        <span className={info.state === 'failed' ? 'font-semibold text-red-300' : 'text-slate-400'}>
          {info.exit.reason}
        </span>
      )}
      {info.fileName && (
        <a
          data-testid={captureIds.export}
          href={`/captures/${encodeURIComponent(info.fileName)}`}
          download
          className="ml-auto rounded bg-sky-700 px-4 py-1 font-semibold text-white hover:bg-sky-600"
        >
          {t('exportPcapng')}
        </a>
      )}
    </div>
  );
}

/** Saved pcapng files: open one like a live capture, download it, or delete it. */
export function SavedList({ cap }: { cap: CaptureView }) {
  const t = useT('capture.captureStatus');
  if (cap.saved.length === 0) return null;
  return (
    <details data-testid={captureIds.saved} className="rounded border border-slate-700">
      <summary className="cursor-pointer px-3 py-1 text-slate-300">
        {t('savedCaptures')}
        {cap.saved.length})
      </summary>
      <ul className="divide-y divide-slate-800">
        {cap.saved.map((s) => (
          <li key={s.name} className="flex items-center gap-3 px-3 py-1">
            <span className="flex-1 font-mono">{s.name}</span>
            <span className="text-slate-400">
              {(s.size / 1024).toFixed(1)} {t('kib')}
            </span>
            <button onClick={() => cap.open(s.name)} className="rounded px-2 hover:bg-slate-800">
              {t('open')}
            </button>
            <a href={`/captures/${encodeURIComponent(s.name)}`} download className="rounded px-2 hover:bg-slate-800">
              {t('download')}
            </a>
            <button onClick={() => cap.remove(s.name)} className="rounded px-2 text-red-300 hover:bg-slate-800">
              {t('delete')}
            </button>
          </li>
        ))}
      </ul>
    </details>
  );
}
