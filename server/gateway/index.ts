// socket.io on the HTTP server, typed by the shared contract; each capability wires its own handlers.
// In front of them: who may connect (Host, Origin, token: classroom/access.ts) and, per event, what a
// student may do (classroom/policy.ts).
import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import { attach as attachCapture } from '../capture/socket';
import { attach as attachFlows } from '../flows/socket';
import { createAccess, type Access } from '../classroom/access';
import { attachClassroom, type Classroom } from '../classroom';
import type { Tokens } from '../classroom/tokens';
import { attach as attachLab } from '../lab/socket';
import { attachReplay, type ReplayOptions } from '../replay';
import { attach as attachTopology } from '../topology/socket';
import { attach as attachTracer } from '../tracer/socket';
import { CAPTURE_UPLOAD_MAX_BYTES } from '../protocol/capture';
import type { ClientToServerEvents, ServerToClientEvents } from '../protocol/events';
import { SessionAuth } from '../protocol/session';
import { issueLine } from '../protocol/common';
import { sessionsOf } from './sessions';
import type { Attach, PjServer } from './types';

const capabilities: readonly Attach[] = [attachLab, attachTopology, attachTracer, attachCapture, attachFlows];

export interface GatewayOptions {
  /** The address the server listens on; its own names are the only Host and Origin accepted. */
  readonly host?: string;
  /** Token mode: every connection needs one of these. */
  readonly tokens?: Tokens;
  /** Record and replay (server/replay/): a replay session replaces the kernel-backed capabilities. */
  readonly replay?: ReplayOptions;
}

export interface Gateway {
  readonly io: PjServer;
  readonly access: Access;
  readonly classroom: Classroom;
  close(): Promise<void>;
}

export function createGateway(http: HttpServer, opts: GatewayOptions = {}): Gateway {
  const access = createAccess(http, { host: opts.host ?? '127.0.0.1', tokens: opts.tokens });
  const io: PjServer = new Server<ClientToServerEvents, ServerToClientEvents>(http, {
    // Twice the largest capture upload in base64, so a moderately oversized one reaches its handler
    // and gets a one-line error; anything bigger is refused by socket.io before any parsing.
    maxHttpBufferSize: 2 * Math.ceil((CAPTURE_UPLOAD_MAX_BYTES * 4) / 3),
    // Every handshake, websocket or polling: a foreign Origin, a Host not ours, a missing token.
    allowRequest: (req, cb) => {
      const why = access.refusal(req, { checkOrigin: true });
      cb(why ?? null, why === undefined);
    },
  });
  const sessions = sessionsOf(io);
  io.use((socket, next) => {
    const role = access.roleOf(socket.request);
    if (!role) return next(new Error('this server needs a token'));
    const auth = SessionAuth.safeParse(socket.handshake.auth ?? {});
    if (!auth.success) return next(new Error(`bad session key: ${issueLine(auth.error)}`));
    // Same key within the grace: the page's session (live views, watches, seat) is this socket's now.
    const s = sessions.claim(auth.data.session, role);
    if (typeof s === 'string') return next(new Error(s));
    sessions.attach(s, socket);
    socket.on('disconnect', (reason) => sessions.detach(socket, reason));
    next();
  });
  // First, so its per-event gate is in place before any capability's handler can run.
  const classroom = attachClassroom(io, access, { shared: opts.replay?.replay?.captures });
  const replay = attachReplay(io, classroom.relay, opts.replay ?? {});
  const disposers = (replay.capabilities ?? capabilities).map((a) => a(io));
  return {
    io,
    access,
    classroom,
    close: async () => {
      await replay.close();
      for (const d of disposers) d();
      classroom.dispose();
      sessions.dispose();
      await io.close();
    },
  };
}
