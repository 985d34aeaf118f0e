// The socket.io event maps, composed from each capability's contract. Server and app both use these
// generics, so there is one contract, not two copies.
import { z } from 'zod';
import { CaptureInfo, CapturePacketsMsg, type CaptureClientEvents, type CaptureServerEvents } from './capture';
import {
  ClassRoster,
  ClassRosterWatchReq,
  ClassViewMsg,
  type ClassroomClientEvents,
  type ClassroomServerEvents,
} from './classroom';
import type { AckFn } from './common';
import { FlowsState, FlowsWatchReq, type FlowsClientEvents } from './flows';
import { LabStatus, LabWatchReq, type LabClientEvents, type LabServerEvents } from './lab';
import { ReplayStatus, ReplayWatchReq, type ReplayClientEvents } from './replay';
import { Topology, TopologyWatchReq, type TopologyClientEvents } from './topology';
import {
  Journey,
  LiveBatch,
  LoaderStatus,
  TracerStatusWatchReq,
  type TracerClientEvents,
  type TracerServerEvents,
} from './tracer';

/**
 * Every watch has one shape: `X:watch(req, ack)` answers with the current state in the ack and joins the
 * watchers, `X:update` pushes each new state to them, `X:unwatch` (or a disconnect) leaves. The server
 * side is server/gateway/watch.ts, the browser side app/lib/watch.ts.
 */
export const WATCHES = {
  lab: { req: LabWatchReq, state: LabStatus },
  topology: { req: TopologyWatchReq, state: Topology },
  'tracer:status': { req: TracerStatusWatchReq, state: LoaderStatus },
  /** Who is connected and what each is doing (the instructor's only). */
  classroom: { req: ClassRosterWatchReq, state: ClassRoster },
  /** Recording (live server) or the replay's position (replay server). */
  replay: { req: ReplayWatchReq, state: ReplayStatus },
  /** The all-traffic flow view (issue 14): on in the kernel while someone watches, one update a tick. */
  flows: { req: FlowsWatchReq, state: FlowsState },
} as const;
export type WatchTopic = keyof typeof WATCHES;
export type WatchState<T extends WatchTopic> = z.infer<(typeof WATCHES)[T]['state']>;

type WatchClientEvents = {
  [T in WatchTopic as `${T}:watch`]: (req: unknown, ack: AckFn<WatchState<T>>) => void;
} & { [T in WatchTopic as `${T}:unwatch`]: () => void };
type WatchServerEvents = { [T in WatchTopic as `${T}:update`]: (state: WatchState<T>) => void };

export type ServerToClientEvents = WatchServerEvents &
  LabServerEvents &
  TracerServerEvents &
  CaptureServerEvents &
  ClassroomServerEvents;
export type ClientToServerEvents = WatchClientEvents &
  LabClientEvents &
  TopologyClientEvents &
  TracerClientEvents &
  CaptureClientEvents &
  ClassroomClientEvents &
  ReplayClientEvents &
  FlowsClientEvents;
export type ClientEvent = keyof ClientToServerEvents;

/** Every client event at run time (the role table and its test walk it); the type below keeps it whole. */
export const CLIENT_EVENTS = [
  'lab:watch',
  'lab:unwatch',
  'topology:watch',
  'topology:unwatch',
  'tracer:status:watch',
  'tracer:status:unwatch',
  'classroom:watch',
  'classroom:unwatch',
  'lab:run',
  'lab:prog',
  'topology:get',
  'tracer:follow',
  'tracer:live:start',
  'tracer:live:stop',
  'tracer:live:resume',
  'capture:targets',
  'capture:filter-check',
  'capture:start',
  'capture:stop',
  'capture:watch',
  'capture:unwatch',
  'capture:packet',
  'capture:note',
  'capture:list',
  'capture:delete',
  'capture:decode-file',
  'capture:open',
  'classroom:me',
  'classroom:join',
  'classroom:links',
  'classroom:rotate',
  'classroom:kick',
  'classroom:share',
  'classroom:view',
  'classroom:attend',
  'replay:watch',
  'replay:unwatch',
  'replay:control',
  'replay:record',
  'flows:watch',
  'flows:unwatch',
  'flows:journey',
] as const satisfies readonly ClientEvent[];
// Fails to compile when an event of the contract is missing from the list.
const allListed: Exclude<ClientEvent, (typeof CLIENT_EVENTS)[number]> extends never ? true : never = true;
void allListed;

/** What the browser parses each push with before it reaches a component (parse at the boundary). */
export const PUSH_SCHEMAS: { readonly [E in keyof ServerToClientEvents]?: z.ZodType } = {
  'lab:update': LabStatus,
  'lab:progress': z.string(),
  'topology:update': Topology,
  'tracer:status:update': LoaderStatus,
  'tracer:journeys': z.array(Journey),
  'tracer:live': LiveBatch,
  'capture:packets': CapturePacketsMsg,
  'capture:status': CaptureInfo,
  'classroom:update': ClassRoster,
  'classroom:notice': z.string(),
  'classroom:view': ClassViewMsg,
  'replay:update': ReplayStatus,
  'flows:update': FlowsState,
};
