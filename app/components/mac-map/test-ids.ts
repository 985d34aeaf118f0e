// data-testid values shared by the MAC/veth map and e2e/topology.spec.ts, e2e/bpf-badges.spec.ts.
import { ifaceDomId, nsDomId } from '../../../server/protocol/topology';

export const macMapIds = {
  root: 'mac-map',
  status: 'mac-map-status',
  svg: 'mac-map-svg',
  namespace: (netns: string) => nsDomId(netns),
  iface: (netns: string, ifname: string) => ifaceDomId(netns, ifname),
  detail: 'mac-map-detail',
  macTable: 'mac-map-mac-table',
  arpTable: 'mac-map-arp-table',
  routeTable: 'mac-map-route-table',
  search: 'mac-map-search',
  searchResults: 'mac-map-search-results',
  captureButton: 'mac-map-capture',
  followButton: 'mac-map-follow',
  fitButton: 'mac-map-fit',
  /** A BPF program's badge under an interface row (one per hook and program). */
  progBadge: (netns: string, ifname: string, hook: string) => `${ifaceDomId(netns, ifname)}--prog-${hook}`,
  progTable: 'mac-map-prog-table',
  /** The header line listing cgroup (socket-level) programs, and the mark on each namespace they apply to. */
  cgroupLine: 'mac-map-cgroup-line',
  cgroupTable: 'mac-map-cgroup-table',
  nsCgroupBadge: (netns: string) => `${nsDomId(netns)}--cgroup`,
} as const;
