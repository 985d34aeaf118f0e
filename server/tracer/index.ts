// The tracer capability: follow a packet hop by hop (eBPF probe in probes/, one shared loader).
export { follow, FollowError, type FollowOptions } from './follow';
export { buildJourney, packetHops, assemblePackets, classifyEnd } from './journey';
export { getLoader, ProbeLoader, LOADER_PATH, type KernelFilter, type Subscription } from './loader';
export { PacketAssembler } from './assembler';
export { startLive, LiveJourneys, type LiveSession } from './live';
export { formatJourney } from './format';
export { parseLoaderLine, type HopEvent, type LoaderRecord } from './ndjson';
export { attach } from './socket';
