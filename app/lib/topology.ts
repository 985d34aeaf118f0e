'use client';
// The page's one topology: the MAC map watches it while shown, the Follow tab's namespace list reads it
// and fetches it once per connection. Both read the same value, parsed with the one schema.
import { Topology } from '../../server/protocol/topology';
import { request } from './request';
import { useSubscribe } from './subscribe';
import { useWatch, useWatchState, watchStore, type WatchSnapshot } from './watch';

const GET_TIMEOUT_MS = 10_000;

/** Watches the topology (live updates) while `enabled`. */
export function useLiveTopology(enabled: boolean): WatchSnapshot<Topology> {
  return useWatch('topology', { enabled });
}

/** The latest topology without watching: fetched on (re)connect, unless a watch pushed a newer one meanwhile. */
export function useTopology(): WatchSnapshot<Topology> {
  const store = watchStore('topology');
  useSubscribe({
    subscribe: (socket) => {
      const before = store.version;
      void request(socket, 'topology:get', {}, Topology, { timeoutMs: GET_TIMEOUT_MS }).then((r) => {
        // No answer is not an error for a reader: the list falls back to the lab's namespaces.
        if (r.ok && store.version === before) store.set(r.value);
      });
    },
  });
  return useWatchState('topology');
}
