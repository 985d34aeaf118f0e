'use client';
// Live mode: a kernel-side filter traced continuously. Journeys arrive in batches (never one emit per
// packet); the newest lead a scrolling list, and the chosen one is drawn.
import { useT } from '../../i18n/use-t';
import { useEffect, useRef, useState } from 'react';
import type { LoaderStatus } from '../../../server/protocol/tracer';
import { flowLine, packetKind } from '../../../server/protocol/vocab';
import { outcome } from './format';
import { JourneyView } from './journey-view';
import { initialFilter, LiveForm, toFilter, type FilterForm } from './live-form';
import { hopIds } from './test-ids';
import { useLive, type Arrival, type LiveCounts } from './use-live';
import type { NsChoice } from './use-namespaces';

const LATEST_EVERY_MS = 1000;

const TONE_DOT = { ok: 'bg-emerald-400', drop: 'bg-red-500', pending: 'bg-amber-400', lost: 'bg-slate-500' } as const;

const clock = (ms: number): string => {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
};

/**
 * Unpicked, the diagram shows the newest journey, but changes at most once a second: a busy filter
 * would otherwise redraw it every batch, faster than anyone can read it.
 */
function useShown(items: readonly Arrival[], picked: number | undefined): Arrival | undefined {
  const [latest, setLatest] = useState<Arrival | undefined>();
  const latestAt = useRef(0);
  const newest = items[0];
  useEffect(() => {
    if (!newest) return setLatest(undefined);
    const t = setTimeout(
      () => {
        latestAt.current = Date.now();
        setLatest(newest);
      },
      Math.max(0, latestAt.current + LATEST_EVERY_MS - Date.now()),
    );
    return () => clearTimeout(t);
  }, [newest]);
  return (picked !== undefined ? items.find((a) => a.n === picked) : undefined) ?? latest ?? newest;
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
  const tr = useT('hopDiagram.liveView');
  const live = useLive();
  const [form, setForm] = useState<FilterForm>(initialFilter);
  const [picked, setPicked] = useState<number | undefined>();
  const shown = useShown(live.items, picked);
  const { running, items } = live;

  return (
    <div className="space-y-3">
      <LiveForm
        form={form}
        onChange={setForm}
        namespaces={choices.filter((c) => c.present).map((c) => c.name)}
        running={running}
        starting={live.starting}
        onStart={() => {
          setPicked(undefined);
          live.start(toFilter(form));
        }}
        onStop={live.stop}
      />
      {live.error && (
        <p
          role="alert"
          data-testid={hopIds.liveError}
          className="rounded border border-red-700 bg-red-950/50 px-4 py-2 text-lg text-red-200"
        >
          {live.error}
        </p>
      )}
      <LiveCounters
        counts={live.counts}
        running={running}
        loader={loader}
        onNewest={picked !== undefined ? () => setPicked(undefined) : undefined}
      />
      <div className="grid grid-cols-[21rem_1fr] gap-4">
        <ol data-testid={hopIds.liveList} className="max-h-[72vh] space-y-1 overflow-y-auto pr-1">
          {items.length === 0 && (
            <li className="rounded-lg border border-dashed border-slate-700 p-4 text-lg text-slate-400">
              {running ? tr('waitingForMatchingPackets') : tr('setAFilterAnd')}
            </li>
          )}
          {items.map((a) => (
            <LiveItem key={a.n} arrival={a} on={shown?.n === a.n} onPick={() => setPicked(a.n)} />
          ))}
        </ol>
        <div className="min-w-0">
          {shown ? (
            <JourneyView journey={shown.journey} laneInfo={laneInfo} autoPlay={picked !== undefined} />
          ) : (
            <div className="flex h-64 items-center justify-center rounded-xl border border-dashed border-slate-700 text-xl text-slate-500">
              {tr('theChosenJourneyIs')}
            </div>
          )}
        </div>
      </div>
    </div>
  );
}

function LiveCounters({
  counts,
  running,
  loader,
  onNewest,
}: {
  counts: LiveCounts;
  running: boolean;
  loader: LoaderStatus | undefined;
  /** Present while a journey is picked: back to following the newest. */
  onNewest: (() => void) | undefined;
}) {
  const tr = useT('hopDiagram.liveView');
  return (
    <div
      data-testid={hopIds.liveCounters}
      data-received={counts.received}
      data-dropped={counts.dropped}
      data-lost={counts.lost}
      className="flex flex-wrap gap-x-6 text-lg"
    >
      <span className={running ? 'font-semibold text-emerald-300' : 'text-slate-400'}>
        {running ? tr('live') : tr('stopped')}
      </span>
      <span>
        {tr('journeys')} <b className="font-mono">{counts.received}</b>
      </span>
      <span className={counts.dropped > 0 ? 'text-amber-300' : 'text-slate-300'}>
        {tr('notShownOver1')} <b className="font-mono">{counts.dropped}</b>
      </span>
      <span className={counts.lost > 0 ? 'text-red-300' : 'text-slate-300'}>
        {tr('lostInKernel')} <b className="font-mono">{counts.lost}</b>
      </span>
      {onNewest && (
        <button
          type="button"
          onClick={onNewest}
          className="rounded border border-slate-600 px-3 text-base text-slate-200 hover:bg-slate-800"
        >
          {tr('showTheNewest')}
        </button>
      )}
      {loader?.state === 'ready' && (
        <span data-testid={hopIds.loaderInfo} data-pid={loader.pid} className="text-slate-400">
          {tr('loader')} {loader.emitted.toLocaleString()} {tr('events')}
          {loader.badLines > 0 && tr('badLines', { n: loader.badLines })}
          {loader.attachMs !== undefined && tr('attachedIn', { ms: Math.round(loader.attachMs) })}
        </span>
      )}
    </div>
  );
}

function LiveItem({ arrival: a, on, onPick }: { arrival: Arrival; on: boolean; onPick: () => void }) {
  const tr = useT('hopDiagram.liveView');
  const o = outcome(a.journey);
  const first = a.journey.hops[0] ?? a.journey.reply?.hops[0];
  return (
    <li>
      <button
        type="button"
        data-testid={hopIds.liveItem(a.n)}
        data-selected={on}
        onClick={onPick}
        className={`w-full rounded-lg border px-3 py-2 text-left ${on ? 'border-sky-400 bg-slate-800' : 'border-slate-800 bg-slate-900 hover:border-slate-600'}`}
      >
        <div className="flex items-center gap-2 text-base">
          <span className={`inline-block h-3 w-3 shrink-0 rounded-full ${TONE_DOT[o.tone]}`} aria-hidden />
          <span className="font-mono text-slate-400">{clock(a.at)}</span>
          <span className="font-mono uppercase text-sky-300">{a.journey.proto}</span>
          {first && <span className="truncate text-slate-300">{packetKind(first)}</span>}
          <span className="ml-auto text-slate-400">
            {a.journey.hops.length}
            {a.journey.reply ? `+${a.journey.reply.hops.length}` : ''} {tr('hops')}
          </span>
        </div>
        {first && <div className={`${first.ipv6 ? 'break-all' : 'truncate'} font-mono text-lg`}>{flowLine(first)}</div>}
        <div className="truncate text-base text-slate-400">
          {a.journey.lanes.join(' › ')}
          {o.tone === 'drop' && <span className="text-red-300"> · {o.label}</span>}
        </div>
      </button>
    </li>
  );
}
