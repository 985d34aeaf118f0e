'use client';
// What the reconnect banner shows: "reconnecting…" while the socket is down, then "resumed" with what each
// stream reported as it resumed (missed journeys, a view started again). Its words are all here.
import { useSyncExternalStore } from 'react';

export type ResumePhase = 'steady' | 'reconnecting' | 'resumed';

export interface ResumeSnapshot {
  readonly phase: ResumePhase;
  /** What the streams said on resuming (empty: nothing was lost). */
  readonly notes: readonly string[];
}

/** The banner's and the streams' words about a reconnect. */
export const RESUME_TEXT = {
  reconnecting: 'reconnecting…',
  resumed: 'resumed',
  missedJourneys: (n: number) => `missed ${n} journey${n === 1 ? '' : 's'}; reloaded`,
  liveRestarted: 'the server no longer had the live view; started it again',
  missedPackets: (n: number) => `missed ${n} packet${n === 1 ? '' : 's'}; reloaded`,
  captureGone: 'the capture is no longer on the server',
} as const;

/** How long "resumed" stays up (each note keeps it up this long again). */
const RESUMED_SHOW_MS = 8000;

function createResumeStore() {
  let snap: ResumeSnapshot = { phase: 'steady', notes: [] };
  let everConnected = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fns = new Set<() => void>();
  const set = (next: ResumeSnapshot): void => {
    snap = next;
    for (const fn of fns) fn();
  };
  const settleLater = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => set({ phase: 'steady', notes: [] }), RESUMED_SHOW_MS);
  };
  return {
    get: (): ResumeSnapshot => snap,
    listen(fn: () => void): () => void {
      fns.add(fn);
      return () => fns.delete(fn);
    },
    connected(): void {
      if (everConnected && snap.phase === 'reconnecting') {
        set({ phase: 'resumed', notes: [] });
        settleLater();
      }
      everConnected = true;
    },
    /** `meant`: the page itself disconnected (leaving): no banner. */
    disconnected(meant: boolean): void {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (!meant) set({ phase: 'reconnecting', notes: [] });
    },
    /** A stream's word on resuming ("missed 3 journeys; reloaded"). */
    note(line: string): void {
      set({ phase: snap.phase === 'steady' ? 'resumed' : snap.phase, notes: [...snap.notes, line] });
      settleLater();
    },
  };
}

export const resumeStore = createResumeStore();

export function useResume(): ResumeSnapshot {
  return useSyncExternalStore(resumeStore.listen, resumeStore.get, resumeStore.get);
}
