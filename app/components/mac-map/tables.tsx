// The detail panel's tables: a bridge's MAC table (`brctl showmacs`) and ARP tables (`ip neigh`), one
// generic table with a column list each.
import { useT } from '../../i18n/use-t';
import type { ReactNode } from 'react';
import type { CgroupProg, FdbEntry, Neighbor } from '../../../server/protocol/topology';

const th = 'px-2 py-1 text-left text-sm font-semibold text-slate-400';
const td = 'px-2 py-1 font-mono text-[0.95rem]';

interface Column<R> {
  readonly head: string;
  readonly cell: (r: R) => ReactNode;
  readonly small?: boolean;
}

/** A kind of table: its columns, the one it leads with when `wide`, and how its rows are keyed. */
interface TableKind<R> {
  readonly columns: readonly Column<R>[];
  readonly lead: Column<R>;
  readonly rowKey: (r: R) => string;
  /** `data-mac` of a row, for the specs to find a learned MAC. */
  readonly rowMac?: (r: R) => string;
}

/** `brctl showmacs` columns: port, mac addr, is local?, ageing timer; wide, the bridge first. */
export const FDB_TABLE: TableKind<FdbEntry> = {
  columns: [
    { head: 'port', cell: (e) => e.port },
    { head: 'mac addr', cell: (e) => e.mac },
    { head: 'is local?', cell: (e) => (e.local ? 'yes' : 'no') },
    { head: 'ageing', cell: (e) => (e.ageing !== undefined ? `${e.ageing.toFixed(0)} s` : '') },
  ],
  lead: { head: 'bridge', cell: (e) => e.bridge },
  rowKey: (e) => `${e.bridge}-${e.port}-${e.mac}-${e.vlan ?? ''}`,
  rowMac: (e) => e.mac,
};

type ArpRow = { readonly netns: string; readonly entry: Neighbor };
/** `ip neigh` columns; wide, the namespace first. */
export const ARP_TABLE: TableKind<ArpRow> = {
  columns: [
    { head: 'ip', cell: (r) => r.entry.ip },
    { head: 'mac', cell: (r) => r.entry.mac ?? '(incomplete)' },
    { head: 'dev', cell: (r) => r.entry.dev },
    { head: 'state', cell: (r) => r.entry.state, small: true },
  ],
  lead: { head: 'netns', cell: (r) => r.netns },
  rowKey: (r) => `${r.netns}-${r.entry.dev}-${r.entry.ip}`,
};

/** cgroup programs (`bpftool cgroup tree`). */
export const CGROUP_TABLE: TableKind<CgroupProg> = {
  columns: [
    { head: 'attach', cell: (p) => p.attachType },
    { head: 'program', cell: (p) => p.name },
    { head: 'id', cell: (p) => String(p.id) },
    { head: 'cgroup', cell: (p) => p.cgroup },
  ],
  lead: { head: 'cgroup', cell: (p) => p.cgroup },
  rowKey: (p) => `${p.cgroup}-${p.attachType}-${p.id}`,
};

/** The panel's MAC and ARP tables: a header row, one row an entry, or "no entries". */
export function Table<R>({
  kind,
  rows,
  wide,
  testId,
}: {
  kind: TableKind<R>;
  rows: readonly R[];
  wide?: boolean;
  testId?: string;
}) {
  const t = useT('macMap.tables');
  if (rows.length === 0) return <p className="text-slate-400">{t('noEntries')}</p>;
  const columns = wide ? [kind.lead, ...kind.columns] : kind.columns;
  return (
    <div className="overflow-x-auto">
      <table data-testid={testId} className="w-full border-collapse">
        <thead>
          <tr className="border-b border-slate-700">
            {columns.map((c) => (
              <th key={c.head} className={th}>
                {c.head}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={kind.rowKey(r)} className="border-b border-slate-800" data-mac={kind.rowMac?.(r)}>
              {columns.map((c) => (
                <td key={c.head} className={c.small ? `${td} text-sm` : td}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
