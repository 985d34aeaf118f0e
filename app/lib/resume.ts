'use client';
// What the reconnect banner shows: "reconnecting…" while the socket is down, then "resumed" with what each
// stream reported as it resumed (missed journeys, a view started again).
import { useSyncExternalStore } from 'react';

export type ResumePhase = 'steady' | 'reconnecting' | 'resumed';

export interface ResumeSnapshot {
  readonly phase: ResumePhase;
  /** What the streams said on resuming (empty: nothing was lost). */
  readonly notes: readonly ResumeNote[];
}

/**
 * What a stream says on resuming, as a key under `ui.shell.resume` in the catalogs (the banner renders
 * it in the page's language, also after a switch).
 */
export interface ResumeNote {
  readonly key: 'missedJourneys' | 'liveRestarted' | 'missedPackets' | 'captureGone';
  readonly values?: Record<string, number>;
}

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
    note(line: ResumeNote): void {
      set({ phase: snap.phase === 'steady' ? 'resumed' : snap.phase, notes: [...snap.notes, line] });
      settleLater();
    },
  };
}

export const resumeStore = createResumeStore();

export function useResume(): ResumeSnapshot {
  return useSyncExternalStore(resumeStore.listen, resumeStore.get, resumeStore.get);
}
