// The topology capability's entry points: one discovery, a shared cache for name/inode look-ups (the
// tracer resolves netns inodes from kernel events), and a poller that runs only while someone watches.
import type { Namespace, Topology } from '../protocol/topology';
import { discover, type DiscoverOptions, type Discovery, type NsEntry } from './discover';

export type { Discovery, NsEntry } from './discover';

let cached: Discovery | undefined;
let cachedAt = 0;
let inflight: Promise<Discovery> | undefined;

/** One fresh discovery of every namespace; also refreshes the cache the look-ups below use. */
export async function discoverTopology(opts: DiscoverOptions = {}): Promise<Topology> {
  return (await refresh(opts)).topology;
}

/** Concurrent callers share one discovery instead of forking iproute2 twice. */
function refresh(opts: DiscoverOptions = {}): Promise<Discovery> {
  inflight ??= discover(opts)
    .then((d) => {
      cached = d;
      cachedAt = Date.now();
      return d;
    })
    .finally(() => {
      inflight = undefined;
    });
  return inflight;
}

/** The cached discovery when younger than maxAgeMs, else a fresh one. */
export async function getDiscovery(maxAgeMs = 2000): Promise<Discovery> {
  if (cached && Date.now() - cachedAt <= maxAgeMs) return cached;
  return refresh();
}

const MISS_REFRESH_MS = 1000;

/**
 * netns inode -> namespace name. Answers from the cache; an unknown inode triggers at most one
 * re-discovery per second (a namespace created after the last one), then undefined.
 */
export async function nameForInode(inode: number): Promise<string | undefined> {
  const hit = nameForInodeCached(inode);
  if (hit !== undefined) return hit;
  if (cached && Date.now() - cachedAt < MISS_REFRESH_MS) return undefined;
  const d = await refresh();
  return d.topology.namespaces.find((n) => n.inode === inode)?.name;
}

/** Synchronous variant for hot paths: the last discovery only (call `nameForInode` to fill it). */
export function nameForInodeCached(inode: number): string | undefined {
  return cached?.topology.namespaces.find((n) => n.inode === inode)?.name;
}

/** Name -> how to enter it, refreshing once when the name is unknown (it may have just appeared). */
export async function lookupNamespace(name: string): Promise<{ ns: Namespace; entry: NsEntry } | undefined> {
  const find = (d: Discovery): { ns: Namespace; entry: NsEntry } | undefined => {
    const entry = d.targets.get(name);
    const ns = d.topology.namespaces.find((n) => n.name === name);
    return entry && ns ? { ns, entry } : undefined;
  };
  const first = await getDiscovery();
  return find(first) ?? (Date.now() - cachedAt < 50 ? undefined : find(await refresh()));
}

/**
 * What changes a user can see: everything but timestamps and FDB ageing counters (which tick every
 * second and would otherwise make every poll an "update").
 */
export function topologyKey(t: Topology): string {
  const ns = t.namespaces.map((n) => ({
    ...n,
    fdb: n.fdb?.map((e) => [e.bridge, e.port, e.mac, e.local, e.vlan, e.state]),
  }));
  return JSON.stringify([ns, t.warnings]);
}

type Listener = (t: Topology) => void;
const listeners = new Set<Listener>();
let pollTimer: NodeJS.Timeout | undefined;
let lastKey = '';

export const POLL_MS = 500;

/**
 * Calls `fn` with the topology whenever it changes (and once at start). Polls every POLL_MS while at
 * least one listener exists — re-discovery is cheaper than one `ip monitor` per namespace, and it stops
 * when the last watcher leaves. With many namespaces the period stretches to twice the discovery time.
 */
export function watchTopology(fn: Listener): () => void {
  // The first watcher after a quiet spell always gets the next poll's result, whatever lastKey says.
  if (listeners.size === 0) lastKey = '';
  listeners.add(fn);
  if (cached) fn(cached.topology);
  if (pollTimer === undefined) schedule(0);
  return () => {
    listeners.delete(fn);
    if (listeners.size === 0 && pollTimer !== undefined) {
      clearTimeout(pollTimer);
      pollTimer = undefined;
    }
  };
}

function schedule(delay: number): void {
  pollTimer = setTimeout(() => {
    void refresh()
      .then((d) => {
        const key = topologyKey(d.topology);
        if (key !== lastKey) {
          lastKey = key;
          for (const l of listeners) l(d.topology);
        }
        return d.topology.durationMs;
      })
      .catch(() => POLL_MS)
      .then((took) => {
        if (listeners.size > 0) schedule(Math.max(POLL_MS - took, 2 * took, 50));
        else pollTimer = undefined;
      });
  }, delay);
}
