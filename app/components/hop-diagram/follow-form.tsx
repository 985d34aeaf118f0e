'use client';
// Pick a source, a target (pod, service, or a typed address), a protocol and port, then follow.
import { useT } from '../../i18n/use-t';
import type { ReactNode } from 'react';
import type { TraceProto } from '../../../server/protocol/tracer';
import { portDigits } from '../../lib/field';
import { hopIds } from './test-ids';
import type { NsChoice, Service } from './use-namespaces';

export interface FollowFormState {
  readonly from: string | undefined;
  readonly to: string;
  readonly toKind: 'ns' | 'service' | 'ip';
  readonly proto: TraceProto;
  readonly port: string;
  readonly rules: boolean;
  /** A pcap-filter expression: the trace starts only where the packet matches it too (empty: everywhere). */
  readonly expr: string;
  /** IPv6: a pod or namespace target is sent to its IPv6 address, a service to its IPv6 ClusterIP. */
  readonly ipv6: boolean;
}

export const initialForm = (from?: string): FollowFormState => ({
  from,
  to: '',
  toKind: 'ns',
  proto: 'icmp',
  port: '',
  rules: false,
  expr: '',
  ipv6: false,
});

const PROTOS = ['icmp', 'tcp', 'udp'] as const satisfies readonly TraceProto[];
/** The lab's echo servers listen here; a reasonable first port for TCP/UDP to a pod. */
const POD_PORT = '8080';

function Chip({
  on,
  disabled,
  onClick,
  testId,
  children,
  tone = 'sky',
}: {
  on: boolean;
  disabled?: boolean;
  onClick: () => void;
  testId: string;
  children: ReactNode;
  tone?: 'sky' | 'violet';
}) {
  const active =
    tone === 'violet' ? 'bg-violet-600 border-violet-400 text-white' : 'bg-sky-600 border-sky-400 text-white';
  return (
    <button
      type="button"
      data-testid={testId}
      data-selected={on}
      disabled={disabled}
      onClick={onClick}
      className={`rounded-lg border-2 px-3 py-1.5 text-lg font-semibold transition-colors disabled:opacity-35 ${on ? active : 'border-slate-600 bg-slate-800 text-slate-100 hover:border-slate-400'}`}
    >
      {children}
    </button>
  );
}

/** One line of the form: its label, then its controls. */
function Row({ label, gap = 'gap-2', children }: { label: string; gap?: 'gap-2' | 'gap-3'; children: ReactNode }) {
  return (
    <div className={`flex flex-wrap items-center ${gap}`}>
      <span className="w-16 text-lg font-semibold text-slate-400">{label}</span>
      {children}
    </div>
  );
}

/** One chip a pod; a pod not (yet) running, or one `isOff` rules out, is disabled. */
function PodChips(p: {
  pods: readonly NsChoice[];
  testId: (name: string) => string;
  isOn: (name: string) => boolean;
  isOff: (name: string) => boolean;
  onPick: (name: string) => void;
}) {
  return p.pods.map((pod) => (
    <Chip
      key={pod.name}
      testId={p.testId(pod.name)}
      on={p.isOn(pod.name)}
      disabled={!pod.present || p.isOff(pod.name)}
      onClick={() => p.onPick(pod.name)}
    >
      {pod.name}
    </Chip>
  ));
}

/** Any namespace that is not a pod chip; `keep` is a chosen one no longer listed, still shown. */
function OtherNsSelect(p: {
  value: string;
  others: readonly NsChoice[];
  onPick: (name: string) => void;
  label: string;
  testId?: string;
  keep?: boolean;
}) {
  const t = useT('hopDiagram.followForm');
  return (
    <select
      data-testid={p.testId}
      value={p.value}
      onChange={(e) => e.target.value && p.onPick(e.target.value)}
      className={`rounded-lg border-2 px-2 py-2 text-lg ${p.value ? 'border-sky-400 bg-sky-900' : 'border-slate-600 bg-slate-800'}`}
      aria-label={p.label}
    >
      <option value="">{t('otherNamespace')}</option>
      {p.keep && p.value && !p.others.some((o) => o.name === p.value) && <option value={p.value}>{p.value}</option>}
      {p.others.map((o) => (
        <option key={o.name} value={o.name}>
          {o.name} ({o.role})
        </option>
      ))}
    </select>
  );
}

const byName = (a: NsChoice, b: NsChoice) => a.name.localeCompare(b.name);

/** What the form's rows share: the state, its setter, and the choices worked out once. */
interface FormParts {
  readonly state: FollowFormState;
  readonly set: (patch: Partial<FollowFormState>) => void;
  readonly pods: readonly NsChoice[];
  readonly others: readonly NsChoice[];
  readonly services: readonly Service[];
  readonly running: boolean;
  readonly canFollow: boolean;
  /** The source or target when it is not a pod chip (chosen in the "other namespace" select). */
  readonly otherFrom: string;
  readonly otherTo: string;
  readonly pickTarget: (name: string) => void;
  readonly pickService: (s: Service) => void;
  readonly pickProto: (p: TraceProto) => void;
  readonly pickFamily: (v6: boolean) => void;
  /** The service's ClusterIP in the form's family. */
  readonly svcIP: (s: Service) => string;
}

export function FollowForm({
  state,
  onChange,
  onFollow,
  choices,
  services,
  running,
}: {
  state: FollowFormState;
  onChange: (s: FollowFormState) => void;
  onFollow: () => void;
  choices: readonly NsChoice[];
  services: readonly Service[];
  running: boolean;
}) {
  const pods = choices.filter((c) => c.role === 'pod').sort(byName);
  const others = choices.filter((c) => c.role !== 'pod');
  const set = (patch: Partial<FollowFormState>) => onChange({ ...state, ...patch });
  const otherFrom = state.from !== undefined && !pods.some((p) => p.name === state.from) ? state.from : '';
  const otherTo = state.toKind === 'ns' && !pods.some((p) => p.name === state.to) ? state.to : '';
  const pickTarget = (name: string) =>
    set({ to: name, toKind: 'ns', ...(state.proto !== 'icmp' && state.port === '' && { port: POD_PORT }) });
  const svcIP = (s: Service, v6 = state.ipv6): string => (v6 && s.clusterIP6) || s.clusterIP;
  const pickService = (s: Service) => set({ to: svcIP(s), toKind: 'service', proto: 'tcp', port: String(s.port) });
  const pickProto = (p: TraceProto) =>
    set({ proto: p, ...(p !== 'icmp' && state.port === '' && { port: state.toKind === 'service' ? '80' : POD_PORT }) });
  const canFollow = state.from !== undefined && state.to !== '' && !running;
  // The family follows a chosen service to its other ClusterIP.
  const pickFamily = (v6: boolean) => {
    const svc =
      state.toKind === 'service'
        ? services.find((x) => state.to === x.clusterIP || state.to === x.clusterIP6)
        : undefined;
    set({ ipv6: v6, ...(svc && { to: svcIP(svc, v6) }) });
  };
  const f: FormParts = {
    pickFamily,
    svcIP,
    state,
    set,
    pods,
    others,
    services,
    running,
    canFollow,
    otherFrom,
    otherTo,
    pickTarget,
    pickService,
    pickProto,
  };

  return (
    <form
      className="space-y-3 rounded-xl border border-slate-800 bg-slate-900/70 p-4"
      onSubmit={(e) => {
        e.preventDefault();
        if (canFollow) onFollow();
      }}
    >
      <FromRow f={f} />
      <ToRow f={f} />
      <AsRow f={f} />
    </form>
  );
}

function FromRow({ f }: { f: FormParts }) {
  const t = useT('hopDiagram.followForm');
  const { state, set, pods, others, otherFrom } = f;
  return (
    <Row label={t('from')}>
      <PodChips
        pods={pods}
        testId={hopIds.fromNs}
        isOn={(name) => state.from === name}
        isOff={() => false}
        onPick={(name) => set({ from: name })}
      />
      <OtherNsSelect
        testId={hopIds.fromOther}
        value={otherFrom}
        others={others}
        onPick={(name) => set({ from: name })}
        label={t('otherSourceNamespace')}
        keep
      />
      {pods.length === 0 && <span className="text-lg text-slate-400">{t('noPodsYetStart')}</span>}
    </Row>
  );
}

function ToRow({ f }: { f: FormParts }) {
  const t = useT('hopDiagram.followForm');
  const { state, set, pods, others, services, otherTo, pickTarget, pickService, svcIP } = f;
  return (
    <Row label={t('to')}>
      <PodChips
        pods={pods}
        testId={hopIds.toNs}
        isOn={(name) => state.toKind === 'ns' && state.to === name}
        isOff={(name) => name === state.from}
        onPick={pickTarget}
      />
      {services.map((s) => (
        <Chip
          key={s.name}
          testId={hopIds.toService(s.name)}
          tone="violet"
          on={state.toKind === 'service' && state.to === svcIP(s)}
          onClick={() => pickService(s)}
        >
          {t('svc')} {s.name}{' '}
          <span className="font-mono font-normal break-all">
            {svcIP(s).includes(':') ? `[${svcIP(s)}]` : svcIP(s)}:{s.port}
          </span>
        </Chip>
      ))}
      <OtherNsSelect value={otherTo} others={others} onPick={pickTarget} label={t('otherTargetNamespace')} />
      <input
        data-testid={hopIds.toInput}
        value={state.toKind === 'ip' ? state.to : ''}
        onChange={(e) => set({ to: e.target.value.trim(), toKind: 'ip' })}
        placeholder={t('orTypeAnIp')}
        spellCheck={false}
        className={`w-72 rounded-lg border-2 bg-slate-800 px-3 py-1.5 font-mono text-lg placeholder:text-slate-500 ${state.toKind === 'ip' && state.to ? 'border-sky-400' : 'border-slate-600'}`}
      />
    </Row>
  );
}

function AsRow({ f }: { f: FormParts }) {
  const t = useT('hopDiagram.followForm');
  const { state, set, running, canFollow, pickProto, pickFamily } = f;
  return (
    <Row label={t('as')} gap="gap-3">
      <Chip testId={hopIds.ipv6} on={state.ipv6} onClick={() => pickFamily(!state.ipv6)}>
        <span title={t('ipv6Title')}>{t('ipv6')}</span>
      </Chip>
      <div
        className="flex overflow-hidden rounded-lg border-2 border-slate-600"
        role="radiogroup"
        aria-label={t('protocol')}
      >
        {PROTOS.map((p) => (
          <button
            key={p}
            type="button"
            role="radio"
            aria-checked={state.proto === p}
            data-testid={hopIds.proto(p)}
            onClick={() => pickProto(p)}
            className={`px-4 py-1.5 font-mono text-lg uppercase ${state.proto === p ? 'bg-sky-600 text-white' : 'bg-slate-800 text-slate-200 hover:bg-slate-700'}`}
          >
            {p}
          </button>
        ))}
      </div>
      <label className="flex items-center gap-2 text-lg text-slate-300">
        {t('port')}
        <input
          data-testid={hopIds.port}
          value={state.proto === 'icmp' ? '' : state.port}
          disabled={state.proto === 'icmp'}
          onChange={(e) => set({ port: portDigits(e.target.value) })}
          inputMode="numeric"
          placeholder={state.proto === 'icmp' ? '—' : t('port')}
          className="w-24 rounded-lg border-2 border-slate-600 bg-slate-800 px-3 py-1.5 font-mono text-lg disabled:opacity-40"
        />
      </label>
      <label className="flex items-center gap-2 text-lg text-slate-300" title={t('addsIptablesTraceRules')}>
        <input
          type="checkbox"
          data-testid={hopIds.rules}
          checked={state.rules}
          onChange={(e) => set({ rules: e.target.checked })}
          className="h-5 w-5 accent-sky-500"
        />
        {t('iptablesRules')}
      </label>
      <input
        data-testid={hopIds.followExpr}
        value={state.expr}
        onChange={(e) => set({ expr: e.target.value.replace(/[\r\n]/g, ' ') })}
        placeholder={t('exprPlaceholder')}
        title={t('exprTitle')}
        spellCheck={false}
        className="w-64 rounded-lg border-2 border-slate-600 bg-slate-800 px-3 py-1.5 font-mono text-lg placeholder:text-slate-500"
      />
      <button
        type="submit"
        data-testid={hopIds.followButton}
        disabled={!canFollow}
        className="ml-auto rounded-lg bg-emerald-600 px-8 py-2 text-xl font-bold text-white shadow hover:bg-emerald-500 disabled:opacity-40"
      >
        {running ? t('following') : t('follow')}
      </button>
    </Row>
  );
}
