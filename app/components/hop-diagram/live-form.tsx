'use client';
// Live mode's filter: a pcap-filter expression, with protocol, address, port and namespaces as its
// shortcuts (ANDed to it by the server), locked while the trace runs.
import { useT } from '../../i18n/use-t';
import type { TraceProto } from '../../../server/protocol/tracer';
import { bindField, portDigits, type FieldProps } from '../../lib/field';
import { hopIds } from './test-ids';

export interface FilterForm {
  /** A pcap-filter expression; the server compiles it and a bad one fails the start with libpcap's message. */
  readonly expr: string;
  readonly proto: TraceProto | '';
  readonly addr: string;
  readonly port: string;
  readonly netns: readonly string[];
}

export const initialFilter: FilterForm = { expr: '', proto: 'icmp', addr: '', port: '', netns: [] };

/** The form as a live-start request (unchecked: the caller parses it with the protocol's schema). */
export function toFilter(f: FilterForm): unknown {
  return {
    ...(f.expr.trim() && { expr: f.expr.trim() }),
    ...(f.proto && { proto: f.proto }),
    ...(f.addr.trim() && { addr: f.addr.trim() }),
    ...(f.port && { port: Number(f.port) }),
    ...(f.netns.length > 0 && { netns: [...f.netns] }),
  };
}

/** The filter's typed fields, in form order; `clean` keeps what a field may hold. */
const TEXT_FIELDS = [
  {
    key: 'expr',
    label: 'filter',
    testId: hopIds.liveExpr,
    width: 'w-96',
    clean: (v: string) => v.replace(/[\r\n]/g, ' '),
  },
  // Wide enough for an IPv6 address such as fd00:10:244:2::2.
  { key: 'addr', label: 'address', testId: hopIds.liveAddr, width: 'w-64', clean: (v: string) => v },
  { key: 'port', label: 'port', testId: hopIds.livePort, width: 'w-24', clean: portDigits },
] as const;

/**
 * A field changed. Typing a first expression drops the default protocol (icmp), which would otherwise be
 * ANDed to it; a protocol picked on purpose stays.
 */
function withField(f: FilterForm, key: 'expr' | 'addr' | 'port', v: string): FilterForm {
  const dropDefault = key === 'expr' && !f.expr.trim() && v.trim() !== '' && f.proto === initialFilter.proto;
  return { ...f, [key]: v, ...(dropDefault && { proto: '' as const }) };
}

export function LiveForm({
  form,
  onChange,
  namespaces,
  running,
  starting,
  onStart,
  onStop,
}: {
  form: FilterForm;
  onChange: (f: FilterForm) => void;
  namespaces: readonly string[];
  running: boolean;
  starting: boolean;
  onStart: () => void;
  onStop: () => void;
}) {
  const tr = useT('hopDiagram.liveForm');
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        if (!running && !starting) onStart();
      }}
      className="flex flex-wrap items-center gap-3 rounded-xl border border-slate-800 bg-slate-900/70 p-4 text-lg"
    >
      <label className="flex items-center gap-2">
        <span className="text-slate-400">proto</span>
        <select
          data-testid={hopIds.liveProto}
          value={form.proto}
          disabled={running}
          onChange={(e) => onChange({ ...form, proto: e.target.value as FilterForm['proto'] })}
          className="rounded-lg border-2 border-slate-600 bg-slate-800 px-2 py-1.5"
        >
          <option value="">{tr('any')}</option>
          <option value="icmp">{tr('icmp')}</option>
          <option value="tcp">{tr('tcp')}</option>
          <option value="udp">{tr('udp')}</option>
        </select>
      </label>
      {TEXT_FIELDS.map((t) => (
        <FilterInput
          key={t.key}
          label={t.key === 'expr' ? tr('filter') : t.label}
          testId={t.testId}
          value={form[t.key]}
          disabled={running}
          width={t.width}
          numeric={t.key === 'port'}
          placeholder={t.key === 'expr' ? tr('exprPlaceholder') : tr('any')}
          onChange={(v) => onChange(withField(form, t.key, t.clean(v)))}
        />
      ))}
      <NamespacePicks form={form} onChange={onChange} namespaces={namespaces} running={running} />
      <LiveButtons running={running} starting={starting} onStop={onStop} />
    </form>
  );
}

function NamespacePicks({
  form,
  onChange,
  namespaces,
  running,
}: {
  form: FilterForm;
  onChange: (f: FilterForm) => void;
  namespaces: readonly string[];
  running: boolean;
}) {
  const tr = useT('hopDiagram.liveForm');
  const toggle = (name: string) =>
    onChange({
      ...form,
      netns: form.netns.includes(name) ? form.netns.filter((n) => n !== name) : [...form.netns, name],
    });
  return (
    <div className="flex flex-wrap items-center gap-1">
      <span className="mr-1 text-slate-400">{tr('in')}</span>
      {namespaces.map((n) => (
        <button
          key={n}
          type="button"
          disabled={running}
          data-testid={hopIds.liveNs(n)}
          data-selected={form.netns.includes(n)}
          onClick={() => toggle(n)}
          className={`rounded border px-2 py-1 text-base ${form.netns.includes(n) ? 'border-sky-400 bg-sky-700 text-white' : 'border-slate-600 bg-slate-800 text-slate-300'} disabled:opacity-50`}
        >
          {n}
        </button>
      ))}
      {form.netns.length === 0 && <span className="text-base text-slate-500">{tr('allNamespaces')}</span>}
    </div>
  );
}

function LiveButtons({ running, starting, onStop }: { running: boolean; starting: boolean; onStop: () => void }) {
  const tr = useT('hopDiagram.liveForm');
  return (
    <div className="ml-auto flex gap-2">
      {running ? (
        // Distinct keys: reusing one <button> would turn it into "submit" mid-click and restart the trace.
        <button
          key="stop"
          type="button"
          data-testid={hopIds.liveStop}
          onClick={onStop}
          className="rounded-lg bg-red-600 px-6 py-2 text-xl font-bold text-white hover:bg-red-500"
        >
          {tr('stop')}
        </button>
      ) : (
        <button
          key="start"
          type="submit"
          data-testid={hopIds.liveStart}
          disabled={starting}
          className="rounded-lg bg-emerald-600 px-6 py-2 text-xl font-bold text-white hover:bg-emerald-500 disabled:opacity-40"
        >
          {starting ? tr('starting') : tr('goLive')}
        </button>
      )}
    </div>
  );
}

/** A labelled text field of the filter; empty means "any". */
function FilterInput(
  p: FieldProps & { disabled: boolean; width: 'w-96' | 'w-64' | 'w-24'; numeric: boolean; placeholder: string },
) {
  return (
    <label className="flex items-center gap-2">
      <span className="text-slate-400">{p.label}</span>
      <input
        {...bindField(p)}
        disabled={p.disabled}
        {...(p.numeric ? { inputMode: 'numeric' as const } : { spellCheck: false })}
        placeholder={p.placeholder}
        className={`${p.width} rounded-lg border-2 border-slate-600 bg-slate-800 px-3 py-1.5 font-mono`}
      />
    </label>
  );
}
