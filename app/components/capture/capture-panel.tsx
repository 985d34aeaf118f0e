'use client';
// Capture anywhere: pick a namespace and interface (or arrive from the MAC map's "capture here"), check
// the filter (its cBPF shown as a teaching aid), watch packets in tcpdump -e -n style, open one for the
// tree + hex view and the DSR explanation, annotate, export annotated pcapng.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { PacketDetail, PacketRow } from '../../../server/protocol/capture';
import { PacketDetailView } from './packet-detail';
import { captureIds } from './test-ids';
import { useCapture } from './use-capture';

/** Rows rendered in the list; the rest stay in memory (and all of them in the file). */
const SHOWN_ROWS = 400;

function clock(sec: number, nsec: number): string {
  const d = new Date(sec * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}`;
}

/** `initial` is read on mount only; the page remounts the panel (new key) for a new "capture here". */
export function CapturePanel({ initial }: { initial?: { netns: string; iface: string } }) {
  const cap = useCapture();
  const { checkFilter } = cap;
  const [netns, setNetns] = useState(initial?.netns ?? '');
  const [iface, setIface] = useState(initial?.iface ?? '');
  const [filter, setFilter] = useState('');
  const [check, setCheck] = useState<{ bytecode?: string; error?: string; pending?: boolean }>({});
  const [showBpf, setShowBpf] = useState(true);
  const [selected, setSelected] = useState<number | undefined>();
  const [detail, setDetail] = useState<PacketDetail | undefined>();
  const [follow, setFollow] = useState(true);
  const listRef = useRef<HTMLDivElement>(null);

  // Default to the first namespace/interface once targets arrive.
  useEffect(() => {
    if (!netns && cap.targets[0]) setNetns(cap.targets[0].netns);
  }, [cap.targets, netns]);
  const ifaces = useMemo(() => cap.targets.find((t) => t.netns === netns)?.ifaces ?? [], [cap.targets, netns]);
  useEffect(() => {
    // Prefer an interface that is up and carries traffic: a veth, then anything but loopback.
    if (ifaces.length && !ifaces.some((i) => i.name === iface)) {
      const pick =
        ifaces.find((i) => i.up && i.kind === 'veth') ?? ifaces.find((i) => i.up && i.name !== 'lo') ?? ifaces[0];
      setIface(pick?.name ?? '');
    }
  }, [ifaces, iface]);

  // Filter check, debounced: tcpdump -d in the chosen namespace on the chosen interface.
  useEffect(() => {
    if (!netns || !iface) return;
    setCheck((c) => ({ ...c, pending: true }));
    // Answers can arrive out of order (typing fast, switching interface): only the latest counts.
    let stale = false;
    const t = setTimeout(() => {
      void checkFilter(netns, iface, filter).then((r) => {
        if (!stale) setCheck(r.ok ? { bytecode: r.value.bytecode } : { error: r.error });
      });
    }, 350);
    return () => {
      stale = true;
      clearTimeout(t);
    };
  }, [checkFilter, netns, iface, filter]);

  useEffect(() => {
    if (follow && listRef.current) listRef.current.scrollTop = listRef.current.scrollHeight;
  }, [cap.rows, follow]);

  const openPacket = async (r: PacketRow) => {
    setSelected(r.index);
    const d = await cap.detail(r.index);
    if (d.ok) setDetail(d.value);
    else cap.setError(d.error);
  };

  const info = cap.info;
  const live = info?.state === 'running' || info?.state === 'starting';
  const shown = cap.rows.slice(-SHOWN_ROWS);

  return (
    <section data-testid={captureIds.panel} className="space-y-4 p-6 text-lg">
      <div className="flex flex-wrap items-end gap-4">
        <label className="flex flex-col">
          <span className="text-sm uppercase tracking-wide text-slate-400">namespace</span>
          <select
            data-testid={captureIds.netns}
            value={netns}
            onChange={(e) => setNetns(e.target.value)}
            className="rounded border border-slate-600 bg-slate-900 px-3 py-2"
          >
            {cap.targets.map((t) => (
              <option key={t.netns} value={t.netns}>
                {t.netns}
              </option>
            ))}
            {netns && !cap.targets.some((t) => t.netns === netns) && <option value={netns}>{netns}</option>}
          </select>
        </label>
        <button
          onClick={cap.refreshTargets}
          title="re-read namespaces and interfaces"
          aria-label="refresh namespaces"
          className="rounded border border-slate-600 px-3 py-2 hover:bg-slate-800"
        >
          ↻
        </button>
        <label className="flex flex-col">
          <span className="text-sm uppercase tracking-wide text-slate-400">interface</span>
          <select
            data-testid={captureIds.iface}
            value={iface}
            onChange={(e) => setIface(e.target.value)}
            className="rounded border border-slate-600 bg-slate-900 px-3 py-2"
          >
            {ifaces.map((i) => (
              <option key={i.name} value={i.name}>
                {i.name} ({i.kind}
                {i.up ? '' : ', down'})
              </option>
            ))}
            {iface && !ifaces.some((i) => i.name === iface) && <option value={iface}>{iface}</option>}
          </select>
        </label>
        <label className="flex min-w-[20rem] flex-1 flex-col">
          <span className="text-sm uppercase tracking-wide text-slate-400">pcap filter</span>
          <input
            data-testid={captureIds.filter}
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            placeholder="e.g. icmp or tcp port 8080"
            className={`rounded border bg-slate-900 px-3 py-2 font-mono ${check.error ? 'border-red-500' : 'border-slate-600'}`}
          />
        </label>
        {live ? (
          <button
            data-testid={captureIds.stop}
            onClick={cap.stop}
            className="rounded bg-red-600 px-5 py-2 font-bold text-white hover:bg-red-500"
          >
            Stop
          </button>
        ) : (
          <button
            data-testid={captureIds.start}
            disabled={!netns || !iface || Boolean(check.error) || check.pending}
            onClick={() => {
              setSelected(undefined);
              setDetail(undefined);
              void cap.start(netns, iface, filter);
            }}
            className="rounded bg-emerald-600 px-5 py-2 font-bold text-white hover:bg-emerald-500 disabled:opacity-40"
          >
            Capture
          </button>
        )}
        <label className="cursor-pointer rounded border border-slate-600 px-4 py-2 hover:bg-slate-800">
          Decode a file…
          <input
            data-testid={captureIds.upload}
            type="file"
            accept=".pcap,.pcapng,.cap"
            className="hidden"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) {
                setSelected(undefined);
                setDetail(undefined);
                void cap.upload(f);
              }
              e.target.value = '';
            }}
          />
        </label>
      </div>

      {check.error ? (
        <div
          data-testid={captureIds.filterError}
          className="rounded border border-red-500 bg-red-950/50 px-3 py-2 font-mono text-red-200"
        >
          {check.error}
        </div>
      ) : (
        check.bytecode && (
          <details
            open={showBpf}
            onToggle={(e) => setShowBpf((e.target as HTMLDetailsElement).open)}
            className="rounded border border-slate-700 bg-slate-950"
          >
            <summary className="cursor-pointer px-3 py-1 text-slate-300">
              cBPF bytecode (<code>tcpdump -d</code>
              {filter ? ` '${filter}'` : ''}): {check.bytecode.split('\n').length} instructions
            </summary>
            <pre
              data-testid={captureIds.bytecode}
              className="max-h-48 overflow-auto px-3 pb-2 text-base text-emerald-200"
            >
              {check.bytecode}
            </pre>
          </details>
        )
      )}

      {cap.error && (
        <div
          data-testid={captureIds.error}
          className="flex justify-between rounded border border-red-500 bg-red-950/60 px-3 py-2 text-red-200"
        >
          <span>{cap.error}</span>
          <button onClick={() => cap.setError(undefined)} aria-label="dismiss">
            ✕
          </button>
        </div>
      )}

      {info && (
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
          <span>{info.packets} packets</span>
          {info.kernel && (
            <span>
              kernel: {info.kernel.received} received, {info.kernel.dropped} dropped
            </span>
          )}
          {cap.uiDropped > 0 && (
            <span className="text-amber-300">
              {cap.uiDropped} rows not shown (browser too slow; all are in the file)
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
              Export pcapng
            </a>
          )}
        </div>
      )}

      <div className="flex items-center justify-between text-sm text-slate-400">
        <span>
          {cap.rows.length > SHOWN_ROWS
            ? `showing the last ${SHOWN_ROWS} of ${cap.rows.length}`
            : `${cap.rows.length} packets`}{' '}
          · tcpdump -e -n style
        </span>
        <label className="flex items-center gap-2">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> follow
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
            void openPacket(next);
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
            onClick={() => void openPacket(r)}
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

      {detail && selected === detail.packet.index && (
        <PacketDetailView
          detail={detail}
          onNote={async (text) => {
            const r = await cap.note(detail.packet.index, text);
            return r.ok ? undefined : r.error;
          }}
        />
      )}

      {cap.saved.length > 0 && (
        <details data-testid={captureIds.saved} className="rounded border border-slate-700">
          <summary className="cursor-pointer px-3 py-1 text-slate-300">Saved captures ({cap.saved.length})</summary>
          <ul className="divide-y divide-slate-800">
            {cap.saved.map((s) => (
              <li key={s.name} className="flex items-center gap-3 px-3 py-1">
                <span className="flex-1 font-mono">{s.name}</span>
                <span className="text-slate-400">{(s.size / 1024).toFixed(1)} KiB</span>
                <button onClick={() => cap.open(s.name)} className="rounded px-2 hover:bg-slate-800">
                  open
                </button>
                <a
                  href={`/captures/${encodeURIComponent(s.name)}`}
                  download
                  className="rounded px-2 hover:bg-slate-800"
                >
                  download
                </a>
                <button onClick={() => cap.remove(s.name)} className="rounded px-2 text-red-300 hover:bg-slate-800">
                  delete
                </button>
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
