'use client';
// Live mode's socket side: start a kernel-side filter under a view id of our own (which stops it), take
// the batches of the shared trace the answer names (they all come after it), keep the newest journeys,
// stop it on request or unmount. Every journey has a position in its trace (LiveBatch.from): the page
// applies each once, in order, and after a reconnect asks for what came after the last one it applied
// (or, when the server no longer has the view, starts it again), saying so on the reconnect banner.
import { useCallback, useRef, useState } from 'react';
import { z } from 'zod';
import { issueMsg } from '../../../server/protocol/common';
import { msg } from '../../../server/protocol/i18n/msg';
import { say } from '../../i18n/current';
import {
  LiveResumed,
  LiveStarted,
  LiveStartRequest,
  type Journey,
  type LiveBatch,
} from '../../../server/protocol/tracer';
import { request } from '../../lib/request';
import { resumeStore } from '../../lib/resume';
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
  /** Position of the last journey applied (-1: none yet). */
  const last = useRef(-1);
  /** A resume is in flight: batches wait for its answer, which holds them. */
  const resuming = useRef(false);
  /** The running view's filter, to start it again if the server lost it. */
  const filterOf = useRef<unknown>(undefined);

  /** Applies the journeys at positions `from`…, skipping those already applied. */
  const take = useCallback((b: Pick<LiveBatch, 'from' | 'journeys'> & { dropped: number; lost?: number }) => {
    const skip = last.current + 1 - b.from;
    const fresh = skip > 0 ? b.journeys.slice(skip) : b.journeys;
    last.current = Math.max(last.current, b.from + b.journeys.length - 1);
    const now = Date.now();
    setItems((prev) => {
      let next = [...prev];
      for (const j of fresh) {
        // The same journey again (it grew): replace it where it is.
        const i = next.findIndex((a) => a.journey.id === j.id);
        if (i >= 0) next[i] = { ...(next[i] as Arrival), journey: j };
        else next = [{ n: ++seq.current, at: now, journey: j }, ...next];
      }
      return next.slice(0, KEEP);
    });
    setCounts((c) => ({
      received: c.received + fresh.length,
      dropped: c.dropped + b.dropped,
      lost: b.lost ?? c.lost,
    }));
  }, []);

  const socket = useSubscribe({
    on: {
      'tracer:live': (b) => {
        if (b.trace !== trace.current || resuming.current) return;
        // A gap on a live connection cannot happen; if it does, the resume fills it.
        if (b.from > last.current + 1) return resume();
        take(b);
      },
    },
    // A reconnect: the running view takes up after the last journey it applied.
    subscribe: () => {
      if (current.current && trace.current) resume();
    },
    // Leaving the tab (or the page) stops the kernel-side trace; nobody would see it.
    unsubscribe: (s) => {
      if (current.current) s.emit('tracer:live:stop', { liveId: current.current }, () => undefined);
      current.current = undefined;
      trace.current = undefined;
    },
  });

  function resume(): void {
    const id = current.current;
    if (!id || resuming.current) return;
    resuming.current = true;
    void request(socket, 'tracer:live:resume', { liveId: id, after: last.current }, LiveResumed).then((r) => {
      resuming.current = false;
      if (current.current !== id) return;
      if (!r.ok) return setError(r.error);
      const v = r.value;
      if ('gone' in v) {
        // Gone past the grace, or the server restarted: the same filter again, the list kept.
        resumeStore.note({ key: 'liveRestarted' });
        return start(filterOf.current, { keep: true });
      }
      if (v.trace !== trace.current) return;
      if (v.missed > 0) resumeStore.note({ key: 'missedJourneys', values: { n: v.missed } });
      take({ from: v.from, journeys: v.journeys, dropped: v.missed });
    });
  }

  function start(filter: unknown, opts: { keep?: boolean } = {}): void {
    const parsed = LiveStartRequest.safeParse({ ...(filter as object), liveId: newTraceId('live') });
    if (!parsed.success) return setError(say(issueMsg(parsed.error)));
    const id = parsed.data.liveId;
    current.current = id;
    trace.current = undefined;
    filterOf.current = filter;
    setError(undefined);
    setStarting(true);
    if (!opts.keep) {
      setItems([]);
      setCounts(NO_COUNTS);
    }
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
      last.current = r.value.from - 1;
      setLiveId(id);
    });
  }

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

  return { items, counts, running: liveId !== undefined, starting, error, start: (f) => start(f), stop };
}
