// socket.io wiring for the MAC/veth map: `topology:watch` joins a room fed by one shared poller that runs
// only while the room has members; `topology:get` is a one-off discovery.
import { fail, issueLine, ok } from '../protocol/common';
import { TopologyWatchReq } from '../protocol/topology';
import type { Attach, PjSocket } from '../gateway/types';
import { discoverTopology, getDiscovery, watchTopology } from './index';

const ROOM = 'topology';

export const attach: Attach = (io) => {
  let stopPoller: (() => void) | undefined;
  const watchers = new Set<string>();

  const join = (s: PjSocket): void => {
    watchers.add(s.id);
    void s.join(ROOM);
    // The poller lives exactly as long as someone watches: no iproute2 forks for an idle server.
    stopPoller ??= watchTopology((t) => io.to(ROOM).emit('topology:update', t));
  };
  const leave = (s: PjSocket): void => {
    if (!watchers.delete(s.id)) return;
    void s.leave(ROOM);
    if (watchers.size === 0 && stopPoller) {
      stopPoller();
      stopPoller = undefined;
    }
  };

  const onConnection = (s: PjSocket): void => {
    s.on('topology:watch', (req, ack) => {
      const p = TopologyWatchReq.safeParse(req ?? undefined);
      if (!p.success) return void safeAck(ack, fail(issueLine(p.error)));
      join(s);
      getDiscovery(1000).then(
        (d) => safeAck(ack, ok(d.topology)),
        (e: unknown) => safeAck(ack, fail(`discovery failed: ${String(e instanceof Error ? e.message : e)}`)),
      );
    });
    s.on('topology:unwatch', () => leave(s));
    s.on('topology:get', (req, ack) => {
      const p = TopologyWatchReq.safeParse(req ?? undefined);
      if (!p.success) return void safeAck(ack, fail(issueLine(p.error)));
      discoverTopology().then(
        (t) => safeAck(ack, ok(t)),
        (e: unknown) => safeAck(ack, fail(`discovery failed: ${String(e instanceof Error ? e.message : e)}`)),
      );
    });
    s.on('disconnect', () => leave(s));
  };
  io.on('connection', onConnection);
  return () => {
    io.off('connection', onConnection);
    stopPoller?.();
    stopPoller = undefined;
    watchers.clear();
  };
};

/** A client may send a non-function ack (the wire is untrusted): never throw on it. */
function safeAck<T>(ack: unknown, value: T): void {
  if (typeof ack === 'function') (ack as (v: T) => void)(value);
}
