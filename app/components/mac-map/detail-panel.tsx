'use client';
// What a click on the map opens: an interface (MAC, IPs, every FDB/ARP entry that mentions it), a bridge
// (its MAC table, as `brctl showmacs`), or a namespace (ARP table and routes). Also the search results.
import { tx } from '../../i18n/current';
import { useT } from '../../i18n/use-t';
import type { ReactNode } from 'react';
import type { Iface, Namespace, Topology } from '../../../server/protocol/topology';
import { CgroupTable, machineWide, ProgTable } from './bpf-badges';
import type { SearchHits } from './search';
import { ARP_TABLE, FDB_TABLE, Table } from './tables';
import { macMapIds } from './test-ids';

export type Selection =
  | { readonly kind: 'ns'; readonly netns: string }
  | { readonly kind: 'iface'; readonly netns: string; readonly ifname: string };

interface Props {
  topo: Topology;
  selection: Selection | undefined;
  hits: SearchHits | undefined;
  onSelect: (s: Selection) => void;
  onCapture?: (netns: string, iface: string) => void;
  onSelectPod?: (netns: string) => void;
}

export function DetailPanel({ topo, selection, hits, onSelect, onCapture, onSelectPod }: Props) {
  const t = useT('macMap.detailPanel');
  const ns = selection ? topo.namespaces.find((n) => n.name === selection.netns) : undefined;
  const iface = selection?.kind === 'iface' ? ns?.interfaces.find((f) => f.name === selection.ifname) : undefined;
  return (
    <div data-testid={macMapIds.detail} className="space-y-6 p-5 text-base">
      {hits && <SearchResults hits={hits} onSelect={onSelect} />}
      {ns && iface && <IfaceDetail topo={topo} ns={ns} iface={iface} onSelect={onSelect} onCapture={onCapture} />}
      {ns && !iface && <NsDetail topo={topo} ns={ns} onSelect={onSelect} onSelectPod={onSelectPod} />}
      {!selection && !hits && <p className="text-lg leading-relaxed text-slate-400">{t('clickAnInterfaceA')}</p>}
    </div>
  );
}

function Section({ title, children, testId }: { title: string; children: ReactNode; testId?: string }) {
  return (
    <section data-testid={testId}>
      <h3 className="mb-2 text-sm font-bold uppercase tracking-wider text-slate-400">{title}</h3>
      {children}
    </section>
  );
}

function Kv({ k, v }: { k: string; v: ReactNode }) {
  return (
    <div className="flex gap-3 py-0.5">
      <span className="w-24 shrink-0 text-slate-400">{k}</span>
      <span className="min-w-0 break-all font-mono text-slate-100">{v}</span>
    </div>
  );
}

function Link({ onClick, children }: { onClick: () => void; children: ReactNode }) {
  return (
    <button
      onClick={onClick}
      className="font-mono text-sky-300 underline decoration-sky-700 underline-offset-4 hover:text-sky-200"
    >
      {children}
    </button>
  );
}

/** Every FDB row naming this port or holding its MAC (where the bridges learned it), and every ARP entry for it. */
function mentions(topo: Topology, ns: Namespace, iface: Iface) {
  const ips = new Set(iface.addrs.map((a) => a.replace(/\/\d+$/, '')));
  const mac = iface.mac && iface.mac !== '00:00:00:00:00:00' ? iface.mac : undefined;
  const fdb = topo.namespaces.flatMap((n) =>
    (n.fdb ?? [])
      .filter((e) => (n.name === ns.name && e.port === iface.name) || (mac !== undefined && e.mac === mac))
      .map((e) => ({ netns: n.name, e })),
  );
  const arp = topo.namespaces.flatMap((n) =>
    n.neighbors
      .filter(
        (e) => (n.name === ns.name && e.dev === iface.name) || (mac !== undefined && e.mac === mac) || ips.has(e.ip),
      )
      .map((entry) => ({ netns: n.name, entry })),
  );
  return { fdb, arp };
}

/** The interface's own fields, its bridge and its veth peer as links. */
function IfaceFacts({ ns, iface, onSelect }: { ns: Namespace; iface: Iface; onSelect: (s: Selection) => void }) {
  return (
    <div>
      <Kv k="MAC" v={iface.mac || '—'} />
      <Kv k={tx('macMap.detailPanel.kIps')} v={iface.addrs.length ? iface.addrs.join('  ') : '—'} />
      <Kv k={tx('macMap.detailPanel.kKind')} v={`${iface.kind} · ifindex ${iface.ifindex} · mtu ${iface.mtu}`} />
      <Kv
        k={tx('macMap.detailPanel.kState')}
        v={`${iface.state}${iface.up ? '' : tx('macMap.detailPanel.adminDown')}`}
      />
      {iface.master && (
        <Kv
          k="master"
          v={
            <Link onClick={() => onSelect({ kind: 'iface', netns: ns.name, ifname: iface.master ?? '' })}>
              {iface.master}
            </Link>
          }
        />
      )}
      {iface.peer && (
        <Kv
          k="peer"
          v={
            <Link
              onClick={() =>
                iface.peer && onSelect({ kind: 'iface', netns: iface.peer.netns, ifname: iface.peer.ifname })
              }
            >
              {iface.peer.netns}/{iface.peer.ifname}
            </Link>
          }
        />
      )}
    </div>
  );
}

function IfaceDetail({
  topo,
  ns,
  iface,
  onSelect,
  onCapture,
}: {
  topo: Topology;
  ns: Namespace;
  iface: Iface;
  onSelect: (s: Selection) => void;
  onCapture?: (netns: string, iface: string) => void;
}) {
  const t = useT('macMap.detailPanel');
  const { fdb, arp } = mentions(topo, ns, iface);
  const ports = iface.kind === 'bridge' ? ns.interfaces.filter((f) => f.master === iface.name) : [];
  const bridgeRows = iface.kind === 'bridge' ? (ns.fdb ?? []).filter((e) => e.bridge === iface.name) : [];
  return (
    <div className="space-y-5">
      <div>
        <div className="text-sm uppercase tracking-wider text-slate-400">
          {iface.kind === 'bridge' ? t('bridge') : t('interface')}
        </div>
        <h2 className="text-2xl font-bold">
          <Link onClick={() => onSelect({ kind: 'ns', netns: ns.name })}>{ns.name}</Link>
          <span className="text-slate-500"> / </span>
          {iface.name}
        </h2>
      </div>
      <IfaceFacts ns={ns} iface={iface} onSelect={onSelect} />
      {iface.programs?.length ? (
        <Section title={t('bpfPrograms', { length: iface.programs.length })}>
          <ProgTable progs={iface.programs} />
        </Section>
      ) : null}
      {onCapture && iface.kind !== 'loopback' && (
        <button
          data-testid={macMapIds.captureButton}
          onClick={() => onCapture(ns.name, iface.name)}
          className="rounded bg-sky-600 px-4 py-2 text-lg font-semibold text-white hover:bg-sky-500"
        >
          {t('captureHere')}
        </button>
      )}
      {iface.kind === 'bridge' && (
        <>
          <Section title={t('ports', { length: ports.length })}>
            <div className="flex flex-wrap gap-2">
              {ports.map((p) => (
                <Link key={p.name} onClick={() => onSelect({ kind: 'iface', netns: ns.name, ifname: p.name })}>
                  {p.name}
                </Link>
              ))}
              {ports.length === 0 && <span className="text-slate-400">{t('none')}</span>}
            </div>
          </Section>
          <Section title={t('macTableBrctlShowmacs', { name: iface.name })}>
            <Table kind={FDB_TABLE} rows={bridgeRows} testId={macMapIds.macTable} />
          </Section>
        </>
      )}
      {iface.kind !== 'bridge' && (
        <Section title={t('fdbEntriesMentioningIt')}>
          <Table kind={FDB_TABLE} rows={fdb.map((x) => x.e)} wide />
        </Section>
      )}
      <Section title={t('arpNeighbourEntriesMentioning')}>
        <Table kind={ARP_TABLE} rows={arp} wide />
      </Section>
    </div>
  );
}

function NsDetail({
  topo,
  ns,
  onSelect,
  onSelectPod,
}: {
  topo: Topology;
  ns: Namespace;
  onSelect: (s: Selection) => void;
  onSelectPod?: (netns: string) => void;
}) {
  const t = useT('macMap.detailPanel');
  return (
    <div className="space-y-5">
      <div>
        <div className="text-sm uppercase tracking-wider text-slate-400">
          {ns.kind} {t('namespace')}
        </div>
        <h2 className="text-2xl font-bold">{ns.name}</h2>
      </div>
      <div>
        {ns.node && (
          <Kv
            k={tx('macMap.detailPanel.kNode')}
            v={<Link onClick={() => onSelect({ kind: 'ns', netns: ns.node ?? '' })}>{ns.node}</Link>}
          />
        )}
        {ns.container && (
          <Kv k={tx('macMap.detailPanel.kContainer')} v={`${ns.container.id.slice(0, 12)} · ${ns.container.image}`} />
        )}
        {ns.hostname && <Kv k={tx('macMap.detailPanel.kHostname')} v={ns.hostname} />}
        {ns.pid !== undefined && <Kv k="pid" v={ns.pid} />}
        <Kv k={tx('macMap.detailPanel.kInode')} v={ns.inode} />
      </div>
      {onSelectPod && (ns.kind === 'pod' || ns.kind === 'container') && (
        <button
          data-testid={macMapIds.followButton}
          onClick={() => onSelectPod(ns.name)}
          className="rounded bg-emerald-600 px-4 py-2 text-lg font-semibold text-white hover:bg-emerald-500"
        >
          {t('followFromHere')}
        </button>
      )}
      <Section title={t('interfaces')}>
        <div className="flex flex-wrap gap-x-4 gap-y-1">
          {ns.interfaces.map((f) => (
            <Link key={f.name} onClick={() => onSelect({ kind: 'iface', netns: ns.name, ifname: f.name })}>
              {f.name}
            </Link>
          ))}
        </div>
      </Section>
      {machineWide(topo).length > 0 && (
        <Section title={t('socketLevelBpfCgroup')}>
          <CgroupTable progs={machineWide(topo)} />
        </Section>
      )}
      <Section title={t('arpNeighbourTable')} testId={macMapIds.arpTable}>
        <Table kind={ARP_TABLE} rows={ns.neighbors.map((entry) => ({ netns: ns.name, entry }))} />
      </Section>
      <Section title={t('routes')} testId={macMapIds.routeTable}>
        {ns.routes.length === 0 ? (
          <p className="text-slate-400">{t('noRoutes')}</p>
        ) : (
          <ul className="space-y-1 font-mono text-[0.95rem]">
            {ns.routes.map((r, i) => (
              <li key={`${r.dst}-${i}`}>
                {r.dst}
                {r.gateway ? ` via ${r.gateway}` : ''}
                {r.dev ? ` dev ${r.dev}` : ''}
                {r.prefsrc ? ` src ${r.prefsrc}` : ''}
                {r.scope && r.scope !== 'universe' ? ` scope ${r.scope}` : ''}
              </li>
            ))}
          </ul>
        )}
      </Section>
    </div>
  );
}

function SearchResults({ hits, onSelect }: { hits: SearchHits; onSelect: (s: Selection) => void }) {
  const t = useT('macMap.detailPanel');
  const none = hits.ifaces.length + hits.fdb.length + hits.neighbors.length === 0;
  return (
    <div
      data-testid={macMapIds.searchResults}
      className="space-y-4 rounded-lg border border-amber-600/60 bg-amber-950/20 p-4"
    >
      <h3 className="text-lg font-bold text-amber-200">{t('found')}</h3>
      {none && <p className="text-slate-300">{t('nowhereNoInterfaceFdb')}</p>}
      {hits.ifaces.length > 0 && (
        <Section title={t('onInterfaces')}>
          <ul className="space-y-1">
            {hits.ifaces.map(({ netns, iface }) => (
              <li key={`${netns}/${iface.name}`}>
                <Link onClick={() => onSelect({ kind: 'iface', netns, ifname: iface.name })}>
                  {netns}/{iface.name}
                </Link>{' '}
                <span className="font-mono text-slate-300">{iface.mac}</span>
              </li>
            ))}
          </ul>
        </Section>
      )}
      {hits.fdb.length > 0 && (
        <Section title={t('inBridgeFdbs')}>
          <ul className="space-y-1">
            {hits.fdb.map(({ netns, entry }) => (
              <li key={`${netns}/${entry.bridge}/${entry.port}/${entry.mac}`}>
                <Link onClick={() => onSelect({ kind: 'iface', netns, ifname: entry.bridge })}>
                  {netns}/{entry.bridge}
                </Link>{' '}
                {t('port')} <span className="font-mono">{entry.port}</span> {entry.local ? t('local') : ''}
              </li>
            ))}
          </ul>
        </Section>
      )}
      {hits.neighbors.length > 0 && (
        <Section title={t('inArpTables')}>
          <Table kind={ARP_TABLE} rows={hits.neighbors} wide />
        </Section>
      )}
    </div>
  );
}
