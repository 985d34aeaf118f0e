'use client';
// The MAC map's bar: the MAC/IP search and its counts, the fit button, and the discovery status.
import { useT } from '../../i18n/use-t';
import { FitButton } from '../../lib/fit-button';
import type { Needle, SearchHits } from './search';
import { macMapIds } from './test-ids';
import type { LoadState } from './mac-map';

export function MapToolbar({
  query,
  setQuery,
  needle,
  hits,
  onFit,
  state,
  load,
  counts,
  durationMs,
}: {
  query: string;
  setQuery: (q: string) => void;
  needle: Needle | undefined;
  hits: SearchHits | undefined;
  onFit: () => void;
  /** The connection's state. */
  state: string;
  load: LoadState;
  counts: string;
  durationMs: number;
}) {
  const t = useT('macMap.mapToolbar');
  return (
    <div className="flex flex-wrap items-center gap-4 border-b border-slate-800 px-5 py-3">
      <label className="flex items-center gap-3 text-lg">
        <span className="font-semibold text-slate-200">{t('whereIsThisMac')}</span>
        <input
          data-testid={macMapIds.search}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          placeholder={t('n0242Ac12')}
          spellCheck={false}
          className="w-80 rounded border border-slate-600 bg-slate-900 px-3 py-2 font-mono text-lg text-slate-100 placeholder:text-slate-500 focus:border-amber-400 focus:outline-none"
        />
      </label>
      {query.trim() !== '' && (
        <span className="text-base text-slate-300" data-testid={macMapIds.searchResults + '-count'}>
          {needle === undefined
            ? t('notAMacOr')
            : hits
              ? t('hits', { ifaces: hits.ifaces.length, fdb: hits.fdb.length, arp: hits.neighbors.length })
              : ''}
        </span>
      )}
      <FitButton testId={macMapIds.fitButton} onFit={onFit} look="filled" />
      <span data-testid={macMapIds.status} data-state={load.kind} className="ml-auto text-base text-slate-400">
        {state !== 'connected' ? (
          t('server', { state })
        ) : load.kind === 'loading' ? (
          t('discovering')
        ) : load.kind === 'error' ? (
          <span className="text-red-400">{load.error}</span>
        ) : (
          `${counts} · ${durationMs} ms`
        )}
      </span>
    </div>
  );
}
