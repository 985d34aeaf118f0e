// socket.io side of the tracer: follow (partial journeys batched while hops arrive, the final one in the
// ack), live mode (journeys batched, at most one emit per 50 ms) and the loader status as a watch. The
// client names its follows and live views. A live view's batches are its shared trace's: every viewer of
// one filter is in that trace's room, and each batch is encoded once and sent to the room.
import { msg } from '../protocol/i18n/msg';
import { createBatcher } from '../gateway/batcher';
import { asUserError, handle } from '../gateway/handle';
import { createWatch } from '../gateway/watch';
import type { Attach, PjServer, PjSocket } from '../gateway/types';
import { FollowRequest, LiveStartRequest, LiveStopRequest, type Journey } from '../protocol/tracer';
import { serverBus } from '../sys/bus';
import { UserError } from '../sys/errors';
import { follow } from './follow';
import { getLoader, type ProbeLoader } from './loader';
import { createLiveTraces, type LiveOutlet, type LiveSession, type LiveTraces } from './live';

const MAX_LIVE_PER_SOCKET = 4;
/**
 * Journeys per live batch (one batch per 50 ms at most), the newest kept and the rest counted as dropped.
 * Nobody reads a list faster than this, and the page keeps only its newest 200 anyway; sending a flood's
 * every journey to every viewer made the viewers (and the server's socket buffers) seconds behind.
 */
export const LIVE_BATCH_MAX = 10; // 200 journeys/s a viewer: see live.ts BUILD_BUDGET

export const attach: Attach = (io) => {
  const loader = getLoader();
  const status = createWatch(io, { topic: 'tracer:status', current: () => loader.status });
  const offStatus = loader.onStatus((s) => status.publish(s));
  const allLive = new Set<LiveSession>();
  const traces = createLiveTraces(loader, (trace) => liveOutlet(io, loader, trace));
  io.on('connection', (socket) => connect(socket, loader, traces, allLive));

  return () => {
    offStatus();
    status.dispose();
    for (const s of [...allLive]) void s.stop();
    void loader.stop();
  };
};

/** The room of a shared live trace: its viewers' sockets. */
const liveRoom = (trace: string): string => `tracer:live:${trace}`;

/** A shared trace's one batcher: each batch goes to the whole room in one emit (encoded once). */
function liveOutlet(io: PjServer, loader: ProbeLoader, trace: string): LiveOutlet {
  const room = liveRoom(trace);
  const batch = createBatcher<Journey>(
    (journeys, dropped) => io.to(room).emit('tracer:live', { trace, journeys, dropped, lost: loader.status.lost }),
    { keepNewest: true, maxPending: LIVE_BATCH_MAX },
  );
  return {
    journey: (j) => {
      batch.push(j);
      serverBus.emit('tracer:journey', j);
    },
    dropped: () => batch.skip(),
    close: () => {
      batch.flush();
      batch.stop();
    },
  };
}

function connect(socket: PjSocket, loader: ProbeLoader, traces: LiveTraces, allLive: Set<LiveSession>): void {
  const live = new Map<string, LiveSession>();
  // Ids of this socket's running follows and live traces: a client's id must name one trace only.
  const running = new Set<string>();
  const claim = (id: string): void => {
    if (running.has(id)) throw new UserError(msg('err.traceIdInUse', { id }));
    running.add(id);
  };
  socket.on(
    'tracer:follow',
    followHandler(socket, loader, claim, (id) => running.delete(id)),
  );

  socket.on('tracer:live:start', liveStartHandler(socket, traces, { live, allLive, claim, running }));

  const stop = handle(LiveStopRequest, async ({ liveId }) => {
    const s = live.get(liveId);
    if (!s) throw new UserError(msg('err.noLiveTrace', { id: liveId }));
    await s.stop();
    return null;
  });
  // A stop without an ack still stops (a closing tab does not wait for the answer).
  socket.on('tracer:live:stop', (req, ack) => stop(req, typeof ack === 'function' ? ack : () => undefined));

  // The subscriber's life bounds the trace: a closed tab stops its filters and netfilter links.
  socket.on('disconnect', () => {
    for (const s of [...live.values()]) void s.stop();
  });
}

interface LiveBook {
  /** This socket's running live views. */
  readonly live: Map<string, LiveSession>;
  /** Every socket's, stopped when the server closes. */
  readonly allLive: Set<LiveSession>;
  readonly claim: (id: string) => void;
  readonly running: Set<string>;
}

/**
 * `tracer:live:start`. The per-client limit counts the starts still in flight (taken before the first
 * await, so parallel starts cannot all pass it), and a trace that came up after its client left is
 * stopped at once: the disconnect handler has already run and would never stop it.
 */
function liveStartHandler(socket: PjSocket, traces: LiveTraces, book: LiveBook) {
  let starting = 0;
  // This socket's views per shared trace: it stays in the trace's room until the last of them stops.
  const views = new Map<string, number>();
  return handle(LiveStartRequest, async ({ liveId: asked, ...filter }) => {
    if (book.live.size + starting >= MAX_LIVE_PER_SOCKET)
      throw new UserError(msg('err.liveLimit', { max: MAX_LIVE_PER_SOCKET }));
    const liveId = asked ?? `live${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    book.claim(liveId);
    starting++;
    let s: LiveSession;
    try {
      s = await traces.start(filter);
    } catch (e) {
      book.running.delete(liveId);
      // Its failures are the filter's (an unknown namespace), in their own words.
      throw asUserError(e);
    } finally {
      starting--;
    }
    const { trace } = s;
    const session: LiveSession = {
      trace,
      stop: async () => {
        book.live.delete(liveId);
        book.allLive.delete(session);
        // The last viewer's stop sends the trace's last batch: leave the room after it.
        await s.stop();
        book.running.delete(liveId);
        const left = (views.get(trace) ?? 1) - 1;
        if (left > 0) return void views.set(trace, left);
        views.delete(trace);
        void socket.leave(liveRoom(trace));
      },
    };
    book.live.set(liveId, session);
    book.allLive.add(session);
    if (socket.disconnected) {
      await session.stop();
      return { liveId, trace };
    }
    // Joined with no await between here and the ack, so no batch of this trace can reach the client first.
    views.set(trace, (views.get(trace) ?? 0) + 1);
    void socket.join(liveRoom(trace));
    return { liveId, trace };
  });
}

/** `tracer:follow`: partial journeys (the newest, one emit per 50 ms at most), the final one in the ack. */
function followHandler(
  socket: PjSocket,
  loader: ProbeLoader,
  claim: (id: string) => void,
  release: (id: string) => void,
) {
  return handle(FollowRequest, async (req) => {
    if (req.id) claim(req.id);
    const batch = createBatcher<Journey>((items) => {
      const last = items[items.length - 1];
      if (last) socket.emit('tracer:journeys', [last]);
    });
    try {
      const j = await follow(req, { loader, onUpdate: (p) => batch.push(p) });
      serverBus.emit('tracer:journey', j);
      return j;
    } finally {
      batch.stop();
      if (req.id) release(req.id);
    }
  });
}
