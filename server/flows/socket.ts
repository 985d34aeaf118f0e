// socket.io side of the flow view: a watch (`flows:watch` / `flows:update` / `flows:unwatch`), so the view
// runs in the kernel only while some page watches it, and stops there a second after the last one leaves
// (a reload within it keeps it). Updates are one per loader tick, the busiest FLOWS_SENT_MAX flows each:
// the stream reaches the page batched by the tick. `flows:journey` answers a click with the newest
// journey sampled for a flow.
import { handle } from '../gateway/handle';
import { createWatch } from '../gateway/watch';
import type { Attach } from '../gateway/types';
import { FlowJourneyReq, type FlowJourneyRes } from '../protocol/flows';
import { getLoader } from '../tracer/loader';
import { getFlowView } from './view';

/** A reload (or a second tab opened right after the first closed) within this keeps the view running. */
export const FLOWS_IDLE_MS = 1000;

export const attach: Attach = (io) => {
  const view = getFlowView(getLoader());
  let off: Promise<(() => Promise<void>) | undefined> | undefined;
  const watch = createWatch(io, {
    topic: 'flows',
    current: () => view.state,
    graceMs: FLOWS_IDLE_MS,
    onFirst: () => {
      off = view
        .subscribe((s) => watch.publish(s))
        .catch((e: unknown) => {
          watch.publish({ ...view.state, running: false, error: e instanceof Error ? e.message : String(e) });
          return undefined;
        });
    },
    onIdle: () => {
      const o = off;
      off = undefined;
      void o?.then((stop) => stop?.());
    },
  });
  io.on('connection', (socket) => {
    socket.on(
      'flows:journey',
      handle(FlowJourneyReq, ({ id }): FlowJourneyRes => {
        const journey = view.journey(id);
        return journey ? { id, journey } : { id };
      }),
    );
  });
  return () => {
    watch.dispose();
    void view.dispose();
  };
};
