'use client';
// One follow at a time: validate the request like the server will, send it under an id of our own, draw
// the partial journeys that carry that id as they stream in, then the final one from the ack.
import { msg } from '../../../server/protocol/i18n/msg';
import { say } from '../../i18n/current';
import { useCallback, useRef, useState } from 'react';
import { issueMsg } from '../../../server/protocol/common';
import { FollowRequest, Journey } from '../../../server/protocol/tracer';
import { request } from '../../lib/request';
import { useSubscribe } from '../../lib/subscribe';
import { newTraceId } from '../../lib/trace-id';

/** Beyond the follow's own timeout: traffic generation, and iptables TRACE setup when rules are asked for. */
const ACK_SLACK_MS = 30_000;

export interface FollowState {
  readonly journey: Journey | undefined;
  readonly running: boolean;
  readonly error: string | undefined;
  readonly follow: (req: FollowRequest) => void;
}

export function useFollow(): FollowState {
  const [journey, setJourney] = useState<Journey | undefined>();
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | undefined>();
  // The follow in flight: its partials are drawn, and a late answer to an older one (or after unmount) is ignored.
  const current = useRef<string | undefined>(undefined);

  const socket = useSubscribe({
    on: {
      'tracer:journeys': (js) => {
        const last = js.filter((j) => j.id === current.current).at(-1);
        if (last) setJourney(last);
      },
    },
    unsubscribe: () => (current.current = undefined),
  });

  const follow = useCallback(
    (input: FollowRequest) => {
      const parsed = FollowRequest.safeParse({ ...input, id: newTraceId('follow') });
      if (!parsed.success) {
        setError(say(issueMsg(parsed.error)));
        return;
      }
      const req = parsed.data;
      const id = req.id;
      current.current = id;
      setError(undefined);
      setJourney(undefined);
      setRunning(true);
      void request(socket, 'tracer:follow', req, Journey, {
        timeoutMs: req.timeoutMs + ACK_SLACK_MS,
        noAnswer: say(msg('err.noAnswerTracer')),
      }).then((r) => {
        if (current.current !== id) return;
        current.current = undefined;
        setRunning(false);
        if (!r.ok) setError(r.error);
        else setJourney(r.value);
      });
    },
    [socket],
  );

  return { journey, running, error, follow };
}
