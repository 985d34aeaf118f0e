'use client';
// The one way a component listens to the server: push listeners that live as long as the component,
// a subscribe step run once connected and again after every reconnect (a new connection starts with no
// watches on the server), and an unsubscribe step on unmount. Pushes are parsed at the boundary.
import { useEffect, useRef } from 'react';
import { PUSH_SCHEMAS, type ServerToClientEvents } from '../../server/protocol/events';
import { useSocket, type PjClientSocket } from './socket';

export type Listeners = { readonly [E in keyof ServerToClientEvents]?: ServerToClientEvents[E] };

export interface Subscription {
  /** Push listeners. A push with a schema in PUSH_SCHEMAS is parsed first; a malformed one is dropped. */
  readonly on?: Listeners;
  /** Runs once connected: at once if the socket already is, and again after every reconnect. */
  readonly subscribe?: (socket: PjClientSocket) => void;
  /** Runs on unmount, or when `enabled` turns false. */
  readonly unsubscribe?: (socket: PjClientSocket) => void;
  /** A push failed its schema (the server and this page disagree on the contract). */
  readonly onInvalid?: (event: keyof ServerToClientEvents) => void;
  /** false: listen to nothing (a hidden view). Default true. */
  readonly enabled?: boolean;
}

type Loose = (ev: string, fn: (...args: unknown[]) => void) => void;

/** Subscribes while mounted (and enabled); the latest `sub` is always the one called. */
export function useSubscribe(sub: Subscription): PjClientSocket {
  const { socket } = useSocket();
  const latest = useRef(sub);
  useEffect(() => {
    latest.current = sub;
  });
  const enabled = sub.enabled ?? true;
  // The set of events is what (re)registers; new handler functions on each render do not.
  const events = Object.keys(sub.on ?? {})
    .sort()
    .join(' ');

  useEffect(() => {
    if (!enabled) return;
    const names = (events ? events.split(' ') : []) as (keyof ServerToClientEvents)[];
    const handlers = names.map((ev) => {
      const fn = (...args: unknown[]): void => {
        const schema = PUSH_SCHEMAS[ev];
        const p = schema?.safeParse(args[0]);
        if (p && !p.success) return latest.current.onInvalid?.(ev);
        const listener = latest.current.on?.[ev] as ((...a: unknown[]) => void) | undefined;
        listener?.(...(p ? [p.data, ...args.slice(1)] : args));
      };
      (socket.on.bind(socket) as unknown as Loose)(ev, fn);
      return [ev, fn] as const;
    });
    const connect = (): void => latest.current.subscribe?.(socket);
    socket.on('connect', connect);
    if (socket.connected) connect();
    return () => {
      for (const [ev, fn] of handlers) (socket.off.bind(socket) as unknown as Loose)(ev, fn);
      socket.off('connect', connect);
      latest.current.unsubscribe?.(socket);
    };
  }, [socket, enabled, events]);

  return socket;
}
