// The tracer capability: follow a packet hop by hop (eBPF probe in probes/, one shared loader).
export { follow, FollowError, type FollowOptions } from './follow';
export { buildJourney, packetHops, assemblePackets, classifyEnd } from './journey';
export { getLoader, ProbeLoader, LOADER_PATH, type KernelFilter, type Subscription } from './loader';
export { PacketAssembler } from './assembler';
export { createLiveTraces, LiveJourneys, type LiveOutlet, type LiveSession, type LiveTraces } from './live';
export { formatJourney } from './format';
export { decodeRecording, parseLoaderLine, type LoaderRecord } from './ndjson';
export type { HopEvent } from './hop-event';
export { attach } from './socket';
