// socket.io on the HTTP server, typed by the shared contract; each capability wires its own handlers.
import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import { attach as attachCapture } from '../capture/socket';
import { attach as attachLab } from '../lab/socket';
import { attach as attachTopology } from '../topology/socket';
import { attach as attachTracer } from '../tracer/socket';
import { CAPTURE_UPLOAD_MAX_BYTES } from '../protocol/capture';
import type { ClientToServerEvents, ServerToClientEvents } from '../protocol/events';
import type { Attach, PjServer } from './types';

const capabilities: readonly Attach[] = [attachLab, attachTopology, attachTracer, attachCapture];

export function createGateway(http: HttpServer): { io: PjServer; close: () => Promise<void> } {
  const io: PjServer = new Server<ClientToServerEvents, ServerToClientEvents>(http, {
    // Twice the largest capture upload in base64, so a moderately oversized one reaches its handler
    // and gets a one-line error; anything bigger is refused by socket.io before any parsing.
    maxHttpBufferSize: 2 * Math.ceil((CAPTURE_UPLOAD_MAX_BYTES * 4) / 3),
  });
  const disposers = capabilities.map((a) => a(io));
  return {
    io,
    close: async () => {
      for (const d of disposers) d();
      await io.close();
    },
  };
}
