'use client';
// The shared probe loader's health: amber while it (re)starts, red with its last error when it crashed.
import type { LoaderStatus } from '../../../server/protocol/tracer';
import { useWatch } from '../../lib/watch';
import { hopIds } from './test-ids';

export function useLoaderStatus(): LoaderStatus | undefined {
  return useWatch('tracer:status').state;
}

export function LoaderBanner({ status }: { status: LoaderStatus | undefined }) {
  if (!status || status.state === 'ready' || (status.state === 'stopped' && !status.lastError)) return null;
  const restarting = status.restarts > 0;
  if (status.state === 'crashed') {
    return (
      <div
        role="alert"
        data-testid={hopIds.loaderBanner}
        data-state={status.state}
        className="rounded-lg border-2 border-red-500 bg-red-950/70 px-5 py-3 text-xl text-red-100"
      >
        <span className="font-bold">Probe loader crashed</span>
        {status.lastError && <span className="font-mono"> — {status.lastError}</span>}
        <span className="text-red-300"> · restarting (restarts so far: {status.restarts})</span>
      </div>
    );
  }
  if (status.state === 'starting') {
    return (
      <div
        role="status"
        data-testid={hopIds.loaderBanner}
        data-state={status.state}
        className="rounded-lg border-2 border-amber-400 bg-amber-950/60 px-5 py-3 text-xl text-amber-100"
      >
        <span className="font-bold">{restarting ? 'Probe loader restarting…' : 'Probe loader starting…'}</span>
        {restarting && status.lastError && (
          <span className="font-mono text-amber-200"> last error: {status.lastError}</span>
        )}
      </div>
    );
  }
  return (
    <div
      role="status"
      data-testid={hopIds.loaderBanner}
      data-state={status.state}
      className="rounded-lg border border-slate-600 bg-slate-900 px-5 py-3 text-lg text-slate-300"
    >
      Probe loader stopped{status.lastError && <span className="font-mono"> — {status.lastError}</span>}
    </div>
  );
}
