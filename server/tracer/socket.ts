// socket.io side of the tracer: follow (partial journeys batched while hops arrive, the final one in the
// ack), live mode (journeys batched, at most one emit per 50 ms) and the loader status as a watch. The
// client names its follows and live views. A live view's batches are its shared trace's: every viewer of
// one filter is in that trace's room, and each batch is encoded once and sent to the room. Live views
// belong to the page's session, not its socket (gateway/session.ts): a socket that drops keeps them for
// the resume grace, and the one that takes the session back resumes each from the last journey it had,
// out of the trace's ring of recent journeys.
import { msg } from '../protocol/i18n/msg';
import { createBatcher } from '../gateway/batcher';
import { asUserError, handle } from '../gateway/handle';
import { createWatch } from '../gateway/watch';
import { sessionOf, type PjSession } from '../gateway/sessions';
import type { Attach, PjServer, PjSocket } from '../gateway/types';
import {
  FollowRequest,
  LiveResumeRequest,
  LiveStartRequest,
  LiveStopRequest,
  type Journey,
  type LiveResumed,
} from '../protocol/tracer';
import { serverBus } from '../sys/bus';
import { UserError } from '../sys/errors';
import { follow } from './follow';
import { getLoader, type ProbeLoader } from './loader';
import { createLiveTraces, JourneyRing, type LiveOutlet, type LiveSession, type LiveTraces } from './live';

const MAX_LIVE_PER_SESSION = 4;
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
  const rings = new Map<string, JourneyRing>();
  const traces = createLiveTraces(loader, (trace) => liveOutlet(io, loader, trace, rings));
  io.on('connection', (socket) => connect(socket, loader, { traces, rings, allLive }));

  return () => {
    offStatus();
    status.dispose();
    for (const s of [...allLive]) void s.stop();
    void loader.stop();
  };
};

/** The room of a shared live trace: its viewers' sockets. */
const liveRoom = (trace: string): string => `tracer:live:${trace}`;

/**
 * A shared trace's one batcher: each batch goes to the whole room in one emit (encoded once), and into
 * the trace's ring, which numbers its journeys, so a viewer that was cut off can take up where it was.
 */
function liveOutlet(io: PjServer, loader: ProbeLoader, trace: string, rings: Map<string, JourneyRing>): LiveOutlet {
  const room = liveRoom(trace);
  const ring = new JourneyRing();
  rings.set(trace, ring);
  const batch = createBatcher<Journey>(
    (journeys, dropped) =>
      io
        .to(room)
        .emit('tracer:live', { trace, from: ring.push(journeys), journeys, dropped, lost: loader.status.lost }),
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
      rings.delete(trace);
    },
  };
}

interface Shared {
  readonly traces: LiveTraces;
  readonly rings: Map<string, JourneyRing>;
  /** Every session's live views, stopped when the server closes. */
  readonly allLive: Set<LiveSession>;
}

/** A session's tracer state: it outlives the socket by the resume grace. */
interface Book {
  /** This session's running live views. */
  readonly live: Map<string, LiveSession>;
  /** Ids of its running follows and live views: a client's id must name one trace only. */
  readonly running: Set<string>;
  /** Its views per shared trace: its socket stays in the trace's room until the last of them stops. */
  readonly views: Map<string, number>;
  /** Starts in flight, counted in the per-session limit. */
  starting: number;
  claim(id: string): void;
}

function bookOf(session: PjSession): Book {
  return session.slot('tracer', () => {
    const book: Book = {
      live: new Map(),
      running: new Set(),
      views: new Map(),
      starting: 0,
      claim(id) {
        if (book.running.has(id)) throw new UserError(msg('err.traceIdInUse', { id }));
        book.running.add(id);
      },
    };
    // The subscriber's life bounds the trace: a closed tab (or one gone past the grace) stops its filters
    // and netfilter links.
    session.onEnd(() => {
      for (const s of [...book.live.values()]) void s.stop();
    });
    return book;
  });
}

function connect(socket: PjSocket, loader: ProbeLoader, shared: Shared): void {
  const session = sessionOf(socket);
  const book = bookOf(session);
  socket.on(
    'tracer:follow',
    followHandler(socket, loader, book.claim, (id) => book.running.delete(id)),
  );

  socket.on('tracer:live:start', liveStartHandler(socket, session, book, shared));
  socket.on('tracer:live:resume', liveResumeHandler(socket, book, shared));

  const stop = handle(LiveStopRequest, async ({ liveId }) => {
    const s = book.live.get(liveId);
    if (!s) throw new UserError(msg('err.noLiveTrace', { id: liveId }));
    await s.stop();
    return null;
  });
  // A stop without an ack still stops (a closing tab does not wait for the answer).
  socket.on('tracer:live:stop', (req, ack) => stop(req, typeof ack === 'function' ? ack : () => undefined));
}

/**
 * `tracer:live:start`. The per-session limit counts the starts still in flight (taken before the first
 * await, so parallel starts cannot all pass it), and a trace that came up after its session ended is
 * stopped at once: the session's end has already run and would never stop it.
 */
function liveStartHandler(socket: PjSocket, session: PjSession, book: Book, shared: Shared) {
  return handle(LiveStartRequest, async ({ liveId: asked, ...filter }) => {
    if (book.live.size + book.starting >= MAX_LIVE_PER_SESSION)
      throw new UserError(msg('err.liveLimit', { max: MAX_LIVE_PER_SESSION }));
    const liveId = asked ?? `live${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    book.claim(liveId);
    book.starting++;
    let s: LiveSession;
    try {
      s = await shared.traces.start(filter);
    } catch (e) {
      book.running.delete(liveId);
      // Its failures are the filter's (an unknown namespace), in their own words.
      throw asUserError(e);
    } finally {
      book.starting--;
    }
    const { trace } = s;
    const view: LiveSession = {
      trace,
      stop: async () => {
        book.live.delete(liveId);
        shared.allLive.delete(view);
        // The last viewer's stop sends the trace's last batch: leave the room after it.
        await s.stop();
        book.running.delete(liveId);
        const left = (book.views.get(trace) ?? 1) - 1;
        if (left > 0) return void book.views.set(trace, left);
        book.views.delete(trace);
        void session.socket?.leave(liveRoom(trace));
      },
    };
    book.live.set(liveId, view);
    shared.allLive.add(view);
    book.views.set(trace, (book.views.get(trace) ?? 0) + 1);
    const from = shared.rings.get(trace)?.next ?? 0;
    if (session.ended) {
      await view.stop();
      return { liveId, trace, from };
    }
    // Joined with no await between here and the ack, so no batch of this trace can reach the client
    // first. A socket that dropped meanwhile joins when its session resumes the view.
    if (socket.connected) void socket.join(liveRoom(trace));
    return { liveId, trace, from };
  });
}

/**
 * `tracer:live:resume`: a socket that took its session back asks, per view, for what it missed. The
 * answer is computed and the room joined with no await in between, so every journey reaches the page
 * once: those up to now in the ack, the next ones in batches after it.
 */
function liveResumeHandler(socket: PjSocket, book: Book, shared: Shared) {
  return handle(LiveResumeRequest, ({ liveId, after }): LiveResumed => {
    const view = book.live.get(liveId);
    // Gone past the grace, or the server restarted: an answer, not an error, so the page need not read
    // words (which may be in any language) to start it again.
    if (!view) return { liveId, gone: true };
    const { trace } = view;
    const ring = shared.rings.get(trace);
    const got = ring ? ring.since(after) : { from: after + 1, journeys: [], missed: 0 };
    void socket.join(liveRoom(trace));
    return { liveId, trace, ...got };
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
