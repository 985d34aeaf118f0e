'use client';
// Capture anywhere: pick a namespace and interface (or arrive from the MAC map's "capture here"), check
// the filter (its cBPF shown as a teaching aid), watch packets in tcpdump -e -n style, open one for the
// tree + hex view and the DSR explanation, annotate, export annotated pcapng.
import { useT } from '../../i18n/use-t';
import { useEffect, useRef, useState } from 'react';
import type { PacketDetail, PacketRow } from '../../../server/protocol/capture';
import { CaptureControls, FilterCheckView } from './capture-controls';
import { CaptureStatus, SavedList } from './capture-status';
import { PacketDetailView } from './packet-detail';
import { useReportCapture } from '../classroom/use-view';
import { captureIds } from './test-ids';
import { useCapture } from './use-capture';
import { useCaptureForm } from './use-capture-form';

/** Rows rendered in the list; the rest stay in memory (and all of them in the file). */
const SHOWN_ROWS = 400;

function clock(sec: number, nsec: number): string {
  const d = new Date(sec * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}`;
}

/** `initial` is read on mount only; the page remounts the panel (new key) for a new "capture here". */
export function CapturePanel({ initial }: { initial?: { netns: string; iface: string } }) {
  const t = useT('capture.capturePanel');
  const cap = useCapture();
  const form = useCaptureForm(cap, initial);
  const [selected, setSelected] = useState<number | undefined>();
  const [detail, setDetail] = useState<PacketDetail | undefined>();

  const openPacket = async (r: PacketRow) => {
    setSelected(r.index);
    const d = await cap.detail(r.index);
    if (d.ok) setDetail(d.value);
    else cap.setError(d.error);
  };
  const reset = () => {
    setSelected(undefined);
    setDetail(undefined);
  };

  const info = cap.info;
  useReportCapture(info, selected);
  const live = info?.state === 'running' || info?.state === 'starting';

  return (
    <section data-testid={captureIds.panel} className="space-y-4 p-6 text-lg">
      <CaptureControls cap={cap} form={form} live={live} onReset={reset} />
      <FilterCheckView form={form} />
      {cap.error && (
        <div
          data-testid={captureIds.error}
          className="flex justify-between rounded border border-red-500 bg-red-950/60 px-3 py-2 text-red-200"
        >
          <span>{cap.error}</span>
          <button onClick={() => cap.setError(undefined)} aria-label={t('dismiss')}>
            ✕
          </button>
        </div>
      )}
      {info && <CaptureStatus info={info} uiDropped={cap.uiDropped} />}
      <PacketList rows={cap.rows} selected={selected} onOpen={(r) => void openPacket(r)} />
      {detail && selected === detail.packet.index && (
        <PacketDetailView
          detail={detail}
          onNote={async (text) => {
            const r = await cap.note(detail.packet.index, text);
            return r.ok ? undefined : r.error;
          }}
        />
      )}
      <SavedList cap={cap} />
    </section>
  );
}

/** The rows in tcpdump -e -n style, following the newest unless the user steps through them. */
function PacketList({
  rows,
  selected,
  onOpen,
}: {
  rows: readonly PacketRow[];
  selected: number | undefined;
  onOpen: (r: PacketRow) => void;
}) {
  const t = useT('capture.capturePanel');
  const [follow, setFollow] = useState(true);
  const listRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (follow && listRef.current) listRef.current.scrollTop = listRef.current.scrollHeight;
  }, [rows, follow]);
  const shown = rows.slice(-SHOWN_ROWS);
  return (
    <>
      <div className="flex items-center justify-between text-sm text-slate-400">
        <span>
          {rows.length > SHOWN_ROWS
            ? t('showingLast', { shown: SHOWN_ROWS, n: rows.length })
            : t('packets', { n: rows.length })}{' '}
          {t('tcpdumpENStyle')}
        </span>
        <label className="flex items-center gap-2">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> {t('follow')}
        </label>
      </div>
      <div
        ref={listRef}
        data-testid={captureIds.list}
        tabIndex={0}
        onKeyDown={(e) => {
          // Arrow keys step through packets, so an instructor can walk a handshake from the keyboard.
          if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
          e.preventDefault();
          const at = shown.findIndex((r) => r.index === selected);
          const next =
            shown[at < 0 ? 0 : Math.min(shown.length - 1, Math.max(0, at + (e.key === 'ArrowDown' ? 1 : -1)))];
          if (next) {
            setFollow(false);
            onOpen(next);
            listRef.current
              ?.querySelector(`[data-testid="${captureIds.row(next.index)}"]`)
              ?.scrollIntoView({ block: 'nearest' });
          }
        }}
        className="h-72 overflow-auto rounded border border-slate-700 bg-slate-950 font-mono text-base"
      >
        {shown.map((r) => (
          <div
            key={r.index}
            data-testid={captureIds.row(r.index)}
            data-dsr={r.dsr !== null}
            onClick={() => onOpen(r)}
            className={`flex cursor-pointer gap-3 whitespace-nowrap px-2 ${selected === r.index ? 'bg-sky-800' : r.malformed ? 'bg-red-950/50 hover:bg-slate-800' : 'hover:bg-slate-800'}`}
          >
            <span className="w-12 shrink-0 text-right text-slate-500">{r.index + 1}</span>
            <span className="shrink-0 text-slate-400">{clock(r.tsSec, r.tsNsec)}</span>
            {r.dsr && (
              <span className="shrink-0 rounded bg-fuchsia-600 px-1.5 text-sm font-bold text-white">
                DSR {r.dsr.addr.includes(':') ? `[${r.dsr.addr}]` : r.dsr.addr}:{r.dsr.port}
              </span>
            )}
            <span className="text-slate-100">{r.summary}</span>
          </div>
        ))}
      </div>
    </>
  );
}
