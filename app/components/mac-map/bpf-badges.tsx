'use client';
// BPF programs on the MAC map: a badge per program under its interface's row ("tc↓ drop_all"), the
// socket-level (cgroup) programs once in a header line, a mark on every namespace card they apply to,
// and the detail tables. Sizes are for a projector: 14 px bold at least.
import { tx } from '../../i18n/current';
import { useT } from '../../i18n/use-t';
import type { AttachedProg, CgroupProg, Iface, Topology } from '../../../server/protocol/topology';
import { ROW_H } from './layout';
import { CGROUP_TABLE, Table } from './tables';
import { macMapIds } from './test-ids';

const HOOK_SHORT: Record<AttachedProg['hook'], string> = {
  xdp: 'xdp',
  'tc-ingress': 'tc↓',
  'tc-egress': 'tc↑',
  'tcx-ingress': 'tcx↓',
  'tcx-egress': 'tcx↑',
};
const HOOK_COLOR: Record<AttachedProg['hook'], { fill: string; stroke: string; text: string }> = {
  xdp: { fill: '#4c0519', stroke: '#fb7185', text: '#fecdd3' },
  'tc-ingress': { fill: '#2e1065', stroke: '#a78bfa', text: '#ede9fe' },
  'tc-egress': { fill: '#083344', stroke: '#22d3ee', text: '#cffafe' },
  'tcx-ingress': { fill: '#2e1065', stroke: '#c4b5fd', text: '#ede9fe' },
  'tcx-egress': { fill: '#083344', stroke: '#67e8f9', text: '#cffafe' },
};

/** What the badge says: hook arrow (↓ into the device, ↑ out of it) and the program's name. */
export function progLabel(p: AttachedProg): string {
  return `${HOOK_SHORT[p.hook]} ${p.name || `id ${p.id}`}`;
}

/** The tooltip: everything the badge leaves out. */
export function progTitle(p: AttachedProg): string {
  return [
    `${p.hook} ${p.name}`,
    `id ${p.id}`,
    p.tag ? `tag ${p.tag}` : '',
    p.mode ? `mode ${p.mode}` : '',
    p.pref !== undefined ? `pref ${p.pref}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

/** A rough width of bold 14 px text, enough to size pills without measuring the DOM. */
const textW = (s: string): number => s.length * 8.4;

/** The badge line under an interface row (layout.ts made the row PROG_H taller). */
export function ProgBadges({
  netns,
  iface,
  x,
  y,
  w,
}: {
  netns: string;
  iface: Iface;
  x: number;
  y: number;
  w: number;
}) {
  const progs = iface.programs ?? [];
  let at = x + 24;
  const pills: { p: AttachedProg; x: number; w: number; label: string }[] = [];
  for (const p of progs) {
    const label = progLabel(p);
    const pw = textW(label) + 16;
    if (at + pw > x + w - 8 && pills.length > 0) break;
    pills.push({ p, x: at, w: pw, label });
    at += pw + 6;
  }
  const more = progs.length - pills.length;
  const top = y + ROW_H - 4;
  return (
    <g>
      {pills.map(({ p, x: px, w: pw, label }) => {
        const c = HOOK_COLOR[p.hook];
        return (
          <g key={`${p.hook}-${p.id}`} data-testid={macMapIds.progBadge(netns, iface.name, p.hook)} data-prog-id={p.id}>
            <rect x={px} y={top} width={pw} height={24} rx={12} fill={c.fill} stroke={c.stroke} strokeWidth={1.5} />
            <text x={px + pw / 2} y={top + 17} fontSize={14} fontWeight={700} textAnchor="middle" fill={c.text}>
              {label}
            </text>
            <title>{progTitle(p)}</title>
          </g>
        );
      })}
      {more > 0 && (
        <text x={at} y={top + 17} fontSize={14} fontWeight={700} fill="#cbd5e1">
          +{more}
        </text>
      )}
    </g>
  );
}

/** Cgroup programs at the cgroup v2 root run for every socket on the machine, whatever its namespace. */
export const machineWide = (t: Topology): CgroupProg[] => (t.cgroupPrograms ?? []).filter((c) => c.cgroup === '/');

/** The mark on a namespace card: a tab on its top edge, right-aligned, when machine-wide programs exist. */
export function NsCgroupMark({
  netns,
  progs,
  x,
  y,
}: {
  netns: string;
  progs: readonly CgroupProg[];
  x: number;
  y: number;
}) {
  if (progs.length === 0) return null;
  const label = tx('macMap.bpfBadges.socketBpf', { n: progs.length });
  const w = textW(label) + 18;
  return (
    <g data-testid={macMapIds.nsCgroupBadge(netns)}>
      <rect x={x - w} y={y - 13} width={w} height={24} rx={12} fill="#422006" stroke="#f59e0b" strokeWidth={1.5} />
      <text x={x - w / 2} y={y + 4} fontSize={14} fontWeight={700} textAnchor="middle" fill="#fde68a">
        {label}
      </text>
      <title>{progs.map((p) => `${p.attachType} ${p.name} (id ${p.id})`).join('\n')}</title>
    </g>
  );
}

/** The header line: every cgroup program once ("socket-level: connect4 sock_lb_connect (id 12) …"). */
export function CgroupLine({ topo }: { topo: Topology }) {
  const tr = useT('macMap.bpfBadges');
  const progs = topo.cgroupPrograms ?? [];
  if (progs.length === 0) return null;
  return (
    <div
      data-testid={macMapIds.cgroupLine}
      className="flex flex-wrap items-baseline gap-x-5 gap-y-1 border-b border-amber-700/40 bg-amber-950/30 px-5 py-2 text-lg"
    >
      <span className="font-semibold text-amber-200">{tr('socketLevel')}</span>
      {progs.map((p) => (
        <span key={`${p.cgroup}-${p.attachType}-${p.id}`} className="font-mono text-amber-100">
          {p.attachType} {p.name} <span className="text-amber-300/80">(id {p.id})</span>
          {p.cgroup !== '/' && (
            <span className="text-amber-300/80">
              {' '}
              {tr('onCgroup')} {p.cgroup}
            </span>
          )}
        </span>
      ))}
    </div>
  );
}

/** The interface detail's programs, one block each (a 5-column table does not fit the panel). */
export function ProgTable({ progs }: { progs: readonly AttachedProg[] }) {
  const tr = useT('macMap.bpfBadges');
  return (
    <ul data-testid={macMapIds.progTable} className="space-y-3">
      {progs.map((p) => (
        <li key={`${p.hook}-${p.id}`} className="rounded border border-slate-700 bg-slate-950/60 px-3 py-2">
          <div className="text-lg">
            <span className="font-semibold text-violet-300">{p.hook}</span>{' '}
            <span className="font-mono font-bold text-slate-100">{p.name || tr('noName')}</span>
          </div>
          <div className="grid grid-cols-[4rem_1fr] gap-x-3 font-mono text-[0.95rem] text-slate-200">
            <span className="text-slate-400">id</span>
            <span>{p.id}</span>
            <span className="text-slate-400">{tr('tag')}</span>
            <span>{p.tag || '—'}</span>
            {p.mode && (
              <>
                <span className="text-slate-400">{tr('mode')}</span>
                <span className="break-all">{p.mode}</span>
              </>
            )}
            {p.pref !== undefined && (
              <>
                <span className="text-slate-400">{tr('pref')}</span>
                <span>{p.pref}</span>
              </>
            )}
          </div>
        </li>
      ))}
    </ul>
  );
}

export function CgroupTable({ progs }: { progs: readonly CgroupProg[] }) {
  return <Table kind={CGROUP_TABLE} rows={progs} testId={macMapIds.cgroupTable} />;
}
