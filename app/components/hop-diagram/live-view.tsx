'use client';
// Live mode: a kernel-side filter traced continuously. Journeys arrive in batches (never one emit per
// packet); the newest lead a scrolling list, and the chosen one is drawn.
import { useCallback, useEffect, useRef, useState } from 'react';
import { issueLine } from '../../../server/protocol/common';
import {
  LiveFilter,
  type Journey,
  type LiveBatch,
  type LoaderStatus,
  type TraceProto,
} from '../../../server/protocol/tracer';
import { useSocket } from '../../lib/socket';
import { flowLine, packetKind } from '../../../server/protocol/vocab';
import { outcome } from './format';
import { JourneyView } from './journey-view';
import { hopIds } from './test-ids';
import type { NsChoice } from './use-namespaces';

/** Enough history to scroll back through a demo, bounded so a busy filter cannot grow the page. */
const KEEP = 200;
const LATEST_EVERY_MS = 1000;

interface Arrival {
  readonly n: number;
  readonly at: number;
  readonly journey: Journey;
}

interface FilterForm {
  readonly proto: TraceProto | '';
  readonly addr: string;
  readonly port: string;
  readonly netns: readonly string[];
}

const TONE_DOT = { ok: 'bg-emerald-400', drop: 'bg-red-500', pending: 'bg-amber-400', lost: 'bg-slate-500' } as const;

const clock = (ms: number): string => {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
};

function toFilter(f: FilterForm): unknown {
  return {
    ...(f.proto && { proto: f.proto }),
    ...(f.addr.trim() && { addr: f.addr.trim() }),
    ...(f.port && { port: Number(f.port) }),
    ...(f.netns.length > 0 && { netns: [...f.netns] }),
  };
}

export function LiveView({
  choices,
  laneInfo,
  loader,
}: {
  choices: readonly NsChoice[];
  laneInfo: Readonly<Record<string, string>>;
  loader: LoaderStatus | undefined;
}) {
  const { socket } = useSocket();
  const [form, setForm] = useState<FilterForm>({ proto: 'icmp', addr: '', port: '', netns: [] });
  const [liveId, setLiveId] = useState<string | undefined>();
  const [starting, setStarting] = useState(false);
  const [items, setItems] = useState<readonly Arrival[]>([]);
  const [counts, setCounts] = useState({ received: 0, dropped: 0, lost: 0 });
  const [picked, setPicked] = useState<number | undefined>();
  const [latest, setLatest] = useState<Arrival | undefined>();
  const latestAt = useRef(0);
  const [error, setError] = useState<string | undefined>();
  const liveRef = useRef<string | undefined>(undefined);
  // Batches that beat the start ack, by liveId.
  const early = useRef(new Map<string, LiveBatch[]>());
  const seq = useRef(0);

  const take = useCallback((b: LiveBatch) => {
    const now = Date.now();
    setItems((prev) => {
      let next = [...prev];
      for (const j of b.journeys) {
        // The same journey again (it grew): replace it where it is.
        const i = next.findIndex((a) => a.journey.id === j.id);
        if (i >= 0) next[i] = { ...(next[i] as Arrival), journey: j };
        else next = [{ n: ++seq.current, at: now, journey: j }, ...next];
      }
      return next.slice(0, KEEP);
    });
    setCounts((c) => ({ received: c.received + b.journeys.length, dropped: c.dropped + b.dropped, lost: b.lost }));
  }, []);

  useEffect(() => {
    const on = (b: LiveBatch) => {
      if (b.liveId === liveRef.current) take(b);
      else if (liveRef.current === undefined) {
        const list = early.current.get(b.liveId) ?? [];
        if (list.length < 50) list.push(b);
        early.current.set(b.liveId, list);
      }
    };
    socket.on('tracer:live', on);
    return () => {
      socket.off('tracer:live', on);
    };
  }, [socket, take]);

  // Leaving the tab (or the page) stops the kernel-side trace; nobody would see it.
  useEffect(
    () => () => {
      const id = liveRef.current;
      if (id) socket.emit('tracer:live:stop', { liveId: id }, () => undefined);
      liveRef.current = undefined;
    },
    [socket],
  );

  const start = () => {
    const parsed = LiveFilter.safeParse(toFilter(form));
    if (!parsed.success) {
      setError(issueLine(parsed.error));
      return;
    }
    setError(undefined);
    setStarting(true);
    early.current.clear();
    socket.timeout(15_000).emit('tracer:live:start', parsed.data, (err, r) => {
      setStarting(false);
      if (err) return setError('no answer from the server (is the tracer running?)');
      if (!r.ok) return setError(r.error);
      liveRef.current = r.value.liveId;
      setLiveId(r.value.liveId);
      setItems([]);
      setLatest(undefined);
      setPicked(undefined);
      setCounts({ received: 0, dropped: 0, lost: 0 });
      for (const b of early.current.get(r.value.liveId) ?? []) take(b);
      early.current.clear();
    });
  };

  const stop = () => {
    const id = liveRef.current;
    liveRef.current = undefined;
    setLiveId(undefined);
    if (id)
      socket.timeout(10_000).emit('tracer:live:stop', { liveId: id }, (err, r) => {
        if (err) setError('stop: no answer from the server');
        else if (!r.ok) setError(r.error);
      });
  };

  // Unpicked, the diagram shows the newest journey, but changes at most once a second: a busy filter
  // would otherwise redraw it every batch, faster than anyone can read it.
  const newest = items[0];
  useEffect(() => {
    if (!newest) return;
    const t = setTimeout(
      () => {
        latestAt.current = Date.now();
        setLatest(newest);
      },
      Math.max(0, latestAt.current + LATEST_EVERY_MS - Date.now()),
    );
    return () => clearTimeout(t);
  }, [newest]);
  const shown = (picked !== undefined ? items.find((a) => a.n === picked) : undefined) ?? latest ?? newest;
  const nsChoices = choices.filter((c) => c.present).map((c) => c.name);
  const toggleNs = (name: string) =>
    setForm((f) => ({ ...f, netns: f.netns.includes(name) ? f.netns.filter((n) => n !== name) : [...f.netns, name] }));
  const running = liveId !== undefined;

  return (
    <div className="space-y-3">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!running && !starting) start();
        }}
        className="flex flex-wrap items-center gap-3 rounded-xl border border-slate-800 bg-slate-900/70 p-4 text-lg"
      >
        <label className="flex items-center gap-2">
          <span className="text-slate-400">proto</span>
          <select
            data-testid={hopIds.liveProto}
            value={form.proto}
            disabled={running}
            onChange={(e) => setForm({ ...form, proto: e.target.value as FilterForm['proto'] })}
            className="rounded-lg border-2 border-slate-600 bg-slate-800 px-2 py-1.5"
          >
            <option value="">any</option>
            <option value="icmp">icmp</option>
            <option value="tcp">tcp</option>
            <option value="udp">udp</option>
          </select>
        </label>
        <label className="flex items-center gap-2">
          <span className="text-slate-400">address</span>
          <input
            data-testid={hopIds.liveAddr}
            value={form.addr}
            disabled={running}
            onChange={(e) => setForm({ ...form, addr: e.target.value })}
            placeholder="any"
            spellCheck={false}
            className="w-44 rounded-lg border-2 border-slate-600 bg-slate-800 px-3 py-1.5 font-mono"
          />
        </label>
        <label className="flex items-center gap-2">
          <span className="text-slate-400">port</span>
          <input
            data-testid={hopIds.livePort}
            value={form.port}
            disabled={running}
            inputMode="numeric"
            onChange={(e) => setForm({ ...form, port: e.target.value.replace(/[^0-9]/g, '').slice(0, 5) })}
            placeholder="any"
            className="w-24 rounded-lg border-2 border-slate-600 bg-slate-800 px-3 py-1.5 font-mono"
          />
        </label>
        <div className="flex flex-wrap items-center gap-1">
          <span className="mr-1 text-slate-400">in</span>
          {nsChoices.map((n) => (
            <button
              key={n}
              type="button"
              disabled={running}
              data-testid={hopIds.liveNs(n)}
              data-selected={form.netns.includes(n)}
              onClick={() => toggleNs(n)}
              className={`rounded border px-2 py-1 text-base ${form.netns.includes(n) ? 'border-sky-400 bg-sky-700 text-white' : 'border-slate-600 bg-slate-800 text-slate-300'} disabled:opacity-50`}
            >
              {n}
            </button>
          ))}
          {form.netns.length === 0 && <span className="text-base text-slate-500">(all namespaces)</span>}
        </div>
        <div className="ml-auto flex gap-2">
          {running ? (
            // Distinct keys: reusing one <button> would turn it into "submit" mid-click and restart the trace.
            <button
              key="stop"
              type="button"
              data-testid={hopIds.liveStop}
              onClick={stop}
              className="rounded-lg bg-red-600 px-6 py-2 text-xl font-bold text-white hover:bg-red-500"
            >
              ■ Stop
            </button>
          ) : (
            <button
              key="start"
              type="submit"
              data-testid={hopIds.liveStart}
              disabled={starting}
              className="rounded-lg bg-emerald-600 px-6 py-2 text-xl font-bold text-white hover:bg-emerald-500 disabled:opacity-40"
            >
              {starting ? 'Starting…' : '● Go live'}
            </button>
          )}
        </div>
      </form>
      {error && (
        <p
          role="alert"
          data-testid={hopIds.liveError}
          className="rounded border border-red-700 bg-red-950/50 px-4 py-2 text-lg text-red-200"
        >
          {error}
        </p>
      )}
      <div
        data-testid={hopIds.liveCounters}
        data-received={counts.received}
        data-dropped={counts.dropped}
        data-lost={counts.lost}
        className="flex flex-wrap gap-x-6 text-lg"
      >
        <span className={running ? 'font-semibold text-emerald-300' : 'text-slate-400'}>
          {running ? '● live' : 'stopped'}
        </span>
        <span>
          journeys <b className="font-mono">{counts.received}</b>
        </span>
        <span className={counts.dropped > 0 ? 'text-amber-300' : 'text-slate-300'}>
          not shown (browser behind) <b className="font-mono">{counts.dropped}</b>
        </span>
        <span className={counts.lost > 0 ? 'text-red-300' : 'text-slate-300'}>
          lost in kernel <b className="font-mono">{counts.lost}</b>
        </span>
        {picked !== undefined && (
          <button
            type="button"
            onClick={() => setPicked(undefined)}
            className="rounded border border-slate-600 px-3 text-base text-slate-200 hover:bg-slate-800"
          >
            ↑ show the newest
          </button>
        )}
        {loader?.state === 'ready' && (
          <span data-testid={hopIds.loaderInfo} data-pid={loader.pid} className="text-slate-400">
            loader: {loader.emitted.toLocaleString()} events
            {loader.badLines > 0 && `, ${loader.badLines} bad lines`}
            {loader.attachMs !== undefined && ` · attached in ${Math.round(loader.attachMs)} ms`}
          </span>
        )}
      </div>
      <div className="grid grid-cols-[21rem_1fr] gap-4">
        <ol data-testid={hopIds.liveList} className="max-h-[72vh] space-y-1 overflow-y-auto pr-1">
          {items.length === 0 && (
            <li className="rounded-lg border border-dashed border-slate-700 p-4 text-lg text-slate-400">
              {running
                ? 'Waiting for matching packets…'
                : 'Set a filter and go live. Each packet that matches shows up here.'}
            </li>
          )}
          {items.map((a) => {
            const o = outcome(a.journey);
            const first = a.journey.hops[0] ?? a.journey.reply?.hops[0];
            const on = shown?.n === a.n;
            return (
              <li key={a.n}>
                <button
                  type="button"
                  data-testid={hopIds.liveItem(a.n)}
                  data-selected={on}
                  onClick={() => setPicked(a.n)}
                  className={`w-full rounded-lg border px-3 py-2 text-left ${on ? 'border-sky-400 bg-slate-800' : 'border-slate-800 bg-slate-900 hover:border-slate-600'}`}
                >
                  <div className="flex items-center gap-2 text-base">
                    <span className={`inline-block h-3 w-3 shrink-0 rounded-full ${TONE_DOT[o.tone]}`} aria-hidden />
                    <span className="font-mono text-slate-400">{clock(a.at)}</span>
                    <span className="font-mono uppercase text-sky-300">{a.journey.proto}</span>
                    {first && <span className="truncate text-slate-300">{packetKind(first)}</span>}
                    <span className="ml-auto text-slate-400">
                      {a.journey.hops.length}
                      {a.journey.reply ? `+${a.journey.reply.hops.length}` : ''} hops
                    </span>
                  </div>
                  {first && <div className="truncate font-mono text-lg">{flowLine(first)}</div>}
                  <div className="truncate text-base text-slate-400">
                    {a.journey.lanes.join(' › ')}
                    {o.tone === 'drop' && <span className="text-red-300"> · {o.label}</span>}
                  </div>
                </button>
              </li>
            );
          })}
        </ol>
        <div className="min-w-0">
          {shown ? (
            <JourneyView journey={shown.journey} laneInfo={laneInfo} autoPlay={picked !== undefined} />
          ) : (
            <div className="flex h-64 items-center justify-center rounded-xl border border-dashed border-slate-700 text-xl text-slate-500">
              The chosen journey is drawn here.
            </div>
          )}
        </div>
      </div>
    </div>
  );
}
