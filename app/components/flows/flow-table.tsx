'use client';
// The flow table: one row per flow direction, sortable by any column, the busiest first. A click picks
// the flow (its sampled journey is drawn below, its path lit on the map).
import { useState } from 'react';
import { useT } from '../../i18n/use-t';
import type { FlowRow } from '../../../server/protocol/flows';
import { si } from './layout';
import { flowIds } from './test-ids';

const COLUMNS = ['flow', 'packets', 'bytes', 'pps', 'bps', 'drops', 'path'] as const;
type Column = (typeof COLUMNS)[number];

const key = (r: FlowRow, c: Column): number | string => {
  switch (c) {
    case 'flow':
      return r.id;
    case 'drops':
      return r.dropsTotal;
    case 'path':
      return r.path.map((h) => h.netns).join(' ');
    default:
      return r[c];
  }
};

export function sortFlows(rows: readonly FlowRow[], by: Column, desc: boolean): FlowRow[] {
  const s = [...rows].sort((a, b) => {
    const x = key(a, by);
    const y = key(b, by);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return c !== 0 ? c : a.id.localeCompare(b.id);
  });
  return desc ? s.reverse() : s;
}

export function FlowTable({
  rows,
  selected,
  onSelect,
}: {
  rows: readonly FlowRow[];
  selected: string | undefined;
  onSelect: (id: string) => void;
}) {
  const t = useT('flows.table');
  const [by, setBy] = useState<Column>('bps');
  const [desc, setDesc] = useState(true);
  const sorted = sortFlows(rows, by, desc);
  const head = (c: Column) => (
    <th key={c} className="px-3 py-2 text-left">
      <button
        data-testid={flowIds.sort(c)}
        aria-sort={by === c ? (desc ? 'descending' : 'ascending') : 'none'}
        onClick={() => {
          if (by === c) setDesc(!desc);
          else {
            setBy(c);
            setDesc(c !== 'flow' && c !== 'path');
          }
        }}
        className="font-semibold hover:text-sky-300"
      >
        {t(`col.${c}`)}
        {by === c ? (desc ? ' ▾' : ' ▴') : ''}
      </button>
    </th>
  );
  if (rows.length === 0) return <p className="text-lg text-slate-400">{t('empty')}</p>;
  return (
    <div className="max-h-[28rem] overflow-auto rounded border border-slate-800">
      <table data-testid={flowIds.table} className="w-full font-mono text-base">
        <thead className="sticky top-0 bg-slate-900 text-slate-300">
          <tr>{COLUMNS.map(head)}</tr>
        </thead>
        <tbody>
          {sorted.map((r, i) => (
            <tr
              key={r.id}
              data-testid={flowIds.row(i)}
              data-flow={r.id}
              aria-selected={r.id === selected}
              onClick={() => onSelect(r.id)}
              className={`cursor-pointer border-t border-slate-800 ${r.id === selected ? 'bg-sky-950' : 'hover:bg-slate-800'}`}
            >
              <td className="px-3 py-1.5">{r.id}</td>
              <td className="px-3 py-1.5 text-right">{si(r.packets)}</td>
              <td className="px-3 py-1.5 text-right">{t('bytes', { n: si(r.bytes) })}</td>
              <td className="px-3 py-1.5 text-right">{t('pps', { n: si(r.pps) })}</td>
              <td className="px-3 py-1.5 text-right">{t('bps', { n: si(r.bps) })}</td>
              <td className={`px-3 py-1.5 ${r.dropsTotal ? 'text-red-400' : 'text-slate-500'}`}>
                {r.dropsTotal ? t('drops', { n: r.dropsTotal, reason: r.drops[0]?.reason ?? '' }) : '0'}
              </td>
              <td className="px-3 py-1.5 text-slate-300">{r.path.map((h) => h.netns).join(' → ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
