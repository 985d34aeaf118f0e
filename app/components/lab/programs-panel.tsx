'use client';
// Seed 003's teaching programs from the browser: attach drop-all, xdp-drop or blocklist to any lab
// interface, see them listed as bpftool names them, detach them, and edit the blocklist.
import { useT } from '../../i18n/use-t';
import { useState } from 'react';
import { z } from 'zod';
import {
  LabProgram,
  ProgHook,
  TeachingProgram,
  type LabProgAction,
  type LabStatus,
} from '../../../server/protocol/lab';
import { request } from '../../lib/request';
import { useSubscribe } from '../../lib/subscribe';
import { useTopology } from '../../lib/topology';
import { watchStore } from '../../lib/watch';
import { labIds } from './test-ids';

const Programs = z.array(LabProgram);
const HOOKS: Record<TeachingProgram, readonly ProgHook[]> = {
  'drop-all': ['tc-ingress', 'tc-egress'],
  'xdp-drop': ['xdp'],
  blocklist: ['xdp', 'tc-ingress', 'tc-egress'],
};
const select = 'rounded border border-slate-600 bg-slate-900 px-2 py-1 text-lg';

export function ProgramsPanel({ status }: { status: LabStatus }) {
  const t = useT('lab.programsPanel');
  const socket = useSubscribe({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const send = (a: LabProgAction) => {
    setBusy(true);
    setError(undefined);
    void request(socket, 'lab:prog', a, Programs).then((r) => {
      setBusy(false);
      if (!r.ok) return setError(r.error);
      // The list is part of the lab status; show it now rather than at the next poll.
      watchStore('lab').set({ ...status, programs: r.value });
    });
  };

  return (
    <div data-testid={labIds.programs} className="space-y-3 rounded-xl border border-slate-700 p-4">
      <h3 className="text-xl font-bold">{t('teachingPrograms')}</h3>
      <AttachForm status={status} busy={busy} onSend={send} />
      {error && (
        <p role="alert" data-testid={labIds.progError} className="font-mono text-red-300">
          {error}
        </p>
      )}
      <ProgramList programs={status.programs} busy={busy} onDetach={send} />
      {status.programs.some((p) => p.program === 'blocklist') && (
        <BlocklistEditor blocklist={status.blocklist} busy={busy} onSend={send} />
      )}
    </div>
  );
}

/** Program, namespace, interface (suggested from the topology) and hook, then Attach. */
function AttachForm({
  status,
  busy,
  onSend,
}: {
  status: LabStatus;
  busy: boolean;
  onSend: (a: LabProgAction) => void;
}) {
  const t = useT('lab.programsPanel');
  const { state: topology } = useTopology();
  const [program, setProgram] = useState<TeachingProgram>('drop-all');
  const [hook, setHook] = useState<ProgHook>('tc-ingress');
  const [netns, setNetns] = useState('pod-a');
  const [iface, setIface] = useState('eth0');
  const ifaces = topology?.namespaces.find((n) => n.name === netns)?.interfaces.map((i) => i.name) ?? [];
  return (
    <div className="flex flex-wrap items-center gap-2">
      <select
        data-testid={labIds.progProgram}
        className={select}
        value={program}
        onChange={(e) => {
          const p = TeachingProgram.parse(e.target.value);
          setProgram(p);
          if (!HOOKS[p].includes(hook)) setHook(HOOKS[p][0] ?? 'xdp');
        }}
      >
        {TeachingProgram.options.map((p) => (
          <option key={p}>{p}</option>
        ))}
      </select>
      <span className="text-slate-400">{t('on')}</span>
      <select
        data-testid={labIds.progNetns}
        className={select}
        value={netns}
        onChange={(e) => setNetns(e.target.value)}
      >
        {status.namespaces.map((n) => (
          <option key={n.name}>{n.name}</option>
        ))}
      </select>
      <input
        data-testid={labIds.progIface}
        className={`${select} w-40 font-mono`}
        list="lab-prog-ifaces"
        value={iface}
        onChange={(e) => setIface(e.target.value)}
        aria-label={t('interface')}
      />
      <datalist id="lab-prog-ifaces">
        {ifaces.map((i) => (
          <option key={i} value={i} />
        ))}
      </datalist>
      <select
        data-testid={labIds.progHook}
        className={select}
        value={hook}
        onChange={(e) => setHook(ProgHook.parse(e.target.value))}
      >
        {HOOKS[program].map((h) => (
          <option key={h}>{h}</option>
        ))}
      </select>
      <button
        data-testid={labIds.progAttach}
        disabled={busy || !status.up}
        onClick={() => onSend({ action: 'attach', program, netns, iface, hook })}
        className="rounded bg-sky-600 px-4 py-1 text-lg font-semibold text-white hover:bg-sky-500 disabled:opacity-50"
      >
        {t('attach')}
      </button>
    </div>
  );
}

function ProgramList({
  programs,
  busy,
  onDetach,
}: {
  programs: readonly LabProgram[];
  busy: boolean;
  onDetach: (a: LabProgAction) => void;
}) {
  const t = useT('lab.programsPanel');
  if (programs.length === 0) return <p className="text-slate-400">{t('noProgramAttached')}</p>;
  return (
    <table className="font-mono text-base">
      <thead className="text-left text-sm text-slate-400">
        <tr>
          <th className="pr-4">id</th>
          <th className="pr-4">{t('name')}</th>
          <th className="pr-4">{t('tag')}</th>
          <th className="pr-4">{t('attachedTo')}</th>
          <th className="pr-4">{t('mode')}</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {programs.map((p) => (
          <tr key={`${p.netns}/${p.iface}/${p.hook}`} data-testid={labIds.progRow(p.netns, p.iface, p.hook)}>
            <td className="pr-4">{p.id}</td>
            <td className="pr-4">{p.name}</td>
            <td className="pr-4 text-slate-400">{p.tag}</td>
            <td className="pr-4">
              {p.netns}/{p.iface} {p.hook}
            </td>
            <td className="pr-4">{p.mode}</td>
            <td>
              <button
                data-testid={labIds.progDetach(p.netns, p.iface, p.hook)}
                disabled={busy}
                onClick={() => onDetach({ action: 'detach', netns: p.netns, iface: p.iface, hook: p.hook })}
                className="rounded border border-slate-600 px-3 py-0.5 hover:bg-slate-800"
              >
                {t('detach')}
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function BlocklistEditor({
  blocklist,
  busy,
  onSend,
}: {
  blocklist: LabStatus['blocklist'];
  busy: boolean;
  onSend: (a: LabProgAction) => void;
}) {
  const t = useT('lab.programsPanel');
  const [ip, setIp] = useState('10.244.1.2');
  return (
    <div className="flex flex-wrap items-center gap-2">
      <span className="text-slate-400">{t('blocklistSource')}</span>
      <input
        data-testid={labIds.progBlockIp}
        className={`${select} w-44 font-mono`}
        value={ip}
        onChange={(e) => setIp(e.target.value)}
        aria-label={t('sourceAddress')}
      />
      <button
        data-testid={labIds.progBlock}
        disabled={busy}
        onClick={() => onSend({ action: 'block', ip })}
        className="rounded border border-red-600 px-3 py-1 text-red-200 hover:bg-red-950"
      >
        {t('block')}
      </button>
      <button
        disabled={busy}
        onClick={() => onSend({ action: 'unblock', ip })}
        className="rounded border border-slate-600 px-3 py-1 hover:bg-slate-800"
      >
        {t('unblock')}
      </button>
      {blocklist.map((b) => (
        <span key={b.ip} className="rounded bg-red-950 px-2 py-0.5 font-mono text-red-200">
          {b.ip} · {b.drops} {t('dropped')}
        </span>
      ))}
    </div>
  );
}
