'use client';
// One namespace on the MAC map: a box with its name and kind, and one row per interface (bridge ports
// indented under their bridge). React draws it; layout.ts placed it.
import { tx } from '../../i18n/current';
import { useT } from '../../i18n/use-t';
import type { CgroupProg, Iface, NamespaceKind } from '../../../server/protocol/topology';
import { NsCgroupMark, ProgBadges } from './bpf-badges';
import { HEAD_H, ROW_H, type BoxLayout, type CableLayout, type MapLayout } from './layout';
import { litKey, type SearchHits } from './search';
import { macMapIds } from './test-ids';
import type { Selection } from './detail-panel';

/** The step-through's interface: brighter than a search hit, so both can show at once. */
const HIGHLIGHT = { fill: '#713f12', stroke: '#fde047' } as const;

const KIND_STYLE: Record<NamespaceKind, { stroke: string; fill: string; badge: string }> = {
  host: { stroke: '#94a3b8', fill: '#1e293b', badge: '#64748b' },
  node: { stroke: '#38bdf8', fill: '#0c2438', badge: '#0284c7' },
  pod: { stroke: '#34d399', fill: '#0b2a22', badge: '#059669' },
  container: { stroke: '#a78bfa', fill: '#221a3d', badge: '#7c3aed' },
  netns: { stroke: '#cbd5e1', fill: '#1e293b', badge: '#475569' },
};

export function NsBox({
  box,
  selected,
  peerKey,
  lit,
  arpHit,
  cgroupProgs,
  onSelect,
  highlight,
}: {
  box: BoxLayout;
  /** litKey of the interface the step-through is on: drawn in the strongest colour. */
  highlight?: string;
  /** Machine-wide cgroup programs (they apply to every namespace's sockets). */
  cgroupProgs: readonly CgroupProg[];
  selected: Selection | undefined;
  peerKey: string | undefined;
  lit: ReadonlySet<string> | undefined;
  arpHit: boolean;
  onSelect: (s: Selection) => void;
}) {
  const t = useT('macMap.nsBox');
  const { ns } = box;
  const st = KIND_STYLE[ns.kind];
  const nsSel = selected?.kind === 'ns' && selected.netns === ns.name;
  const subtitle = [
    ns.kind,
    ns.node ? tx('macMap.nsBox.on', { node: ns.node }) : '',
    ns.container ? ns.container.image : '',
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <g data-testid={macMapIds.namespace(ns.name)} id={macMapIds.namespace(ns.name)} data-kind={ns.kind}>
      <rect
        x={box.x}
        y={box.y}
        width={box.w}
        height={box.h}
        rx={10}
        fill={st.fill}
        stroke={nsSel ? '#f8fafc' : arpHit ? '#fbbf24' : st.stroke}
        strokeWidth={nsSel || arpHit ? 4 : 2}
      />
      <g
        className="cursor-pointer"
        role="button"
        tabIndex={0}
        aria-label={t('namespace', { name: ns.name })}
        onClick={() => onSelect({ kind: 'ns', netns: ns.name })}
        onKeyDown={(e) => e.key === 'Enter' && onSelect({ kind: 'ns', netns: ns.name })}
      >
        <rect x={box.x} y={box.y} width={box.w} height={HEAD_H - 4} rx={10} fill="transparent" />
        <text x={box.x + 14} y={box.y + 27} fontSize={20} fontWeight={700} fill="#f8fafc">
          {ns.name.length > 22 ? ns.name.slice(0, 21) + '…' : ns.name}
        </text>
        <text x={box.x + box.w - 12} y={box.y + 26} fontSize={14} textAnchor="end" fill={st.stroke}>
          {subtitle.length > 24 ? subtitle.slice(0, 23) + '…' : subtitle}
        </text>
      </g>
      <NsCgroupMark netns={ns.name} progs={cgroupProgs} x={box.x + box.w - 14} y={box.y} />
      {box.rows.length === 0 && (
        <text x={box.x + 14} y={box.y + HEAD_H + 20} fontSize={15} fill="#94a3b8">
          {t('noInterfaces')}
        </text>
      )}
      {box.rows.map((r) => (
        <IfaceRow
          key={r.iface.name}
          netns={ns.name}
          iface={r.iface}
          x={box.x + 8 + r.indent * 22}
          y={r.y}
          h={r.h}
          w={box.w - 16 - r.indent * 22}
          indent={r.indent}
          selected={selected?.kind === 'iface' && selected.netns === ns.name && selected.ifname === r.iface.name}
          isPeer={peerKey === litKey(ns.name, r.iface.name)}
          lit={!!lit?.has(litKey(ns.name, r.iface.name))}
          highlighted={highlight === litKey(ns.name, r.iface.name)}
          onSelect={onSelect}
        />
      ))}
    </g>
  );
}

function IfaceRow({
  netns,
  iface,
  x,
  y,
  h,
  w,
  indent,
  selected,
  isPeer,
  lit,
  highlighted = false,
  onSelect,
}: {
  netns: string;
  iface: Iface;
  highlighted?: boolean;
  x: number;
  y: number;
  h: number;
  w: number;
  indent: number;
  selected: boolean;
  isPeer: boolean;
  lit: boolean;
  onSelect: (s: Selection) => void;
}) {
  const t = useT('macMap.nsBox');
  const bridge = iface.kind === 'bridge';
  const down = !iface.up || iface.state === 'DOWN' || iface.state === 'LOWERLAYERDOWN';
  const fill = highlighted ? HIGHLIGHT.fill : lit ? '#78350f' : selected ? '#334155' : bridge ? '#3b2a0a' : '#0f172a';
  const stroke = highlighted
    ? HIGHLIGHT.stroke
    : lit
      ? '#fbbf24'
      : selected
        ? '#f8fafc'
        : isPeer
          ? '#e2e8f0'
          : bridge
            ? '#f59e0b'
            : '#334155';
  return (
    <g
      data-testid={macMapIds.iface(netns, iface.name)}
      id={macMapIds.iface(netns, iface.name)}
      data-lit={lit ? 'true' : 'false'}
      data-highlight={highlighted ? 'true' : 'false'}
      data-up={down ? 'false' : 'true'}
      className="cursor-pointer"
      role="button"
      tabIndex={0}
      aria-label={t('in', { kind: iface.kind, name: iface.name, netns: netns })}
      onClick={(e) => {
        e.stopPropagation();
        onSelect({ kind: 'iface', netns, ifname: iface.name });
      }}
      onKeyDown={(e) => e.key === 'Enter' && onSelect({ kind: 'iface', netns, ifname: iface.name })}
      opacity={down ? 0.55 : 1}
    >
      {indent > 0 && (
        <path d={`M${x - 12},${y - 2} V${y + ROW_H / 2} H${x}`} fill="none" stroke="#f59e0b" strokeWidth={2} />
      )}
      <rect
        x={x}
        y={y + 2}
        width={w}
        height={h - 4}
        rx={5}
        fill={fill}
        stroke={stroke}
        strokeWidth={highlighted ? 5 : lit || selected ? 2.5 : 1}
      />
      <circle cx={x + 12} cy={y + ROW_H / 2} r={5} fill={down ? '#ef4444' : '#22c55e'} />
      <IfaceText iface={iface} x={x} y={y} w={w} bridge={bridge} />
      {iface.programs?.length ? <ProgBadges netns={netns} iface={iface} x={x} y={y} w={w} /> : null}
      <title>{`${netns}/${iface.name} ${iface.mac} ${iface.addrs.join(' ')}`}</title>
    </g>
  );
}

/** A veth pair between two namespaces, lit when one end is selected or matches the search. */
export function Cable({
  c,
  selected,
  hits,
  highlight,
}: {
  c: CableLayout;
  selected: Selection | undefined;
  hits: SearchHits | undefined;
  /** litKey of the step-through's interface: its cable is drawn in the highlight colour. */
  highlight?: string;
}) {
  const ka = litKey(c.a.netns, c.a.ifname);
  const kb = litKey(c.b.netns, c.b.ifname);
  const sel =
    selected?.kind === 'iface' &&
    (ka === litKey(selected.netns, selected.ifname) || kb === litKey(selected.netns, selected.ifname));
  const lit = hits?.lit.has(ka) || hits?.lit.has(kb);
  const hl = highlight !== undefined && (highlight === ka || highlight === kb);
  return (
    <g>
      <path d={c.path} fill="none" stroke="#020617" strokeWidth={9} />
      <path
        d={c.path}
        fill="none"
        stroke={hl ? HIGHLIGHT.stroke : sel ? '#f8fafc' : lit ? '#fbbf24' : '#64748b'}
        strokeWidth={hl ? 7 : sel || lit ? 5 : 3.5}
        strokeLinecap="round"
      />
      <circle cx={c.a.x} cy={c.a.y} r={5} fill="#94a3b8" />
      <circle cx={c.b.x} cy={c.b.y} r={5} fill="#94a3b8" />
    </g>
  );
}

/** An interface row's words: name and IPv4 address, then MAC and kind (and bridge). */
function IfaceText({ iface, x, y, w, bridge }: { iface: Iface; x: number; y: number; w: number; bridge: boolean }) {
  const v4 = iface.addrs.find((a) => !a.includes(':'));
  return (
    <>
      <text x={x + 24} y={y + 20} fontSize={16} fontWeight={600} fill={bridge ? '#fcd34d' : '#f1f5f9'}>
        {iface.name}
      </text>
      {v4 && (
        <text
          x={x + w - 8}
          y={y + 20}
          fontSize={14}
          textAnchor="end"
          fill="#7dd3fc"
          fontFamily="DejaVu Sans Mono, monospace"
        >
          {v4}
        </text>
      )}
      <text x={x + 24} y={y + 40} fontSize={13.5} fill="#cbd5e1" fontFamily="DejaVu Sans Mono, monospace">
        {iface.mac || '—'}
      </text>
      <text x={x + w - 8} y={y + 40} fontSize={12.5} textAnchor="end" fill="#94a3b8">
        {iface.kind}
        {iface.master ? ` · ${iface.master}` : ''}
      </text>
    </>
  );
}

/**
 * The map's cables and namespace boxes, as the MAC map tab and the step-through's mini map both draw
 * them; the mini map passes only `highlight` (nothing in it is selectable).
 */
export function MapGraph({
  layout,
  highlight,
  selected,
  peerKey,
  hits,
  cgroupProgs = [],
  onSelect = () => undefined,
}: {
  layout: MapLayout | undefined;
  highlight?: string | undefined;
  selected?: Selection | undefined;
  peerKey?: string | undefined;
  hits?: SearchHits | undefined;
  cgroupProgs?: readonly CgroupProg[];
  onSelect?: (s: Selection) => void;
}) {
  return (
    <>
      {layout?.cables.map((c) => (
        <Cable key={c.key} c={c} selected={selected} hits={hits} highlight={highlight} />
      ))}
      {layout?.boxes.map((b) => (
        <NsBox
          key={b.ns.name}
          box={b}
          selected={selected}
          peerKey={peerKey}
          lit={hits?.lit}
          arpHit={!!hits?.neighbors.some((h) => h.netns === b.ns.name)}
          cgroupProgs={cgroupProgs}
          onSelect={onSelect}
          highlight={highlight}
        />
      ))}
    </>
  );
}
