'use client';
import { useSocket } from '../../lib/socket';
import { useT } from '../../i18n/use-t';
import { ResumeBanner } from './resume-banner';
import { shellIds } from './test-ids';

const STYLE = {
  connected: 'bg-emerald-600 text-white',
  connecting: 'bg-amber-500 text-slate-950',
  disconnected: 'bg-red-600 text-white',
} as const;

/** The connection state, and with it the reconnect banner (wherever the page shows the state). */
export function ConnectionBadge() {
  const { state } = useSocket();
  const t = useT('shell');
  return (
    <>
      <span
        data-testid={shellIds.connection}
        data-state={state}
        className={`rounded px-3 py-1 text-sm font-semibold ${STYLE[state]}`}
      >
        {t(`connection.${state}`)}
      </span>
      <ResumeBanner />
    </>
  );
}
