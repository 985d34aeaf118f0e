'use client';
// A following student's page: the bar to detach or re-attach, and the instructor's journey (its step
// driven by the broadcast) or capture (when shared) in place of the student's own panel, which stays
// mounted underneath so exploring alone picks up where it was.
import { msg } from '../../../server/protocol/i18n/msg';
import { say } from '../../i18n/current';
import { useT } from '../../i18n/use-t';
import { useEffect, useState, type ReactNode } from 'react';
import { CaptureShown, PacketDetail, type PacketRow } from '../../../server/protocol/capture';
import { PacketDetailView } from '../capture/packet-detail';
import { JourneyView } from '../hop-diagram/journey-view';
import { StepSyncContext } from '../projector/step-sync';
import { request } from '../../lib/request';
import { useSubscribe } from '../../lib/subscribe';
import { classroomIds } from './test-ids';
import { useClassView, type Shown } from './use-view';

/** In the header: following or exploring alone, one click each way. */
export function FollowToggle() {
  const t = useT('classroom.followed');
  const { canFollow, attached, setAttached, error } = useClassView();
  if (!canFollow) return null;
  return (
    <span data-testid={classroomIds.follow} data-attached={attached} className="flex items-center gap-2 text-sm">
      {attached && (
        <span className="rounded bg-emerald-700 px-2 py-1 font-semibold">{t('followingTheInstructor')}</span>
      )}
      <button
        data-testid={attached ? classroomIds.detach : classroomIds.attach}
        onClick={() => setAttached(!attached)}
        className="rounded border border-slate-600 px-3 py-1 hover:bg-slate-800"
      >
        {attached ? t('exploreOnMyOwn') : t('followTheInstructor')}
      </button>
      {error && <span className="text-red-400">{error}</span>}
    </span>
  );
}

/** The instructor's `part` while attached and shown, else the student's own panel (kept mounted). */
export function FollowedSwap({ part, own }: { part: 'journey' | 'capture'; own: ReactNode }) {
  const { followed } = useClassView();
  const theirs =
    part === 'journey'
      ? followed?.journey && <FollowedJourney shown={followed} journey={followed.journey} />
      : followed?.capture && <FollowedCapture shown={followed} />;
  return (
    <>
      {theirs}
      <div hidden={!!theirs} className="h-full">
        {own}
      </div>
    </>
  );
}

function FollowedJourney({ shown, journey }: { shown: Shown; journey: NonNullable<Shown['journey']> }) {
  const t = useT('classroom.followed');
  return (
    <section data-testid={classroomIds.followedJourney} className="space-y-4 p-5">
      <h2 className="text-3xl font-bold">{t('theInstructorSJourney')}</h2>
      <StepSyncContext.Provider value={{ driven: shown.step }}>
        <JourneyView journey={journey} autoPlay={false} />
      </StepSyncContext.Provider>
    </section>
  );
}

function FollowedCapture({ shown }: { shown: Shown }) {
  const t = useT('classroom.followed');
  const c = shown.capture;
  const [open, setOpen] = useState<{ id: string; rows: readonly PacketRow[] } | undefined>();
  const [detail, setDetail] = useState<PacketDetail | undefined>();
  const [error, setError] = useState<string | undefined>();
  const key = c?.shared ? `${c.id ?? ''}:${c.file ?? ''}` : '';

  const socket = useSubscribe({
    on: {
      'capture:packets': (m) => {
        if (m.id === open?.id) setOpen({ id: m.id, rows: open.rows.concat(m.rows).slice(-2000) });
      },
    },
  });
  useEffect(() => {
    setOpen(undefined);
    if (!key || !c) return;
    const ask = c.id
      ? request(socket, 'capture:watch', { id: c.id }, CaptureShown)
      : request(socket, 'capture:open', { name: c.file }, CaptureShown, { timeoutMs: 60_000 });
    void ask.then((r) => (r.ok ? setOpen({ id: r.value.info.id, rows: r.value.rows }) : setError(r.error)));
  }, [key, socket]);
  const id = open?.id;
  useEffect(() => {
    setDetail(undefined);
    if (!id || shown.packet === null) return;
    void request(socket, 'capture:packet', { id, index: shown.packet }, PacketDetail).then((r) =>
      r.ok ? setDetail(r.value) : setError(r.error),
    );
  }, [id, shown.packet, socket]);

  if (!c) return null;
  return (
    <section data-testid={classroomIds.followedCapture} className="space-y-3 p-6 text-lg">
      <h2 className="text-2xl font-bold">
        {t('theInstructorSCapture')} {c.label}
      </h2>
      {!c.shared ? (
        <p data-testid={classroomIds.notShared} className="text-amber-300">
          {t('theInstructorSCapture2')}
        </p>
      ) : (
        <>
          {error && <p className="text-red-400">{error}</p>}
          <div className="h-60 overflow-auto rounded border border-slate-700 bg-slate-950 font-mono text-base">
            {open?.rows.map((r) => (
              <div key={r.index} className={`px-2 ${r.index === shown.packet ? 'bg-sky-800' : ''}`}>
                {r.index + 1} {r.summary}
              </div>
            ))}
          </div>
          {detail && <PacketDetailView detail={detail} onNote={async () => say(msg('err.class.captureNote'))} />}
        </>
      )}
    </section>
  );
}
