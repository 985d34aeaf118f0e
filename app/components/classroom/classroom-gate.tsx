'use client';
// In front of the whole page: the page renders once the server has said who this is, and a student
// types a display name first (the server refuses a student's requests until then).
import { useT } from '../../i18n/use-t';
import { useState, type ReactNode } from 'react';
import { ConnectionBadge } from '../shell/connection-badge';
import { classroomIds } from './test-ids';
import { ClassroomContext, useClassroomState } from './use-classroom';
import { ClassViewProvider } from './use-view';

export function ClassroomGate({ children }: { children: ReactNode }) {
  const t = useT('classroom.classroomGate');
  const state = useClassroomState();
  const { me, notice, error } = state;
  let body: ReactNode;
  if (!me)
    body = (
      <div data-testid={classroomIds.waiting} className="flex min-h-screen items-center justify-center gap-4 text-xl">
        <ConnectionBadge />
        {error ? <span className="text-red-400">{error}</span> : <span>{t('connectingToTheServer')}</span>}
      </div>
    );
  else if (me.role === 'student' && !me.name) body = <JoinForm join={state.join} />;
  else body = <ClassViewProvider me={me}>{children}</ClassViewProvider>;
  return (
    <ClassroomContext.Provider value={state}>
      {notice && (
        <div
          data-testid={classroomIds.notice}
          role="alert"
          className="bg-amber-500 px-6 py-2 text-center text-lg font-semibold text-slate-950"
        >
          {notice}
        </div>
      )}
      {body}
    </ClassroomContext.Provider>
  );
}

function JoinForm({ join }: { join: (name: string) => Promise<{ ok: boolean; error?: string }> }) {
  const t = useT('classroom.classroomGate');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  return (
    <main className="flex min-h-screen items-center justify-center">
      <form
        data-testid={classroomIds.join}
        className="flex w-[28rem] flex-col gap-4 rounded-lg border border-slate-700 bg-slate-900 p-8"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          void join(name).then((r) => {
            setBusy(false);
            setError(r.ok ? undefined : r.error);
          });
        }}
      >
        <h1 className="text-2xl font-bold">
          packet<span className="text-sky-400">-journey</span> {t('joinTheClass')}
        </h1>
        <label className="flex flex-col gap-2 text-lg">
          {t('yourNameAsThe')}
          <input
            data-testid={classroomIds.joinName}
            value={name}
            maxLength={40}
            autoFocus
            onChange={(e) => setName(e.target.value)}
            className="rounded border border-slate-600 bg-slate-950 px-3 py-2"
          />
        </label>
        {error && (
          <p data-testid={classroomIds.joinError} className="text-red-400">
            {error}
          </p>
        )}
        <button
          data-testid={classroomIds.joinSubmit}
          disabled={busy || name.trim() === ''}
          className="rounded bg-sky-600 px-4 py-2 text-lg font-semibold text-white disabled:opacity-50"
        >
          {t('join')}
        </button>
      </form>
    </main>
  );
}
