'use client';
// One typed socket.io client for the whole app, typed by the server's zod-derived contract.
import { useEffect, useState } from 'react';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../server/protocol/events';

export type PjClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

let shared: PjClientSocket | undefined;

function getSocket(): PjClientSocket {
  shared ??= io({ transports: ['websocket', 'polling'] });
  return shared;
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
