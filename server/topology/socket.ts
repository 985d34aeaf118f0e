// socket.io wiring for the MAC/veth map: `topology:watch` is a watch fed by one shared poller that runs
// only while someone watches (no iproute2 forks for an idle server); `topology:get` is a one-off discovery.
import { handle } from '../gateway/handle';
import { createWatch } from '../gateway/watch';
import { TopologyWatchReq, type Topology } from '../protocol/topology';
import type { Attach, PjSocket } from '../gateway/types';
import { UserError } from '../sys/errors';
import { discoverTopology, getDiscovery, watchTopology } from './index';

/** A discovery failure is reported as such, in one line, not as an internal error. */
async function discovered(p: Promise<Topology>): Promise<Topology> {
  try {
    return await p;
  } catch (e) {
    throw new UserError(`discovery failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Where the watch's snapshots come from: discovery, or a replay's recorded snapshots (server/replay/). */
export interface TopologySource {
  readonly current: () => Promise<Topology>;
  /** Each new snapshot until the returned function is called; runs only while someone watches. */
  readonly watch: (publish: (t: Topology) => void) => () => void;
  /** `topology:get`: a fresh one. */
  readonly get: () => Promise<Topology>;
}

const discovery: TopologySource = {
  current: () => discovered(getDiscovery(1000).then((d) => d.topology)),
  watch: watchTopology,
  get: () => discovered(discoverTopology()),
};

export const attachWith =
  (src: TopologySource): Attach =>
  (io) => {
    let stopPoller: (() => void) | undefined;
    const watch = createWatch(io, {
      topic: 'topology',
      current: src.current,
      onFirst: () => {
        stopPoller ??= src.watch((t) => watch.publish(t));
      },
      onIdle: () => {
        stopPoller?.();
        stopPoller = undefined;
      },
    });
    const get = handle(TopologyWatchReq, src.get);
    const onConnection = (s: PjSocket): void => void s.on('topology:get', get);
    io.on('connection', onConnection);
    return () => {
      io.off('connection', onConnection);
      watch.dispose();
    };
  };

export const attach: Attach = attachWith(discovery);
