// Lab status, live: one poller shared by every watcher, running only while someone watches, and an emit
// only when something changed.
import type { LabStatus } from '../protocol/lab';
import type { Attach } from '../gateway/types';
import { labStatus } from './lab';

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

  io.on('connection', (socket) => {
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
