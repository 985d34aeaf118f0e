// The socket.io event maps, composed from each capability's contract. Server and app both use these
// generics, so there is one contract, not two copies.
import type { CaptureClientEvents, CaptureServerEvents } from './capture';
import type { LabClientEvents, LabServerEvents } from './lab';
import type { TopologyClientEvents, TopologyServerEvents } from './topology';
import type { TracerClientEvents, TracerServerEvents } from './tracer';

export type ServerToClientEvents = LabServerEvents & TopologyServerEvents & TracerServerEvents & CaptureServerEvents;
export type ClientToServerEvents = LabClientEvents & TopologyClientEvents & TracerClientEvents & CaptureClientEvents;
