// Follow the instructor: the instructor's last view is kept (a late joiner gets it at once) and pushed
// to the room of students who follow, at most one push per VIEW_PUSH_INTERVAL_MS (last view wins). A
// journey travels whole only when it changed; otherwise its id refers to the one already sent.
import type { PjServer, PjSocket } from '../gateway/types';
import {
  journeyVersion,
  latestThrottle,
  VIEW_PUSH_INTERVAL_MS,
  type ClassView,
  type ClassViewMsg,
  type ViewCapture,
} from '../protocol/classroom';
import type { Journey } from '../protocol/tracer';
import { UserError } from '../sys/errors';

export const FOLLOWERS_ROOM = 'classroom:followers';

export interface ViewRelay {
  /** The instructor's new view; a journey sent by id alone must be the one the server has. */
  set(view: ClassView): void;
  /** The current view, journey in full: for a student who starts following. */
  current(): ClassViewMsg;
  follow(socket: PjSocket, on: boolean): void;
  /** Sharing changed: students learn whether they may open the capture on screen. */
  sharingChanged(): void;
  dispose(): void;
}

export function createViewRelay(
  io: PjServer,
  isShared: (c: ViewCapture) => boolean,
  opts: { intervalMs?: number; now?: () => number } = {},
): ViewRelay {
  const now = opts.now ?? Date.now;
  let view: ClassView | null = null;
  let journey: Journey | undefined;
  let seq = 0;
  let at = 0;
  // The journey version the followers were last sent in full.
  let pushedVersion = '';

  const withShared = (v: ClassView, full: boolean): ClassView => ({
    ...v,
    journey: v.journey && { id: v.journey.id, ...(full && journey && { full: journey }) },
    capture: v.capture && { ...v.capture, shared: isShared(v.capture) },
  });
  const msg = (full: boolean): ClassViewMsg => ({ seq, at, view: view && withShared(view, full) });

  const push = latestThrottle<null>(
    () => {
      const version = journey ? journeyVersion(journey) : '';
      const full = version !== pushedVersion;
      pushedVersion = version;
      io.to(FOLLOWERS_ROOM).emit('classroom:view', msg(full));
    },
    opts.intervalMs ?? VIEW_PUSH_INTERVAL_MS,
    now,
  );

  return {
    set(v) {
      if (v.journey?.full) {
        if (v.journey.full.id !== v.journey.id) throw new UserError('journey.id: not the id of journey.full');
        journey = v.journey.full;
      } else if (v.journey && v.journey.id !== journey?.id)
        throw new UserError(`journey ${v.journey.id} is not known to the server: send it in full`);
      if (!v.journey) journey = undefined;
      view = { ...v, journey: v.journey && { id: v.journey.id } };
      seq++;
      at = now();
      push.push(null);
    },
    current: () => msg(true),
    follow(socket, on) {
      if (on) void socket.join(FOLLOWERS_ROOM);
      else void socket.leave(FOLLOWERS_ROOM);
    },
    sharingChanged() {
      if (view?.capture) push.push(null);
    },
    dispose: () => push.cancel(),
  };
}
