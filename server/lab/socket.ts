// Lab status, live: one poller shared by every watcher, running only while someone watches, and an emit
// only when something changed.
import { fail, issueLine, ok } from '../protocol/common';
import { LabAction, type LabStatus } from '../protocol/lab';
import type { Attach } from '../gateway/types';
import { labDown, labStatus, labUp } from './lab';

const ROOM = 'lab';
const POLL_MS = 1000;

export const attach: Attach = (io) => {
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  let current: LabStatus | undefined;

  const poll = async (): Promise<void> => {
    try {
      const s = await labStatus();
      const json = JSON.stringify(s);
      current = s;
      if (json !== last) {
        last = json;
        io.to(ROOM).emit('lab:status', s);
      }
    } catch {
      // Status reads /proc and iproute2; a transient failure is retried on the next tick.
    }
    const watchers = io.sockets.adapter.rooms.get(ROOM)?.size ?? 0;
    timer = watchers > 0 ? setTimeout(() => void poll(), POLL_MS) : undefined;
  };

  // One up/down at a time: a second click while one runs gets an error instead of a race.
  let running = false;

  io.on('connection', (socket) => {
    socket.on('lab:run', (req, ack) => {
      if (typeof ack !== 'function') return;
      const parsed = LabAction.safeParse(req);
      if (!parsed.success) return ack(fail(issueLine(parsed.error)));
      if (running) return ack(fail('a lab operation is already running'));
      running = true;
      const progress = (step: string) => io.to(ROOM).emit('lab:progress', step);
      const op = parsed.data.action === 'up' ? labUp({ onProgress: progress }) : labDown({ onProgress: progress });
      op.then(
        async () => {
          const s = await labStatus();
          last = JSON.stringify(s);
          current = s;
          io.to(ROOM).emit('lab:status', s);
          ack(ok(s));
        },
        (e: unknown) => ack(fail(e instanceof Error ? e.message : String(e))),
      ).finally(() => {
        running = false;
      });
    });

    socket.on('lab:watch', () => {
      void socket.join(ROOM);
      if (current) socket.emit('lab:status', current);
      if (!timer) void poll();
    });
  });

  return () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
};
