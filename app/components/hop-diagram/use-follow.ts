'use client';
// One follow at a time: validate the request like the server will, send it, draw the partial journeys
// that stream in, then the final one from the ack.
import { useCallback, useEffect, useRef, useState } from 'react';
import { issueLine } from '../../../server/protocol/common';
import { FollowRequest, type Journey } from '../../../server/protocol/tracer';
import { useSocket } from '../../lib/socket';

/** Beyond the follow's own timeout: traffic generation, and iptables TRACE setup when rules are asked for. */
const ACK_SLACK_MS = 30_000;

export interface FollowState {
  readonly journey: Journey | undefined;
  readonly running: boolean;
  readonly error: string | undefined;
  readonly follow: (req: FollowRequest) => void;
}

export function useFollow(): FollowState {
  const { socket } = useSocket();
  const [journey, setJourney] = useState<Journey | undefined>();
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | undefined>();
  // Identifies the follow in flight, so a late answer to an older one (or after unmount) is ignored.
  const current = useRef<{ token: number; from: string } | undefined>(undefined);
  const tokens = useRef(0);

  useEffect(() => {
    const onPartial = (js: Journey[]) => {
      const cur = current.current;
      if (!cur) return;
      const mine = js.filter((j) => j.from === cur.from);
      const last = mine[mine.length - 1];
      if (last) setJourney(last);
    };
    socket.on('tracer:journeys', onPartial);
    return () => {
      socket.off('tracer:journeys', onPartial);
      current.current = undefined;
    };
  }, [socket]);

  const follow = useCallback(
    (input: FollowRequest) => {
      const parsed = FollowRequest.safeParse(input);
      if (!parsed.success) {
        setError(issueLine(parsed.error));
        return;
      }
      const req = parsed.data;
      const token = ++tokens.current;
      current.current = { token, from: req.from };
      setError(undefined);
      setJourney(undefined);
      setRunning(true);
      socket.timeout(req.timeoutMs + ACK_SLACK_MS).emit('tracer:follow', req, (err, r) => {
        if (current.current?.token !== token) return;
        current.current = undefined;
        setRunning(false);
        if (err) setError('no answer from the server (is the tracer running?)');
        else if (!r.ok) setError(r.error);
        else setJourney(r.value);
      });
    },
    [socket],
  );

  return { journey, running, error, follow };
}
