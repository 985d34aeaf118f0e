'use client';
// The server's record/replay state, from the `replay` watch: one store for the page, so the header's
// button, the replay strip and the classroom's view provider agree.
import type { ReplayStatus } from '../../../server/protocol/replay';
import { useWatch } from '../../lib/watch';

export function useReplayStatus(): ReplayStatus | undefined {
  return useWatch('replay').state;
}

/** A replay server (the page follows the recording), or a live one recording (the instructor's page sends its view). */
export function useReplayMode(): { readonly replaying: boolean; readonly recording: boolean } {
  const s = useReplayStatus();
  return { replaying: s?.mode === 'replay', recording: !!s?.recording };
}
