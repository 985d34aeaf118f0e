'use client';
// The instructor's classroom: the links and the student QR (for the projector), who is connected and
// what each is doing (with a button to disconnect one), the saved captures shared with students, and
// the rotation of the tokens (which ends every connection; this page reloads on the new link).
import { say, tx } from '../../i18n/current';
import { useT } from '../../i18n/use-t';
import { useEffect, useState } from 'react';
import { z } from 'zod';
import { CaptureList } from '../../../server/protocol/capture';
import { ClassLinks, type ClassClient } from '../../../server/protocol/classroom';
import { request } from '../../lib/request';
import { useSocket } from '../../lib/socket';
import { useWatch } from '../../lib/watch';
import { classroomIds } from './test-ids';

export function ClassroomPanel({ onClose }: { onClose: () => void }) {
  const t = useT('classroom.classroomPanel');
  const { socket, state } = useSocket();
  const roster = useWatch('classroom');
  const [links, setLinks] = useState<ClassLinks | undefined>();
  const [saved, setSaved] = useState<readonly string[]>([]);
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    if (state !== 'connected') return;
    void request(socket, 'classroom:links', {}, ClassLinks).then((r) => (r.ok ? setLinks(r.value) : setError(r.error)));
    void request(socket, 'capture:list', {}, CaptureList).then(
      (r) => r.ok && setSaved(r.value.saved.map((s) => s.name)),
    );
  }, [socket, state]);

  const shared = new Set(roster.state?.shared ?? []);
  const act = (p: Promise<{ ok: boolean; error?: string }>): void =>
    void p.then((r) => setError(r.ok ? undefined : r.error));

  return (
    <aside
      data-testid={classroomIds.panel}
      className="fixed inset-y-0 right-0 z-50 flex w-[34rem] flex-col gap-4 overflow-y-auto border-l border-slate-700 bg-slate-900 p-6 shadow-2xl"
    >
      <div className="flex items-center">
        <h2 className="text-2xl font-bold">{t('classroom')}</h2>
        <button onClick={onClose} className="ml-auto rounded px-3 py-1 hover:bg-slate-800" aria-label={t('close')}>
          ✕
        </button>
      </div>
      {(error ?? roster.error) && (
        <p data-testid={classroomIds.error} className="text-red-400">
          {error ?? roster.error}
        </p>
      )}
      {links && (
        <section className="flex flex-col gap-2">
          <p className="text-sm text-slate-400">{t('studentLinkScanOr')}</p>
          <img
            data-testid={classroomIds.qr}
            alt={t('qrCodeOfThe')}
            src={`data:image/svg+xml;base64,${btoa(links.studentQrSvg)}`}
            className="w-64 self-center rounded bg-white"
          />
          <code data-testid={classroomIds.studentLink} className="break-all text-sm">
            {links.student}
          </code>
          <details>
            <summary className="cursor-pointer text-sm text-slate-400">{t('instructorLinkFullRights')}</summary>
            <code data-testid={classroomIds.instructorLink} className="break-all text-sm">
              {links.instructor}
            </code>
          </details>
          <button
            data-testid={classroomIds.rotate}
            onClick={() => {
              if (!window.confirm(tx('classroom.classroomPanel.rotateConfirm'))) return;
              void request(socket, 'classroom:rotate', {}, ClassLinks).then((r) =>
                r.ok ? window.location.assign(r.value.instructor) : setError(r.error),
              );
            }}
            className="self-start rounded border border-red-500 px-3 py-1 text-red-300 hover:bg-red-950"
          >
            {t('rotateTokens')}
          </button>
        </section>
      )}
      <section>
        <h3 className="mb-2 text-lg font-semibold">
          {t('connected')}
          {roster.state?.clients.length ?? 0})
        </h3>
        <ul data-testid={classroomIds.roster} className="flex flex-col gap-2">
          {roster.state?.clients.map((c) => (
            <ClientRow
              key={c.id}
              c={c}
              self={c.id === socket.id}
              onKick={() => act(request(socket, 'classroom:kick', { id: c.id }, z.null()))}
            />
          ))}
        </ul>
      </section>
      <section>
        <h3 className="mb-2 text-lg font-semibold">{t('capturesSharedWithStudents')}</h3>
        {saved.length === 0 && <p className="text-sm text-slate-400">{t('noSavedCapturesYet')}</p>}
        <ul className="flex flex-col gap-1">
          {saved.map((name) => (
            <li key={name}>
              <label className="flex items-center gap-2 font-mono text-sm">
                <input
                  type="checkbox"
                  data-testid={classroomIds.share(name)}
                  checked={shared.has(name)}
                  onChange={(e) =>
                    act(request(socket, 'classroom:share', { name, shared: e.target.checked }, z.array(z.string())))
                  }
                />
                {name}
              </label>
            </li>
          ))}
        </ul>
      </section>
    </aside>
  );
}

function ClientRow({ c, self, onKick }: { c: ClassClient; self: boolean; onKick: () => void }) {
  const t = useT('classroom.classroomPanel');
  const label = c.name ?? (c.role === 'instructor' ? t('instructorName') : t('joining'));
  return (
    <li
      data-testid={classroomIds.client(c.name ?? c.id)}
      data-role={c.role}
      className="rounded border border-slate-700 px-3 py-2"
    >
      <div className="flex items-center gap-2">
        <span className="font-semibold">{label}</span>
        <span className="text-xs text-slate-400">
          {c.role}
          {self ? t('you') : ''}
        </span>
        {!self && (
          <button
            data-testid={classroomIds.kick(c.name ?? c.id)}
            onClick={onKick}
            className="ml-auto rounded border border-slate-600 px-2 text-sm hover:bg-slate-800"
          >
            {t('disconnect')}
          </button>
        )}
      </div>
      {c.doing.map((d) => {
        const line = typeof d === 'string' ? d : say(d);
        return (
          <div key={line} className="text-sm text-emerald-300">
            {line}
          </div>
        );
      })}
      {c.last && (
        <div className="text-sm text-slate-400">
          {t('last')} {c.last}
        </div>
      )}
    </li>
  );
}
