'use client';
// One typed socket.io client for the whole app, typed by the server's zod-derived contract. The page
// makes one random session key and sends it in every handshake: a socket that reconnects within the
// server's grace takes back what the page held there (server/gateway/session.ts), and each stream
// resumes from its last sequence number (app/lib/resume.ts says what happened on the banner).
import { useEffect, useState } from 'react';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../server/protocol/events';
import { resumeStore } from './resume';

export type PjClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

let shared: PjClientSocket | undefined;

/** 128 random bits, hex: the server's SessionKey. Per page load: a reloaded page starts afresh. */
function sessionKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function getSocket(): PjClientSocket {
  if (shared) return shared;
  const s: PjClientSocket = io({ transports: ['websocket', 'polling'], auth: { session: sessionKey() } });
  shared = s;
  s.on('connect', () => resumeStore.connected());
  s.on('disconnect', (reason) => resumeStore.disconnected(reason === 'io client disconnect'));
  // Leaving the page says goodbye, so the server ends the session now instead of holding it for the grace.
  // (No window while prerendering.)
  if (typeof window !== 'undefined') {
    window.addEventListener('pagehide', () => s.disconnect());
    window.addEventListener('pageshow', (e) => e.persisted && s.connect());
  }
  return s;
}

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

/** The shared socket and its connection state; components subscribe to their own events on it. */
export function useSocket(): { socket: PjClientSocket; state: ConnectionState } {
  const [socket] = useState(getSocket);
  const [state, setState] = useState<ConnectionState>(socket.connected ? 'connected' : 'connecting');
  useEffect(() => {
    const up = () => setState('connected');
    const down = () => setState('disconnected');
    socket.on('connect', up);
    socket.on('disconnect', down);
    socket.on('connect_error', down);
    if (socket.connected) up();
    return () => {
      socket.off('connect', up);
      socket.off('disconnect', down);
      socket.off('connect_error', down);
    };
  }, [socket]);
  return { socket, state };
}
