'use client';
import { useT } from '../../i18n/use-t';
import { useState } from 'react';
import { LabStatus, type LabAction, type LabNamespace } from '../../../server/protocol/lab';
import { request } from '../../lib/request';
import { useSocket } from '../../lib/socket';
import { useSubscribe } from '../../lib/subscribe';
import { useWatch, watchStore } from '../../lib/watch';
import { ProgramsPanel } from './programs-panel';
import { ScenarioPicker } from './scenario-picker';
import { labIds } from './test-ids';

const RUN_TIMEOUT_MS = 5 * 60_000;

function NsCard({ ns }: { ns: LabNamespace }) {
  const t = useT('lab.labPanel');
  return (
    <div
      data-testid={labIds.namespace(ns.name)}
      data-present={ns.present}
      className={`rounded-lg border px-4 py-3 ${ns.present ? 'border-emerald-500/60 bg-emerald-950/30' : 'border-slate-700 bg-slate-900/60 opacity-60'}`}
    >
      <div className="flex items-center gap-2 text-lg font-semibold">
        <span
          className={`inline-block h-3 w-3 rounded-full ${ns.present ? 'bg-emerald-400' : 'bg-slate-600'}`}
          aria-hidden
        />
        {ns.name}
      </div>
      <div className="font-mono text-sm text-slate-300">{ns.addr}</div>
      {ns.addr6 && <div className="break-all font-mono text-sm text-slate-300">{ns.addr6}</div>}
      <div className="text-xs uppercase tracking-wide text-slate-400">{ns.present ? t('up') : t('absent')}</div>
    </div>
  );
}

/** The lab at a glance: host bridge, the two nodes and the pods hanging off each, plus the echo service. */
export function LabPanel() {
  const t = useT('lab.labPanel');
  const { state } = useSocket();
  const { state: status, error: watchError } = useWatch('lab');
  const [busy, setBusy] = useState<LabAction['action'] | undefined>();
  const [steps, setSteps] = useState<string[]>([]);
  const [runError, setRunError] = useState<string | undefined>();
  const error = runError ?? watchError;
  const socket = useSubscribe({ on: { 'lab:progress': (step) => setSteps((xs) => [...xs.slice(-5), step]) } });

  const run = (a: LabAction) => {
    setBusy(a.action);
    setSteps([]);
    setRunError(undefined);
    // Up or down can take a while (namespaces, veths, iptables): the server answers when it is done.
    void request(socket, 'lab:run', a, LabStatus, { timeoutMs: RUN_TIMEOUT_MS }).then((r) => {
      setBusy(undefined);
      if (r.ok) watchStore('lab').set(r.value);
      else setRunError(r.error);
    });
  };

  if (!status) {
    return (
      <section data-testid={labIds.panel} className="p-6 text-xl text-slate-400">
        {state === 'disconnected' ? t('serverUnreachable') : t('readingLabState')}
      </section>
    );
  }

  return (
    <section data-testid={labIds.panel} className="space-y-6 p-6">
      <LabHeader status={status} busy={busy} onRun={(action) => run({ action })} />
      {(busy || steps.length > 0) && (
        <ol data-testid={labIds.progress} className="font-mono text-sm text-slate-400">
          {steps.map((s, i) => (
            <li key={i}>… {s}</li>
          ))}
        </ol>
      )}
      {error && (
        <p role="alert" className="rounded border border-red-700 bg-red-950/50 px-4 py-2 text-red-200">
          {error}
        </p>
      )}
      {!status.up && (
        <p className="text-lg text-slate-300">
          {status.partial ? t('someLabResourcesAre') : t('startItHereOr')}
          <code className="rounded bg-slate-800 px-2 py-1">{t('npxPacketJourneyLab')}</code>
        </p>
      )}
      <ScenarioPicker status={status} busy={busy !== undefined} onRun={run} />
      <LabMap status={status} />
      {status.up && <ProgramsPanel status={status} />}
    </section>
  );
}

function LabHeader({
  status,
  busy,
  onRun,
}: {
  status: LabStatus;
  busy: LabAction['action'] | undefined;
  onRun: (action: 'up' | 'down') => void;
}) {
  const t = useT('lab.labPanel');
  const label = status.up ? 'up' : status.partial ? 'partial' : 'down';
  return (
    <div className="flex items-baseline gap-4">
      <h2 className="text-2xl font-bold">{t('embeddedLab')}</h2>
      <span
        data-testid={labIds.state}
        data-state={label}
        className={`rounded px-3 py-1 text-lg font-semibold ${status.up ? 'bg-emerald-600 text-white' : status.partial ? 'bg-amber-500 text-slate-950' : 'bg-slate-700 text-slate-200'}`}
      >
        {label}
      </span>
      {status.scenario && (
        <span className="text-slate-400">
          {t('scenario')} {status.scenario}
        </span>
      )}
      <div className="ml-auto flex gap-2">
        {!status.up && (
          <button
            data-testid={labIds.upButton}
            disabled={busy !== undefined}
            onClick={() => onRun('up')}
            className="rounded bg-sky-600 px-4 py-2 font-semibold text-white hover:bg-sky-500 disabled:opacity-50"
          >
            {busy === 'up' ? t('starting') : status.partial ? t('repairLab') : t('startLab')}
          </button>
        )}
        {(status.up || status.partial) && (
          <button
            data-testid={labIds.downButton}
            disabled={busy !== undefined}
            onClick={() => onRun('down')}
            className="rounded border border-slate-600 px-4 py-2 text-slate-200 hover:bg-slate-800 disabled:opacity-50"
          >
            {busy === 'down' ? t('removing') : t('tearDown')}
          </button>
        )}
      </div>
    </div>
  );
}

/** Host bridge, the nodes with their pods, and the services. */
function LabMap({ status }: { status: LabStatus }) {
  const t = useT('lab.labPanel');
  const host = status.namespaces.find((n) => n.role === 'host');
  const nodes = status.namespaces.filter((n) => n.role === 'node');
  return (
    <>
      {host && (
        <div className="max-w-xs">
          <div className="mb-1 text-sm uppercase tracking-wide text-slate-400">{t('hostBridgeKind0')}</div>
          <NsCard ns={host} />
        </div>
      )}
      <div className="grid gap-6 md:grid-cols-2">
        {nodes.map((node) => (
          <div key={node.name} className="rounded-xl border border-slate-700 p-4">
            <NsCard ns={node} />
            <div className="mt-2 mb-1 text-sm uppercase tracking-wide text-slate-400">
              {t('podsOn')} {node.name} · {status.scenario === 'ebpf-routing' ? t('lxcVethsRoutedIn') : t('bridgeCni0')}
            </div>
            <div className="grid grid-cols-2 gap-3">
              {status.namespaces
                .filter((p) => p.role === 'pod' && p.node === node.name)
                .map((p) => (
                  <NsCard key={p.name} ns={p} />
                ))}
            </div>
          </div>
        ))}
      </div>
      {status.services.map((svc) => (
        <div
          key={svc.name}
          data-testid={labIds.service}
          className="rounded-lg border border-sky-700/60 bg-sky-950/30 p-4 text-lg"
        >
          <span className="font-semibold">
            {t('service')} {svc.name}
          </span>{' '}
          <span className="font-mono">
            {svc.clusterIP}:{svc.port}
          </span>{' '}
          {svc.clusterIP6 && (
            <>
              <span className="break-all font-mono">
                [{svc.clusterIP6}]:{svc.port}
              </span>{' '}
            </>
          )}
          {svc.nodePort !== null && (
            <>
              {t('nodeport')} <span className="font-mono">{svc.nodePort}</span>
            </>
          )}{' '}
          → <span className="font-mono">{svc.backends.join(', ')}</span>
        </div>
      ))}
    </>
  );
}
