'use client';
// Follow the instructor, in the browser. The instructor's page reports what it shows (tab, journey and
// step, capture and packet) and sends it as `classroom:view`, throttled (last state wins), the journey
// whole only when it changed. A student's page follows by default: it asks for the current view on
// every (re)connect and applies each push, until "Explore on my own"; "Follow the instructor" jumps back.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import {
  ClassViewMsg,
  journeyVersion,
  latestThrottle,
  VIEW_SEND_INTERVAL_MS,
  type ClassMe,
  type ClassView,
  type ViewCapture,
  type ViewTab,
} from '../../../server/protocol/classroom';
import { CaptureFileName, type CaptureInfo } from '../../../server/protocol/capture';
import type { Journey } from '../../../server/protocol/tracer';
import { request } from '../../lib/request';
import type { PjClientSocket } from '../../lib/socket';
import { useSubscribe } from '../../lib/subscribe';
import { StepSyncContext, type StepSync } from '../projector/step-sync';
import { useReplayMode } from '../replay/use-replay';
import { z } from 'zod';

/** What the instructor shows, with the journey itself. */
export interface Shown {
  readonly tab: ViewTab;
  readonly journey: Journey | null;
  readonly step: number;
  readonly capture: ViewCapture | null;
  readonly packet: number | null;
}

const NOTHING: Shown = { tab: 'lab', journey: null, step: -1, capture: null, packet: null };

export interface ClassViewState {
  /** The instructor's page: merge what a part of the page shows (a no-op elsewhere). */
  readonly report?: (part: Partial<Shown>) => void;
  /** A student's page in token mode: it can follow. */
  readonly canFollow: boolean;
  readonly attached: boolean;
  setAttached(on: boolean): void;
  /** While attached: the instructor's view (undefined until the instructor shows something). */
  readonly followed: Shown | undefined;
  readonly error: string | undefined;
}

const ClassViewContext = createContext<ClassViewState>({
  canFollow: false,
  attached: false,
  setAttached: () => undefined,
  followed: undefined,
  error: undefined,
});
export const useClassView = (): ClassViewState => useContext(ClassViewContext);

function useBroadcast(enabled: boolean): Pick<ClassViewState, 'report'> & { stepSync: StepSync } {
  const shown = useRef<Shown>(NOTHING);
  const sentVersion = useRef('');
  const socket = useSubscribe({
    enabled,
    // A new connection: the server may not have the journey (it restarted), so it goes whole again.
    subscribe: () => {
      sentVersion.current = '';
      throttle.current?.push(null);
    },
  });
  const throttle = useRef<ReturnType<typeof latestThrottle<null>> | undefined>(undefined);
  useEffect(() => {
    if (!enabled) return;
    const send = (): void => {
      const s = shown.current;
      const version = s.journey ? journeyVersion(s.journey) : '';
      const full = version !== sentVersion.current;
      const view: ClassView = {
        tab: s.tab,
        journey: s.journey && { id: s.journey.id, ...(full && { full: s.journey }) },
        step: s.step,
        capture: s.capture,
        packet: s.packet,
      };
      if (!socket.connected) return;
      sentVersion.current = version;
      void request(socket, 'classroom:view', view, z.null()).then((r) => {
        // Not known there after all (a restart in between): send it whole next time.
        if (!r.ok && sentVersion.current === version) {
          sentVersion.current = '';
          if (/not known to the server/.test(r.error)) throttle.current?.push(null);
        }
      });
    };
    const t = latestThrottle<null>(send, VIEW_SEND_INTERVAL_MS);
    throttle.current = t;
    return () => {
      t.cancel();
      throttle.current = undefined;
    };
  }, [enabled, socket]);

  const report = useCallback((part: Partial<Shown>) => {
    const prev = shown.current;
    const next = { ...prev, ...part };
    if ((Object.keys(next) as (keyof Shown)[]).every((k) => next[k] === prev[k])) return;
    shown.current = next;
    throttle.current?.push(null);
  }, []);
  const stepSync = useMemo<StepSync>(
    () => ({
      report: (s) => report(s ? { journey: s.journey, step: s.index } : { journey: null, step: -1 }),
    }),
    [report],
  );
  return { report: enabled ? report : undefined, stepSync: enabled ? stepSync : {} };
}

function useFollowing(enabled: boolean, meId: string) {
  const [attached, setAttachedState] = useState(true);
  const [followed, setFollowed] = useState<Shown | undefined>();
  const [error, setError] = useState<string | undefined>();
  const journey = useRef<Journey | null>(null);
  const lastSeq = useRef(-1);
  const on = useRef(attached);
  on.current = attached;

  const apply = useCallback((m: ClassViewMsg): boolean => {
    if (m.seq < lastSeq.current) return true;
    lastSeq.current = m.seq;
    const v = m.view;
    if (!v) return (setFollowed(undefined), true);
    if (v.journey?.full) journey.current = v.journey.full;
    const j = v.journey ? (journey.current?.id === v.journey.id ? journey.current : undefined) : null;
    // A journey named but never received: ask for the whole view again.
    if (j === undefined) return false;
    setFollowed({ tab: v.tab, journey: j, step: v.step, capture: v.capture, packet: v.packet });
    return true;
  }, []);

  const attend = useCallback(
    (s: PjClientSocket, want: boolean) =>
      void request(s, 'classroom:attend', { on: want }, ClassViewMsg.nullable()).then((r) => {
        if (!r.ok) return setError(r.error);
        setError(undefined);
        if (r.value) {
          lastSeq.current = -1;
          apply(r.value);
        }
      }),
    [apply],
  );

  const socket = useSubscribe({
    enabled,
    on: {
      'classroom:view': (m: ClassViewMsg) => {
        if (on.current && !apply(m)) attend(socket, true);
      },
    },
  });
  // Once per connection, after the gate has (re)joined with the name: `me.id` is the connection's.
  useEffect(() => {
    if (enabled && on.current) attend(socket, true);
  }, [enabled, meId, attend, socket]);

  const setAttached = useCallback(
    (want: boolean) => {
      setAttachedState(want);
      on.current = want;
      attend(socket, want);
    },
    [attend, socket],
  );
  return { attached, setAttached, followed: attached ? followed : undefined, error };
}

/** In the classroom gate, once the server has said who this page is. */
export function ClassViewProvider({ me, children }: { me: ClassMe; children: ReactNode }) {
  // A recording takes the instructor's view even without tokens; a replay's page follows the recording.
  const { replaying, recording } = useReplayMode();
  const instructor = me.role === 'instructor' && !replaying && (me.tokens || recording);
  const student = replaying || (me.tokens && me.role === 'student' && me.name !== null);
  const { report, stepSync } = useBroadcast(instructor);
  const follow = useFollowing(student, me.id);
  const value = useMemo<ClassViewState>(() => ({ report, canFollow: student, ...follow }), [report, student, follow]);
  return (
    <ClassViewContext.Provider value={value}>
      <StepSyncContext.Provider value={stepSync}>{children}</StepSyncContext.Provider>
    </ClassViewContext.Provider>
  );
}

/** The Capture tab's part of the instructor's view: the capture shown and the packet open. */
export function useReportCapture(info: CaptureInfo | undefined, packet: number | undefined): void {
  const { report } = useClassView();
  const id = info ? (info.state === 'running' || info.state === 'starting' ? info.id : null) : undefined;
  // A name the contract would refuse (an upload's) is not sent: the view must stay valid.
  const file = info?.fileName && CaptureFileName.safeParse(info.fileName).success ? info.fileName : null;
  const label = info ? `${info.netns}/${info.iface}` : '';
  useEffect(() => {
    if (!report) return;
    report({
      capture: id === undefined ? null : { id, file, label },
      packet: id === undefined ? null : (packet ?? null),
    });
  }, [report, id, file, label, packet]);
}
