'use client';
// The Follow tab: follow one packet from a pod (hop by hop, drawn live), or trace a filter continuously.
import { useT } from '../../i18n/use-t';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { Journey } from '../../../server/protocol/tracer';
import type { FollowPreset } from '../lab/follow-presets';
import { FollowForm, initialForm, type FollowFormState } from './follow-form';
import { JourneyView } from './journey-view';
import { LiveView } from './live-view';
import { LoaderBanner, useLoaderStatus } from './loader-banner';
import { hopIds } from './test-ids';
import { useFollow } from './use-follow';
import { laneInfoOf, useNamespaces } from './use-namespaces';
import { useLocale } from '../../i18n/provider';

type Mode = 'follow' | 'live';

/** The form filled from a preset ("follow this" on a scenario card). */
const presetForm = (p: FollowPreset): FollowFormState => ({
  ...initialForm(p.request.from),
  to: p.request.to,
  toKind: p.toKind,
  proto: p.request.proto ?? 'icmp',
  port: p.request.port !== undefined ? String(p.request.port) : '',
});

export function FollowPanel({ initialFrom, run }: { initialFrom?: string; run?: FollowPreset }) {
  const t = useT('hopDiagram.followPanel');
  const [mode, setMode] = useState<Mode>('follow');
  const [form, setForm] = useState<FollowFormState>(() => (run ? presetForm(run) : initialForm(initialFrom)));
  const { choices, services } = useNamespaces();
  const loader = useLoaderStatus();
  const { journey, running, error, follow } = useFollow();
  const { locale } = useLocale();
  // Its words (`pod on node1`) are the page's language: said again when it changes.
  const laneInfo = useMemo(() => laneInfoOf(choices), [choices, locale]);

  // A pod clicked elsewhere (the MAC map) preselects the source.
  useEffect(() => {
    if (initialFrom) setForm((f) => ({ ...f, from: initialFrom }));
  }, [initialFrom]);

  // A preset runs once, on mount (the page remounts the panel for each "follow this").
  const ran = useRef(false);
  useEffect(() => {
    if (!run || ran.current) return;
    ran.current = true;
    follow(run.request);
  }, [run, follow]);

  const go = () => {
    if (!form.from) return;
    follow({
      from: form.from,
      to: form.to,
      proto: form.proto,
      ...(form.proto !== 'icmp' && form.port !== '' && { port: Number(form.port) }),
      rules: form.rules,
      ...(form.expr.trim() && { expr: form.expr.trim() }),
      // A name is sent to its IPv6 address; a typed or service address says its own family.
      ...(form.ipv6 && form.toKind === 'ns' && { family: 6 as const }),
    });
  };

  const tab = (m: Mode, label: string, testId: string) => (
    <button
      data-testid={testId}
      data-selected={mode === m}
      onClick={() => setMode(m)}
      className={`rounded-lg px-5 py-2 text-xl font-semibold ${mode === m ? 'bg-slate-100 text-slate-900' : 'text-slate-300 hover:bg-slate-800'}`}
    >
      {label}
    </button>
  );

  return (
    <section data-testid={hopIds.panel} className="space-y-4 p-5">
      <LoaderBanner status={loader} />
      <div className="flex items-center gap-3">
        <h2 className="mr-4 text-3xl font-bold">{t('whereDoesThePacket')}</h2>
        {tab('follow', t('tabFollow'), hopIds.modeFollow)}
        {tab('live', t('tabLive'), hopIds.modeLive)}
      </div>
      {mode === 'follow' ? (
        <>
          <FollowForm
            state={form}
            onChange={setForm}
            onFollow={go}
            choices={choices}
            services={services}
            running={running}
          />
          <FollowResult journey={journey} running={running} error={error} laneInfo={laneInfo} />
        </>
      ) : (
        <LiveView choices={choices} laneInfo={laneInfo} loader={loader} />
      )}
    </section>
  );
}

/** The follow's one-line error, and its journey as it grows (or what to do next). */
function FollowResult({
  journey,
  running,
  error,
  laneInfo,
}: {
  journey: Journey | undefined;
  running: boolean;
  error: string | undefined;
  laneInfo: Readonly<Record<string, string>>;
}) {
  const t = useT('hopDiagram.followPanel');
  const result = useRef<HTMLDivElement | null>(null);
  // On a projector the diagram should fill the screen: once the packet shows up, and again when the
  // journey is complete (it is taller by then).
  // Not on mount: coming back from the Live tab to a finished journey leaves the page where it is.
  const scrollKey = journey ? `${journey.id}:${journey.pending}` : undefined;
  const scrolledFor = useRef(scrollKey);
  useEffect(() => {
    if (scrollKey && scrollKey !== scrolledFor.current)
      result.current?.scrollIntoView({ behavior: 'smooth', block: 'start' });
    scrolledFor.current = scrollKey;
  }, [scrollKey]);
  return (
    <>
      {error && (
        <p
          role="alert"
          data-testid={hopIds.error}
          className="rounded-lg border border-red-700 bg-red-950/60 px-4 py-2 text-xl text-red-100"
        >
          {error}
        </p>
      )}
      <div ref={result} className="scroll-mt-2">
        {journey ? (
          <JourneyView journey={journey} laneInfo={laneInfo} />
        ) : (
          <div className="flex h-72 items-center justify-center rounded-xl border border-dashed border-slate-700 text-2xl text-slate-500">
            {running ? t('sendingThePacketHops') : t('pickAPodA')}
          </div>
        )}
      </div>
    </>
  );
}
