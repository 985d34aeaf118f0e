// data-testid values shared by the MAC/veth map and e2e/topology.spec.ts.
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
} as const;
