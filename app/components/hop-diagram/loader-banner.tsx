'use client';
// The shared probe loader's health: amber while it (re)starts, red with its last error when it crashed.
import { useT } from '../../i18n/use-t';
import type { ReactNode } from 'react';
import type { LoaderStatus } from '../../../server/protocol/tracer';
import { useWatch } from '../../lib/watch';
import { hopIds } from './test-ids';

export function useLoaderStatus(): LoaderStatus | undefined {
  return useWatch('tracer:status').state;
}

/** Each state's look: a crash is an alert, the others are status lines. */
const LOOK = {
  crashed: { role: 'alert', className: 'border-2 border-red-500 bg-red-950/70 text-xl text-red-100' },
  starting: { role: 'status', className: 'border-2 border-amber-400 bg-amber-950/60 text-xl text-amber-100' },
  stopped: { role: 'status', className: 'border border-slate-600 bg-slate-900 text-lg text-slate-300' },
} as const;

function BannerText({ status }: { status: LoaderStatus }): ReactNode {
  const t = useT('hopDiagram.loaderBanner');
  const restarting = status.restarts > 0;
  const error = status.lastError && <span className="font-mono"> — {status.lastError}</span>;
  switch (status.state) {
    case 'crashed':
      return (
        <>
          <span className="font-bold">{t('probeLoaderCrashed')}</span>
          {error}
          <span className="text-red-300">
            {' '}
            {t('restartingRestartsSoFar')} {status.restarts})
          </span>
        </>
      );
    case 'starting':
      return (
        <>
          <span className="font-bold">{restarting ? t('probeLoaderRestarting') : t('probeLoaderStarting')}</span>
          {restarting && status.lastError && (
            <span className="font-mono text-amber-200">
              {' '}
              {t('lastError')} {status.lastError}
            </span>
          )}
        </>
      );
    default:
      return (
        <>
          {t('probeLoaderStopped')}
          {error}
        </>
      );
  }
}

export function LoaderBanner({ status }: { status: LoaderStatus | undefined }) {
  if (!status || status.state === 'ready' || (status.state === 'stopped' && !status.lastError)) return null;
  const look = LOOK[status.state];
  return (
    <div
      role={look.role}
      data-testid={hopIds.loaderBanner}
      data-state={status.state}
      className={`rounded-lg px-5 py-3 ${look.className}`}
    >
      <BannerText status={status} />
    </div>
  );
}
