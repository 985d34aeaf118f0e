// The topology's shared discovery cache: name/inode look-ups answer from the last discovery (the tracer
// resolves netns inodes from kernel events), concurrent callers share one discovery, and a poller runs
// only while someone watches. The discovery itself is passed in, so tests can hand in a fake one.
import type { Namespace, Topology } from '../protocol/topology';
import { holders } from '../sys/holders';
import type { DiscoverOptions, Discovery, NsEntry } from './discover';

export type Discover = (opts: DiscoverOptions) => Promise<Discovery>;
type Listener = (t: Topology) => void;

export interface TopologyCache {
  /** One fresh discovery of every namespace; also refreshes the cache the look-ups below use. */
  discoverTopology(opts?: DiscoverOptions): Promise<Topology>;
  /** The cached discovery when younger than maxAgeMs, else a fresh one. */
  getDiscovery(maxAgeMs?: number): Promise<Discovery>;
  /**
   * netns inode -> namespace name. Answers from the cache; an unknown inode triggers at most one
   * re-discovery per second (a namespace created after the last one), then undefined.
   */
  nameForInode(inode: number): Promise<string | undefined>;
  /** Synchronous variant for hot paths: the last discovery only (call `nameForInode` to fill it). */
  nameForInodeCached(inode: number): string | undefined;
  /** Name -> how to enter it, refreshing once when the name is unknown (it may have just appeared). */
  lookupNamespace(name: string): Promise<{ ns: Namespace; entry: NsEntry } | undefined>;
  /**
   * Calls `fn` with the topology whenever it changes (and once at start, from the cache if any). Polls
   * while at least one listener exists — re-discovery is cheaper than one `ip monitor` per namespace, and
   * it stops when the last watcher leaves. With many namespaces the period stretches to twice the
   * discovery time. Returns the unwatch function.
   */
  watchTopology(fn: Listener): () => void;
}

export const POLL_MS = 500;
const MISS_REFRESH_MS = 1000;

/**
 * What changes a user can see: everything but timestamps and FDB ageing counters (which tick every
 * second and would otherwise make every poll an "update").
 */
export function topologyKey(t: Topology): string {
  const ns = t.namespaces.map((n) => ({
    ...n,
    fdb: n.fdb?.map((e) => [e.bridge, e.port, e.mac, e.local, e.vlan, e.state]),
  }));
  return JSON.stringify([ns, t.warnings, t.cgroupPrograms]);
}

export function createTopologyCache(discover: Discover, opts: { pollMs?: number } = {}): TopologyCache {
  const pollMs = opts.pollMs ?? POLL_MS;
  let cached: Discovery | undefined;
  let cachedAt = 0;
  let inflight: Promise<Discovery> | undefined;

  /** Concurrent callers share one discovery instead of forking iproute2 twice. */
  const refresh = (o: DiscoverOptions = {}): Promise<Discovery> => {
    inflight ??= discover(o)
      .then((d) => {
        cached = d;
        cachedAt = Date.now();
        return d;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
  const getDiscovery = async (maxAgeMs = 2000): Promise<Discovery> =>
    cached && Date.now() - cachedAt <= maxAgeMs ? cached : refresh();
  const nameForInodeCached = (inode: number): string | undefined =>
    cached?.topology.namespaces.find((n) => n.inode === inode)?.name;

  const listeners = new Set<Listener>();
  const poller = createPoller(refresh, listeners, pollMs);

  return {
    discoverTopology: async (o = {}) => (await refresh(o)).topology,
    getDiscovery,
    nameForInodeCached,
    async nameForInode(inode) {
      const hit = nameForInodeCached(inode);
      if (hit !== undefined) return hit;
      if (cached && Date.now() - cachedAt < MISS_REFRESH_MS) return undefined;
      const d = await refresh();
      return d.topology.namespaces.find((n) => n.inode === inode)?.name;
    },
    async lookupNamespace(name) {
      const find = (d: Discovery): { ns: Namespace; entry: NsEntry } | undefined => {
        const entry = d.targets.get(name);
        const ns = d.topology.namespaces.find((n) => n.name === name);
        return entry && ns ? { ns, entry } : undefined;
      };
      const first = await getDiscovery();
      return find(first) ?? (Date.now() - cachedAt < 50 ? undefined : find(await refresh()));
    },
    watchTopology(fn) {
      listeners.add(fn);
      const release = poller.acquire();
      if (cached) fn(cached.topology);
      return () => {
        listeners.delete(fn);
        release();
      };
    },
  };
}

/** The watch poller: started by the first watcher, stopped by the last (sys/holders). */
function createPoller(refresh: () => Promise<Discovery>, listeners: ReadonlySet<Listener>, pollMs: number) {
  let timer: NodeJS.Timeout | undefined;
  let lastKey = '';
  // A stop bumps the run, so a poll still in flight when the last watcher left never reschedules.
  let run = 0;
  const schedule = (mine: number, delay: number): void => {
    timer = setTimeout(() => {
      void refresh()
        .then((d) => {
          const key = topologyKey(d.topology);
          if (mine === run && key !== lastKey) {
            lastKey = key;
            for (const l of listeners) l(d.topology);
          }
          return d.topology.durationMs;
        })
        .catch(() => pollMs)
        .then((took) => {
          if (mine === run) schedule(mine, Math.max(pollMs - took, 2 * took, 50));
        });
    }, delay);
  };
  return holders({
    onFirst() {
      // The first watcher after a quiet spell always gets the next poll's result, whatever lastKey says.
      lastKey = '';
      schedule(++run, 0);
    },
    onIdle() {
      run++;
      clearTimeout(timer);
      timer = undefined;
    },
  });
}
