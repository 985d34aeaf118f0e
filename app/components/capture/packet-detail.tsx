'use client';
// Detail tree and hex view, linked both ways: a field highlights its bytes; a byte selects the
// innermost field that covers it (and opens the tree down to it).
import { useT } from '../../i18n/use-t';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { PacketDetail, PacketField } from '../../../server/protocol/capture';
import { DsrExplainer } from './dsr-explainer';
import { captureIds } from './test-ids';

interface Flat {
  readonly path: string;
  readonly field: PacketField;
  readonly depth: number;
}

type Range = readonly [number, number];

function flatten(d: PacketDetail): Flat[] {
  const out: Flat[] = [];
  const walk = (fs: readonly PacketField[], prefix: string, depth: number) =>
    fs.forEach((f, i) => {
      const path = `${prefix}.${i}`;
      out.push({ path, field: f, depth });
      if (f.children) walk(f.children, path, depth + 1);
    });
  d.packet.layers.forEach((l, i) => walk(l.fields, String(i), 1));
  return out;
}

function FieldNode({
  f,
  path,
  sel,
  open,
  toggle,
  pick,
}: {
  f: PacketField;
  path: string;
  sel: string | undefined;
  open: ReadonlySet<string>;
  toggle: (p: string) => void;
  pick: (p: string, r: Range) => void;
}) {
  const t = useT('capture.packetDetail');
  const has = (f.children?.length ?? 0) > 0;
  const isOpen = open.has(path);
  const active = sel === path;
  return (
    <li>
      <div
        data-testid={captureIds.field(path)}
        data-selected={active}
        onClick={() => pick(path, [f.start, f.end])}
        className={`flex cursor-pointer gap-2 rounded px-1 ${active ? 'bg-amber-400 text-slate-950' : 'hover:bg-slate-800'}`}
      >
        <button
          className="w-5 shrink-0 text-slate-400"
          aria-label={isOpen ? t('collapse') : t('expand')}
          onClick={(e) => {
            e.stopPropagation();
            if (has) toggle(path);
          }}
        >
          {has ? (isOpen ? '▾' : '▸') : ''}
        </button>
        <span className="font-semibold">{f.name}</span>
        {f.value && <span className={`font-mono ${active ? '' : 'text-sky-200'}`}>{f.value}</span>}
      </div>
      {has && isOpen && (
        <ul className="ml-5 border-l border-slate-700 pl-2">
          {f.children?.map((c, i) => (
            <FieldNode key={i} f={c} path={`${path}.${i}`} sel={sel} open={open} toggle={toggle} pick={pick} />
          ))}
        </ul>
      )}
    </li>
  );
}

/** Which field is picked and which bytes are lit; DSR packets start with the option lit and its layer open. */
function useFieldSelection(detail: PacketDetail) {
  const flat = useMemo(() => flatten(detail), [detail]);
  const [sel, setSel] = useState<string | undefined>();
  const [range, setRange] = useState<Range | undefined>();
  const [open, setOpen] = useState<ReadonlySet<string>>(() => new Set(detail.packet.layers.map((_, i) => `L${i}`)));
  const treeRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setSel(undefined);
    setRange(detail.packet.dsr ? detail.packet.dsr.option : undefined);
    // DSR packets open the IPv4/IPv6 layer so the option is visible straight away.
    const o = new Set(detail.packet.layers.map((_, i) => `L${i}`));
    if (detail.packet.dsr) {
      const [s] = detail.packet.dsr.option;
      for (const x of flatten(detail)) if (x.field.children && x.field.start <= s && s < x.field.end) o.add(x.path);
    }
    setOpen(o);
  }, [detail]);

  const toggle = (p: string) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(p)) n.delete(p);
      else n.add(p);
      return n;
    });
  const pick = (p: string | undefined, r: Range) => {
    setSel(p);
    setRange(r);
  };

  /** Byte click: the smallest field covering it; open its ancestors. */
  const pickByte = (off: number) => {
    let best: Flat | undefined;
    for (const x of flat) {
      if (
        x.field.start <= off &&
        off < x.field.end &&
        (!best || x.field.end - x.field.start <= best.field.end - best.field.start)
      )
        best = x;
    }
    if (!best) return;
    const parts = best.path.split('.');
    setOpen((s) => {
      const n = new Set(s);
      n.add(`L${parts[0]}`);
      for (let i = 2; i < parts.length; i++) n.add(parts.slice(0, i).join('.'));
      return n;
    });
    pick(best.path, [best.field.start, best.field.end]);
    requestAnimationFrame(() =>
      treeRef.current
        ?.querySelector(`[data-testid="${captureIds.field(best.path)}"]`)
        ?.scrollIntoView({ block: 'nearest' }),
    );
  };

  const inRange = (i: number) => range !== undefined && i >= range[0] && i < range[1];
  return { sel, open, toggle, pick, pickByte, inRange, treeRef };
}

type FieldSelection = ReturnType<typeof useFieldSelection>;

export function PacketDetailView({
  detail,
  onNote,
}: {
  detail: PacketDetail;
  onNote: (text: string) => Promise<string | undefined>;
}) {
  const t = useT('capture.packetDetail');
  const fs = useFieldSelection(detail);
  const p = detail.packet;
  return (
    <div data-testid={captureIds.detail} className="space-y-4">
      {p.malformed && (
        <div className="rounded border border-red-500 bg-red-950/50 px-3 py-2 text-lg text-red-200">
          {t('malformedAt')} {p.malformed.layer} / {p.malformed.field} {t('offset')} {p.malformed.offset}):{' '}
          {p.malformed.reason}
        </div>
      )}
      {p.dsr && <DsrExplainer dsr={p.dsr} frameHex={detail.hex} onHighlight={(r) => fs.pick(undefined, r)} />}
      <div className="grid gap-4 xl:grid-cols-2">
        <div
          ref={fs.treeRef}
          className="max-h-[32rem] overflow-auto rounded border border-slate-700 bg-slate-950 p-2 text-base"
        >
          <LayerTree layers={p.layers} fs={fs} />
        </div>
        <div
          data-testid={captureIds.hex}
          className="max-h-[32rem] overflow-auto rounded border border-slate-700 bg-slate-950 p-2 font-mono text-base leading-7"
        >
          <HexRows hex={detail.hex} fs={fs} />
        </div>
      </div>
      {detail.annotations.length > 0 && (
        <ul className="space-y-1 rounded border border-slate-700 bg-slate-900 px-3 py-2 text-base">
          {detail.annotations.map((a, i) => (
            <li key={i}>
              <span className="mr-2 rounded bg-slate-700 px-1.5 text-sm uppercase">{a.source}</span>
              {a.text}
            </li>
          ))}
        </ul>
      )}
      <NoteEditor detail={detail} onNote={onNote} />
    </div>
  );
}

function LayerTree({ layers, fs }: { layers: PacketDetail['packet']['layers']; fs: FieldSelection }) {
  const { sel, open, toggle, pick } = fs;
  return (
    <ul>
      {layers.map((l, li) => (
        <li key={li} className="mb-1">
          <div
            className="flex cursor-pointer gap-2 rounded bg-slate-800 px-2 py-0.5 font-bold text-slate-100"
            onClick={() => {
              toggle(`L${li}`);
              pick(undefined, [l.start, l.end]);
            }}
          >
            <span className="w-4">{open.has(`L${li}`) ? '▾' : '▸'}</span>
            {l.title}
          </div>
          {open.has(`L${li}`) && (
            <ul className="ml-3">
              {l.fields.map((f, i) => (
                <FieldNode key={i} f={f} path={`${li}.${i}`} sel={sel} open={open} toggle={toggle} pick={pick} />
              ))}
            </ul>
          )}
        </li>
      ))}
    </ul>
  );
}

/** The frame's bytes, 16 a row with their ASCII; a click picks the smallest field covering the byte. */
function HexRows({ hex, fs }: { hex: string; fs: FieldSelection }) {
  const bytes = useMemo(() => hex.match(/../g) ?? [], [hex]);
  const { inRange, pickByte } = fs;
  return (
    <>
      {Array.from({ length: Math.ceil(bytes.length / 16) }, (_, row) => (
        <div key={row} className="flex gap-3 whitespace-nowrap">
          <span className="text-slate-500">{(row * 16).toString(16).padStart(4, '0')}</span>
          <span className="flex gap-1">
            {bytes.slice(row * 16, row * 16 + 16).map((b, j) => {
              const off = row * 16 + j;
              return (
                <span
                  key={j}
                  data-testid={captureIds.hexByte(off)}
                  data-hl={inRange(off)}
                  onClick={() => pickByte(off)}
                  className={`cursor-pointer rounded px-0.5 ${inRange(off) ? 'bg-amber-400 text-slate-950' : 'hover:bg-slate-700'} ${j === 8 ? 'ml-2' : ''}`}
                >
                  {b}
                </span>
              );
            })}
          </span>
          <span className="text-slate-400">
            {bytes
              .slice(row * 16, row * 16 + 16)
              .map((b) => {
                const c = parseInt(b, 16);
                return c >= 32 && c < 127 ? String.fromCharCode(c) : '.';
              })
              .join('')}
          </span>
        </div>
      ))}
    </>
  );
}

/** A note on the packet, saved into the exported pcapng as a comment. */
function NoteEditor({
  detail,
  onNote,
}: {
  detail: PacketDetail;
  onNote: (text: string) => Promise<string | undefined>;
}) {
  const t = useT('capture.packetDetail');
  const [note, setNote] = useState(detail.notes.join('\n'));
  const [noteMsg, setNoteMsg] = useState<string | undefined>();
  useEffect(() => {
    setNote(detail.notes.join('\n'));
    setNoteMsg(undefined);
  }, [detail]);
  return (
    <div className="flex items-start gap-3">
      <textarea
        data-testid={captureIds.note}
        value={note}
        onChange={(e) => setNote(e.target.value)}
        placeholder={t('noteOnThisPacket')}
        className="h-20 flex-1 rounded border border-slate-600 bg-slate-900 p-2 text-lg"
      />
      <button
        data-testid={captureIds.noteSave}
        onClick={async () => setNoteMsg((await onNote(note)) ?? 'saved')}
        className="rounded bg-sky-700 px-4 py-2 text-lg font-semibold hover:bg-sky-600"
      >
        {t('saveNote')}
      </button>
      {noteMsg && <span className="self-center text-slate-300">{noteMsg}</span>}
    </div>
  );
}
