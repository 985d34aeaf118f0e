'use client';
// The browser side of the one watch shape (protocol/events.ts): `X:watch` once connected (and after every
// reconnect) with the current state in the ack, `X:update` pushes, `X:unwatch` on unmount. Each topic's
// state lives in one store per page, so every view of it (and a request that returns it) agrees.
import { msg } from '../../server/protocol/i18n/msg';
import { say } from '../i18n/current';
import { useSyncExternalStore } from 'react';
import { WATCHES, type WatchState, type WatchTopic } from '../../server/protocol/events';
import { request } from './request';
import { useSubscribe, type Listeners } from './subscribe';

export interface WatchSnapshot<S> {
  readonly state: S | undefined;
  readonly error: string | undefined;
}

export interface WatchStore<S> {
  get(): WatchSnapshot<S>;
  set(state: S): void;
  fail(error: string): void;
  listen(fn: () => void): () => void;
  /** Bumped by every `set`: an ack older than a push must not overwrite it. */
  readonly version: number;
}

function createStore<S>(): WatchStore<S> {
  let snap: WatchSnapshot<S> = { state: undefined, error: undefined };
  let version = 0;
  const fns = new Set<() => void>();
  const change = (next: WatchSnapshot<S>): void => {
    snap = next;
    for (const fn of fns) fn();
  };
  return {
    get: () => snap,
    set: (state) => {
      version++;
      change({ state, error: undefined });
    },
    fail: (error) => change({ ...snap, error }),
    listen: (fn) => {
      fns.add(fn);
      return () => fns.delete(fn);
    },
    get version() {
      return version;
    },
  };
}

const stores = new Map<WatchTopic, WatchStore<unknown>>();

/** The page's one store for a topic's state. */
export function watchStore<T extends WatchTopic>(topic: T): WatchStore<WatchState<T>> {
  let s = stores.get(topic);
  if (!s) stores.set(topic, (s = createStore()));
  return s as WatchStore<WatchState<T>>;
}

/** Reads a topic's store without watching (another view, or a one-off request, fills it). */
export function useWatchState<T extends WatchTopic>(topic: T): WatchSnapshot<WatchState<T>> {
  const store = watchStore(topic);
  return useSyncExternalStore(store.listen, store.get, store.get);
}

type LooseEmit = (ev: string) => void;

/** Watches `topic` while mounted and `enabled`; the state is the store's, parsed with the topic's schema. */
export function useWatch<T extends WatchTopic>(
  topic: T,
  opts: { readonly enabled?: boolean } = {},
): WatchSnapshot<WatchState<T>> {
  const store = watchStore(topic);
  const unreadable = say(msg('err.unreadableTopic', { topic }));
  useSubscribe({
    enabled: opts.enabled ?? true,
    on: { [`${topic}:update`]: (s: WatchState<T>) => store.set(s) } as Listeners,
    onInvalid: () => store.fail(unreadable),
    subscribe: (socket) => {
      const before = store.version;
      void request(socket, `${topic}:watch`, {}, WATCHES[topic].state).then((r) => {
        if (!r.ok) store.fail(r.error);
        else if (store.version === before) store.set(r.value as WatchState<T>);
      });
    },
    unsubscribe: (socket) => (socket.emit.bind(socket) as unknown as LooseEmit)(`${topic}:unwatch`),
  });
  return useWatchState(topic);
}
