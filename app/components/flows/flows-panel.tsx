'use client';
// The all-traffic flow view: every packet counted in the kernel (probes/flows.h), shown as a map of
// namespace-to-namespace traffic and a flow table. It runs in the kernel while this panel is open (the
// `flows` watch), one update a second. Clicking a flow draws its newest sampled journey.
import { useEffect, useState } from 'react';
import { useT } from '../../i18n/use-t';
import { FlowJourneyRes, type FlowRow } from '../../../server/protocol/flows';
import type { Journey } from '../../../server/protocol/tracer';
import { request } from '../../lib/request';
import { useSocket } from '../../lib/socket';
import { useWatch } from '../../lib/watch';
import { JourneyView } from '../hop-diagram/journey-view';
import { FlowMap } from './flow-map';
import { FlowTable } from './flow-table';
import { si } from './layout';
import { flowIds } from './test-ids';

export function FlowsPanel() {
  const t = useT('flows');
  const { state, error } = useWatch('flows');
  const { socket } = useSocket();
  const [selected, setSelected] = useState<string | undefined>();
  const [journey, setJourney] = useState<{ id: string; journey?: Journey; error?: string } | undefined>();
  const row: FlowRow | undefined = state?.flows.find((f) => f.id === selected);
  const journeys = row?.journeys ?? 0;

  // Asked again when the flow gets a newer journey (at most one a second: the sampling bound).
  useEffect(() => {
    if (!selected) return;
    let gone = false;
    void request(socket, 'flows:journey', { id: selected }, FlowJourneyRes).then((r) => {
      if (gone) return;
      if (!r.ok) setJourney({ id: selected, error: r.error });
      else setJourney(r.value);
    });
    return () => {
      gone = true;
    };
  }, [socket, selected, journeys]);

  const p = state?.pressure;
  return (
    <div data-testid={flowIds.panel} className="space-y-4 p-6">
      <div className="flex flex-wrap items-baseline gap-x-6 gap-y-1">
        <h2 className="text-2xl font-semibold">{t('title')}</h2>
        <p className="text-slate-400">{t('intro', { n: state?.samplePerSec ?? 1 })}</p>
      </div>
      {(error || state?.error) && (
        <p role="alert" data-testid={flowIds.error} className="text-lg text-red-400">
          {error ?? state?.error}
        </p>
      )}
      {p && (
        <p
          data-testid={flowIds.pressure}
          className={`text-lg ${p.insertFailed > 0 || p.evicted > 0 ? 'text-amber-300' : 'text-slate-300'}`}
        >
          {t('pressure', { total: state.total, entries: p.entries, max: p.maxEntries })}
          {p.insertFailed > 0 && ` ${t('mapFull', { n: p.insertFailed, packets: si(p.lostPackets) })}`}
          {p.evicted > 0 && ` ${t('evicted', { n: p.evicted })}`}
        </p>
      )}
      <FlowMap edges={state?.edges ?? []} selected={row?.path.map((h) => h.netns)} />
      <FlowTable rows={state?.flows ?? []} selected={selected} onSelect={setSelected} />
      {selected && (
        <section className="space-y-2">
          <h3 className="text-xl font-semibold">{t('journeyOf', { flow: selected })}</h3>
          {row && (
            <p className="text-slate-300">{row.path.map((h) => `${h.netns} (${h.devices.join(', ')})`).join(' → ')}</p>
          )}
          {journey?.id === selected && journey.journey ? (
            <div data-testid={flowIds.journey}>
              <JourneyView journey={journey.journey} autoPlay={false} />
            </div>
          ) : (
            <p data-testid={flowIds.noJourney} className="text-slate-400">
              {journey?.error ?? t('noJourney')}
            </p>
          )}
        </section>
      )}
    </div>
  );
}
