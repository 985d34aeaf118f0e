// The server side of the one watch shape (see protocol/events.ts): `X:watch(req, ack)` joins the room
// and answers with the current state, `publish` pushes `X:update` to the room, `X:unwatch` and disconnect
// leave. Whatever feeds the room (a poller) runs only while someone watches, through sys/holders.
import type { z } from 'zod';
import { WATCHES, type WatchState, type WatchTopic } from '../protocol/events';
import { holders } from '../sys/holders';
import { handle } from './handle';
import type { PjServer, PjSocket } from './types';

export interface WatchOptions<T extends WatchTopic> {
  readonly topic: T;
  /** The state a new watcher gets in its ack; it has already joined, so no update falls in between. */
  readonly current: (req: z.infer<(typeof WATCHES)[T]['req']>) => Promise<WatchState<T>> | WatchState<T>;
  /** Runs on the first watcher (start the poller). */
  readonly onFirst?: () => void;
  /** Runs `graceMs` after the last watcher left (stop the poller). */
  readonly onIdle?: () => void;
  readonly graceMs?: number;
}

export interface Watch<T extends WatchTopic> {
  /** The room its watchers are in, for other events meant for them (e.g. `lab:progress`). */
  readonly room: string;
  /** Sockets watching right now. */
  readonly watchers: number;
  publish(state: WatchState<T>): void;
  dispose(): void;
}

/** A loose emitter: the event name is built from the topic, which socket.io's generics cannot follow. */
type Emit = (ev: string, payload: unknown) => void;
type On = (ev: string, fn: (...args: never[]) => void) => void;

export function createWatch<T extends WatchTopic>(io: PjServer, o: WatchOptions<T>): Watch<T> {
  const room = `watch:${o.topic}`;
  const idle = (): void => o.onIdle?.();
  const hold = holders({ onFirst: o.onFirst, onIdle: idle, graceMs: o.graceMs });
  const releases = new Set<() => void>();

  const onConnection = (s: PjSocket): void => {
    // Several views of one page may watch the same topic over one socket: it leaves with the last.
    let views = 0;
    let release: (() => void) | undefined;
    const leave = (): void => {
      if (release) releases.delete(release);
      release?.();
      release = undefined;
      views = 0;
    };
    const on = s.on.bind(s) as unknown as On;
    on(
      `${o.topic}:watch`,
      handle(WATCHES[o.topic].req, (req) => {
        views++;
        if (!release) {
          void s.join(room);
          release = hold.acquire();
          releases.add(release);
        }
        return o.current(req as z.infer<(typeof WATCHES)[T]['req']>);
      }),
    );
    on(`${o.topic}:unwatch`, () => {
      if (views === 0 || --views > 0) return;
      leave();
      void s.leave(room);
    });
    s.on('disconnect', leave);
  };
  io.on('connection', onConnection);

  return {
    room,
    get watchers() {
      return releases.size;
    },
    publish(state) {
      (io.to(room).emit as unknown as Emit)(`${o.topic}:update`, state);
    },
    dispose() {
      io.off('connection', onConnection);
      for (const r of releases) r();
      releases.clear();
      // A grace timer may still be pending: stop what feeds the room now, the server is closing.
      const wasActive = hold.active;
      hold.dispose();
      if (wasActive) idle();
    },
  };
}
