import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../protocol/events';

export type PjServer = Server<ClientToServerEvents, ServerToClientEvents>;
export type PjSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/** What each capability folder exports for the gateway: wire its socket handlers, return a disposer. */
export type Attach = (io: PjServer) => () => void;
