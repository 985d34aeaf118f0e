'use client';
// Record and replay in the page. On a live server, the instructor's Record button (next to the
// classroom controls) and the line saying where the recording went. On a replay server, a strip under
// the header: which file, when it was recorded, and the player (first, previous, play/pause, next,
// last, "step 5/23", time); the page follows the recorded steps as a student follows the instructor.
import { useEffect, useState } from 'react';
import { ReplayStatus, type ReplayControlReq } from '../../../server/protocol/replay';
import { request } from '../../lib/request';
import { useSocket } from '../../lib/socket';
import { useClassroom } from '../classroom/use-classroom';
import { useClassView } from '../classroom/use-view';
import { replayIds } from './test-ids';
import { useReplayStatus } from './use-replay';
import { useT } from '../../i18n/use-t';

/** m:ss from ms; from the file's times, never the clock. */
export const clock = (ms: number): string => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};
/** The header's ISO time as `2026-12-01 18:04 UTC`, the same on every machine. */
const recordedOn = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

function useAsk() {
  const { socket } = useSocket();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const ask = (event: 'replay:control' | 'replay:record', req: unknown): void => {
    setBusy(true);
    void request(socket, event, req, ReplayStatus, { timeoutMs: 60_000 }).then((r) => {
      setBusy(false);
      setError(r.ok ? undefined : r.error);
    });
  };
  return { ask, error, busy };
}

/** In the header, for the instructor of a live server. */
export function RecordButton() {
  const status = useReplayStatus();
  const { me } = useClassroom();
  const { ask, error, busy } = useAsk();
  const t = useT('replay');
  const [now, setNow] = useState(0);
  const rec = status?.mode === 'live' ? status.recording : null;
  const since = rec?.since;
  // The elapsed time ticks while recording (the wall clock is right here: this is the live server).
  useEffect(() => {
    if (since === undefined) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [since]);
  if (!status || status.mode !== 'live' || me?.role !== 'instructor') return null;
  return (
    <span className="flex items-center gap-2 text-sm">
      {rec && (
        <span data-testid={replayIds.recordStatus} className="font-semibold text-red-400">
          {t('recording', { time: clock(Math.max(0, now - rec.since)), entries: rec.entries })}
          {rec.full && <span className="ml-2 text-amber-300">{rec.full}</span>}
        </span>
      )}
      {!rec && status.saved && (
        <span data-testid={replayIds.saved} className="max-w-md truncate text-slate-300" title={status.saved}>
          {status.saved}
        </span>
      )}
      <button
        data-testid={replayIds.record}
        data-recording={!!rec}
        disabled={busy}
        onClick={() => ask('replay:record', { on: !rec })}
        className={`rounded border px-3 py-1 disabled:opacity-50 ${rec ? 'border-red-500 bg-red-700 text-white' : 'border-slate-600 hover:bg-slate-800'}`}
      >
        {rec ? t('stop') : t('record')}
      </button>
      {error && (
        <span data-testid={replayIds.error} className="text-red-400">
          {error}
        </span>
      )}
    </span>
  );
}

/** Under the header, on a replay server. */
export function ReplayStrip() {
  const status = useReplayStatus();
  const { me } = useClassroom();
  const { ask, error, busy } = useAsk();
  const t = useT('replay');
  const view = useClassView();
  const r = status?.mode === 'replay' ? status.replay : null;
  if (!r) return null;
  const drives = me?.role === 'instructor';
  const go = (req: ReplayControlReq) => () => ask('replay:control', req);
  const button = (id: string, label: string, text: string, req: ReplayControlReq, disabled = false) => (
    <button
      data-testid={id}
      aria-label={label}
      title={label}
      disabled={busy || disabled || r.steps === 0}
      onClick={go(req)}
      className="rounded border border-slate-600 px-3 py-1 hover:bg-slate-800 disabled:opacity-40"
    >
      {text}
    </button>
  );
  return (
    <div
      data-testid={replayIds.strip}
      data-step={r.step}
      data-playing={r.playing}
      className="flex flex-wrap items-center gap-4 border-b border-violet-800 bg-violet-950/60 px-6 py-2 text-lg"
    >
      <span data-testid={replayIds.banner} className="font-semibold">
        {t('replayOf', { file: r.file, date: recordedOn(r.recordedAt), host: r.host })}
      </span>
      {drives && (
        <span className="flex items-center gap-1">
          {button(replayIds.first, t('first'), '|◀', { action: 'first' }, r.step <= 0)}
          {button(replayIds.prev, t('prev'), '◀', { action: 'prev' }, r.step <= 0)}
          {button(replayIds.play, r.playing ? t('pause') : t('play'), r.playing ? t('pause') : t('play'), {
            action: r.playing ? 'pause' : 'play',
          })}
          {button(replayIds.next, t('next'), '▶', { action: 'next' }, r.step >= r.steps - 1)}
          {button(replayIds.last, t('last'), '▶|', { action: 'last' }, r.step >= r.steps - 1)}
        </span>
      )}
      <span data-testid={replayIds.position} className="font-mono">
        {r.steps === 0 ? t('noSteps') : t('step', { n: r.step + 1, of: r.steps })}
      </span>
      <span data-testid={replayIds.time} className="font-mono text-slate-300">
        {clock(r.at)} / {clock(r.durationMs)}
        {r.speed !== 1 && ` ×${r.speed}`}
      </span>
      {/* In token mode the classroom bar has this toggle already. */}
      {!me?.tokens && view.canFollow && (
        <span data-testid={replayIds.follow} data-attached={view.attached} className="flex items-center gap-2 text-sm">
          {view.attached && <span className="rounded bg-emerald-700 px-2 py-1 font-semibold">{t('following')}</span>}
          <button
            data-testid={view.attached ? replayIds.detach : replayIds.attach}
            onClick={() => view.setAttached(!view.attached)}
            className="rounded border border-slate-600 px-3 py-1 hover:bg-slate-800"
          >
            {view.attached ? t('explore') : t('follow')}
          </button>
        </span>
      )}
      <span className="text-sm text-slate-400">{t('kernel')}</span>
      {error && (
        <span data-testid={replayIds.error} className="text-red-400">
          {error}
        </span>
      )}
    </div>
  );
}
