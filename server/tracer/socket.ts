// socket.io side of the tracer: follow (partial journeys batched while hops arrive, the final one in the
// ack), live mode (journeys batched, at most one emit per 50 ms) and the loader status for the banner.
import { createBatcher } from '../gateway/batcher';
import { serverBus } from '../sys/bus';
import type { Attach } from '../gateway/types';
import { fail, issueLine, ok } from '../protocol/common';
import { LiveFilter, type Journey } from '../protocol/tracer';
import { z } from 'zod';
import { follow, FollowError } from './follow';
import { getLoader } from './loader';
import { startLive, type LiveSession } from './live';

const STATUS_ROOM = 'tracer:status';
const MAX_LIVE_PER_SOCKET = 4;
const LiveStop = z.object({ liveId: z.string().max(64) });

export const attach: Attach = (io) => {
  const loader = getLoader();
  const offStatus = loader.onStatus((s) => io.to(STATUS_ROOM).emit('tracer:status', s));
  const allLive = new Set<LiveSession>();

  io.on('connection', (socket) => {
    const live = new Map<string, LiveSession>();

    socket.on('tracer:status:watch', (ack) => {
      void socket.join(STATUS_ROOM);
      if (typeof ack === 'function') ack(ok(loader.status));
    });

    socket.on('tracer:follow', (req, ack) => {
      if (typeof ack !== 'function') return;
      // Only the newest partial journey matters; the batcher keeps emits to one per 50 ms.
      const batch = createBatcher<Journey>((items) => {
        const last = items[items.length - 1];
        if (last) socket.emit('tracer:journeys', [last]);
      });
      follow(req, { loader, onUpdate: (j) => batch.push(j) }).then(
        (j) => {
          batch.stop();
          serverBus.emit('tracer:journey', j);
          ack(ok(j));
        },
        (e: unknown) => {
          batch.stop();
          ack(
            fail(
              e instanceof FollowError || e instanceof Error
                ? (e.message.split('\n')[0] ?? 'follow failed')
                : String(e),
            ),
          );
        },
      );
    });

    socket.on('tracer:live:start', (req, ack) => {
      if (typeof ack !== 'function') return;
      const parsed = LiveFilter.safeParse(req ?? {});
      if (!parsed.success) return ack(fail(issueLine(parsed.error)));
      if (live.size >= MAX_LIVE_PER_SOCKET) return ack(fail(`at most ${MAX_LIVE_PER_SOCKET} live traces per client`));
      const liveId = `live${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
      const batch = createBatcher<Journey>((journeys, dropped) =>
        socket.emit('tracer:live', { liveId, journeys, dropped, lost: loader.status.lost }),
      );
      startLive(liveId, parsed.data, loader, (j) => {
        batch.push(j);
        serverBus.emit('tracer:journey', j);
      }).then(
        (s) => {
          const session: LiveSession = {
            stop: async () => {
              live.delete(liveId);
              allLive.delete(session);
              await s.stop();
              batch.flush();
              batch.stop();
            },
          };
          live.set(liveId, session);
          allLive.add(session);
          ack(ok({ liveId }));
        },
        (e: unknown) => ack(fail(e instanceof Error ? e.message : String(e))),
      );
    });

    socket.on('tracer:live:stop', (req, ack) => {
      const parsed = LiveStop.safeParse(req);
      const reply = typeof ack === 'function' ? ack : () => undefined;
      if (!parsed.success) return reply(fail(issueLine(parsed.error)));
      const s = live.get(parsed.data.liveId);
      if (!s) return reply(fail(`no live trace "${parsed.data.liveId}"`));
      void s.stop().then(() => reply(ok(null)));
    });

    // The subscriber's life bounds the trace: a closed tab stops its filters and netfilter links.
    socket.on('disconnect', () => {
      for (const s of [...live.values()]) void s.stop();
    });
  });

  return () => {
    offStatus();
    for (const s of [...allLive]) void s.stop();
    void loader.stop();
  };
};
