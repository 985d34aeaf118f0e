// The sessions of one socket.io server (see session.ts), and the session of a socket: the gateway
// claims it at the handshake; a socket it did not see (a capability under test on a bare server) gets
// a session of its own that ends with it.
import { createSessions, type Session, type Sessions } from './session';
import type { PjServer, PjSocket } from './types';

export type PjSession = Session<PjSocket>;

const registries = new WeakMap<PjServer, Sessions<PjSocket>>();
/** The session each socket had, still answered after it disconnected (a handler finishing late). */
const seen = new WeakMap<PjSocket, PjSession>();

export function sessionsOf(io: PjServer): Sessions<PjSocket> {
  let r = registries.get(io);
  if (!r) registries.set(io, (r = createSessions<PjSocket>()));
  return r;
}

/** The session `socket` belongs to right now. */
export function sessionOf(socket: PjSocket): PjSession {
  const reg = sessionsOf(socket.nsp.server as PjServer);
  const s = reg.of(socket) ?? seen.get(socket);
  if (s) {
    seen.set(socket, s);
    return s;
  }
  const own = reg.claim(undefined, 'instructor') as PjSession;
  reg.attach(own, socket);
  seen.set(socket, own);
  if (socket.disconnected) reg.detach(socket, 'client namespace disconnect');
  else socket.on('disconnect', (reason) => reg.detach(socket, reason));
  return own;
}
