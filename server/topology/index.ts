// The topology capability's one API for the rest of the server: discovery (and its cache and watcher),
// and namespace identity — name -> how to enter it, inode -> name, the list of named namespaces, and the
// tracer's destination / source-address look-ups. The pieces: discover.ts (what is there), cache.ts
// (shared discovery, watch poller), namespaces.ts (identity), iproute.ts (every iproute2 JSON parser).
import { createTopologyCache } from './cache';
import { discover } from './discover';
import { createNamespaces } from './namespaces';

export type { Discovery, DiscoverOptions, NsEntry } from './discover';
export { PROGRAMS_SLICES, createProgramReader, programsAt, type ProgramReader } from './bpf-programs';
export { POLL_MS, topologyKey, createTopologyCache, type TopologyCache } from './cache';
export {
  HOST_NS,
  NETNS_DIR,
  NetnsNames,
  createNamespaces,
  hostNamespace,
  isIpv4,
  namedInode,
  namedNamespaces,
  type NamespaceRef,
  type Namespaces,
} from './namespaces';

/** The process-wide discovery cache (one poller for every watcher). */
export const topology = createTopologyCache(discover);
export const { discoverTopology, getDiscovery, lookupNamespace, nameForInode, nameForInodeCached, watchTopology } =
  topology;

/** Namespace look-ups backed by that cache. */
export const namespaces = createNamespaces({ topology });
export const { findNamespace, linksIn, netnsNames, primaryAddress, resolveDestination, sourceAddressFor } = namespaces;
