'use client';
// The capture panel's controls: where to capture (namespace, interface), the pcap filter and its check
// (the cBPF shown as a teaching aid), start/stop, and decoding an uploaded file.
import { tx } from '../../i18n/current';
import { useT } from '../../i18n/use-t';
import { useState } from 'react';
import { bindField, type FieldProps } from '../../lib/field';
import { captureIds } from './test-ids';
import type { CaptureForm } from './use-capture-form';
import type { CaptureView } from './use-capture';

/** A labelled select; a value not among the options (arriving from the map before the targets) stays shown. */
function Pick(p: FieldProps & { options: readonly { value: string; text: string }[] }) {
  return (
    <label className="flex flex-col">
      <span className="text-sm uppercase tracking-wide text-slate-400">{p.label}</span>
      <select {...bindField(p)} className="rounded border border-slate-600 bg-slate-900 px-3 py-2">
        {p.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.text}
          </option>
        ))}
        {p.value && !p.options.some((o) => o.value === p.value) && <option value={p.value}>{p.value}</option>}
      </select>
    </label>
  );
}

function TargetPicker({ cap, form }: { cap: CaptureView; form: CaptureForm }) {
  const tr = useT('capture.captureControls');
  return (
    <>
      <Pick
        label={tr('namespace')}
        testId={captureIds.netns}
        value={form.netns}
        options={cap.targets.map((t) => ({ value: t.netns, text: t.netns }))}
        onChange={form.setNetns}
      />
      <button
        onClick={cap.refreshTargets}
        title={tr('reReadNamespacesAnd')}
        aria-label={tr('refreshNamespaces')}
        className="rounded border border-slate-600 px-3 py-2 hover:bg-slate-800"
      >
        ↻
      </button>
      <Pick
        label={tr('interface')}
        testId={captureIds.iface}
        value={form.iface}
        options={form.ifaces.map((i) => ({
          value: i.name,
          text: `${i.name} (${i.kind}${i.up ? '' : tx('capture.captureControls.down')})`,
        }))}
        onChange={form.setIface}
      />
    </>
  );
}

export function CaptureControls({
  cap,
  form,
  live,
  onReset,
}: {
  cap: CaptureView;
  form: CaptureForm;
  /** A capture is running here: Stop instead of Capture. */
  live: boolean;
  /** A new capture or file is coming: forget the open packet. */
  onReset: () => void;
}) {
  const tr = useT('capture.captureControls');
  return (
    <div className="flex flex-wrap items-end gap-4">
      <TargetPicker cap={cap} form={form} />
      <label className="flex min-w-[20rem] flex-1 flex-col">
        <span className="text-sm uppercase tracking-wide text-slate-400">{tr('pcapFilter')}</span>
        <input
          data-testid={captureIds.filter}
          value={form.filter}
          onChange={(e) => form.setFilter(e.target.value)}
          placeholder={tr('eGIcmpOr')}
          className={`rounded border bg-slate-900 px-3 py-2 font-mono ${form.check.error ? 'border-red-500' : 'border-slate-600'}`}
        />
      </label>
      {live ? (
        <button
          data-testid={captureIds.stop}
          onClick={cap.stop}
          className="rounded bg-red-600 px-5 py-2 font-bold text-white hover:bg-red-500"
        >
          {tr('stop')}
        </button>
      ) : (
        <button
          data-testid={captureIds.start}
          disabled={!form.netns || !form.iface || Boolean(form.check.error) || form.check.pending}
          onClick={() => {
            onReset();
            void cap.start(form.netns, form.iface, form.filter);
          }}
          className="rounded bg-emerald-600 px-5 py-2 font-bold text-white hover:bg-emerald-500 disabled:opacity-40"
        >
          {tr('capture')}
        </button>
      )}
      <label className="cursor-pointer rounded border border-slate-600 px-4 py-2 hover:bg-slate-800">
        {tr('decodeAFile')}
        <input
          data-testid={captureIds.upload}
          type="file"
          accept=".pcap,.pcapng,.cap"
          className="hidden"
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) {
              onReset();
              void cap.upload(f);
            }
            e.target.value = '';
          }}
        />
      </label>
    </div>
  );
}

/** The filter's check: its one-line error, or the bytecode `tcpdump -d` printed for it. */
export function FilterCheckView({ form }: { form: CaptureForm }) {
  const tr = useT('capture.captureControls');
  const [open, setOpen] = useState(true);
  return (
    <>
      {form.check.error ? (
        <div
          data-testid={captureIds.filterError}
          className="rounded border border-red-500 bg-red-950/50 px-3 py-2 font-mono text-red-200"
        >
          {form.check.error}
        </div>
      ) : (
        form.check.bytecode && (
          <details
            open={open}
            onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}
            className="rounded border border-slate-700 bg-slate-950"
          >
            <summary className="cursor-pointer px-3 py-1 text-slate-300">
              {tr('cbpfBytecode')}
              <code>tcpdump -d</code>
              {form.filter ? ` '${form.filter}'` : ''}): {form.check.bytecode.split('\n').length} {tr('instructions')}
            </summary>
            <pre
              data-testid={captureIds.bytecode}
              className="max-h-48 overflow-auto px-3 pb-2 text-base text-emerald-200"
            >
              {form.check.bytecode}
            </pre>
          </details>
        )
      )}
    </>
  );
}
