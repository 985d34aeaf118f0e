'use client';
// The header's part: who this page is, and for the instructor of a classroom the button to its panel.
import { useT } from '../../i18n/use-t';
import { useState } from 'react';
import { ClassroomPanel } from './classroom-panel';
import { FollowToggle } from './followed';
import { classroomIds } from './test-ids';
import { useClassroom } from './use-classroom';

export function ClassroomBar() {
  const t = useT('classroom.classroomBar');
  const { me } = useClassroom();
  const [open, setOpen] = useState(false);
  if (!me?.tokens) return null;
  return (
    <>
      <span
        data-testid={classroomIds.me}
        data-role={me.role}
        className={`rounded px-3 py-1 text-sm font-semibold ${me.role === 'instructor' ? 'bg-violet-600 text-white' : 'bg-slate-700'}`}
      >
        {me.role === 'instructor' ? t('instructor') : t('student', { name: me.name ?? '' })}
      </span>
      <FollowToggle />
      {me.role === 'instructor' && (
        <button
          data-testid={classroomIds.open}
          aria-pressed={open}
          onClick={() => setOpen((o) => !o)}
          className="rounded border border-slate-600 px-3 py-1 text-sm hover:bg-slate-800"
        >
          {t('classroom')}
        </button>
      )}
      {open && <ClassroomPanel onClose={() => setOpen(false)} />}
    </>
  );
}
