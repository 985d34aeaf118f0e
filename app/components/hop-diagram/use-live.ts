'use client';
// Live mode's socket side: start a kernel-side filter under a view id of our own (which stops it), take
// the batches of the shared trace the answer names (they all come after it), keep the newest journeys,
// stop it on request or unmount.
import { msg } from '../../../server/protocol/i18n/msg';
import { say } from '../../i18n/current';
import { useCallback, useRef, useState } from 'react';
import { z } from 'zod';
import { issueMsg } from '../../../server/protocol/common';
import { LiveStarted, LiveStartRequest, type Journey, type LiveBatch } from '../../../server/protocol/tracer';
import { request } from '../../lib/request';
import { useSubscribe } from '../../lib/subscribe';
import { newTraceId } from '../../lib/trace-id';

/** Enough history to scroll back through a demo, bounded so a busy filter cannot grow the page. */
const KEEP = 200;

export interface Arrival {
  readonly n: number;
  readonly at: number;
  readonly journey: Journey;
}

export interface LiveCounts {
  readonly received: number;
  readonly dropped: number;
  readonly lost: number;
}

export interface LiveState {
  readonly items: readonly Arrival[];
  readonly counts: LiveCounts;
  readonly running: boolean;
  readonly starting: boolean;
  readonly error: string | undefined;
  /** Starts a trace with this filter (checked here like the server will). */
  start(filter: unknown): void;
  stop(): void;
}

const NO_COUNTS: LiveCounts = { received: 0, dropped: 0, lost: 0 };

export function useLive(): LiveState {
  const [liveId, setLiveId] = useState<string | undefined>();
  const [starting, setStarting] = useState(false);
  const [items, setItems] = useState<readonly Arrival[]>([]);
  const [counts, setCounts] = useState<LiveCounts>(NO_COUNTS);
  const [error, setError] = useState<string | undefined>();
  const current = useRef<string | undefined>(undefined);
  /** The shared trace the running view reads (other views on this socket may read others). */
  const trace = useRef<string | undefined>(undefined);
  const seq = useRef(0);

  const take = useCallback((b: LiveBatch) => {
    const now = Date.now();
    setItems((prev) => {
      let next = [...prev];
      for (const j of b.journeys) {
        // The same journey again (it grew): replace it where it is.
        const i = next.findIndex((a) => a.journey.id === j.id);
        if (i >= 0) next[i] = { ...(next[i] as Arrival), journey: j };
        else next = [{ n: ++seq.current, at: now, journey: j }, ...next];
      }
      return next.slice(0, KEEP);
    });
    setCounts((c) => ({ received: c.received + b.journeys.length, dropped: c.dropped + b.dropped, lost: b.lost }));
  }, []);

  const socket = useSubscribe({
    on: { 'tracer:live': (b) => b.trace === trace.current && take(b) },
    // Leaving the tab (or the page) stops the kernel-side trace; nobody would see it.
    unsubscribe: (s) => {
      if (current.current) s.emit('tracer:live:stop', { liveId: current.current }, () => undefined);
      current.current = undefined;
      trace.current = undefined;
    },
  });

  const start = (filter: unknown) => {
    const parsed = LiveStartRequest.safeParse({ ...(filter as object), liveId: newTraceId('live') });
    if (!parsed.success) return setError(say(issueMsg(parsed.error)));
    const id = parsed.data.liveId;
    current.current = id;
    setError(undefined);
    setStarting(true);
    setItems([]);
    setCounts(NO_COUNTS);
    void request(socket, 'tracer:live:start', parsed.data, LiveStarted, {
      noAnswer: say(msg('err.noAnswerTracer')),
    }).then((r) => {
      if (current.current !== id) {
        // Stopped or unmounted while starting: nobody will look at it.
        if (r.ok) socket.emit('tracer:live:stop', { liveId: id }, () => undefined);
        return;
      }
      setStarting(false);
      if (!r.ok) {
        current.current = undefined;
        return setError(r.error);
      }
      trace.current = r.value.trace;
      setLiveId(id);
    });
  };

  const stop = () => {
    const id = current.current;
    current.current = undefined;
    trace.current = undefined;
    setLiveId(undefined);
    if (id)
      void request(socket, 'tracer:live:stop', { liveId: id }, z.null(), {
        timeoutMs: 10_000,
        noAnswer: say(msg('err.noAnswerStop')),
      }).then((r) => !r.ok && setError(r.error));
  };

  return { items, counts, running: liveId !== undefined, starting, error, start, stop };
}
