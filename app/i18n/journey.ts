// A journey in the page's language: each hop's `reason` and the `diagnosis` rendered from the Msgs the
// server sent with them (the strings are English). Done once where a journey is shown, so the diagram,
// the hop detail and the projector's narration all read the same words.
import { useMemo } from 'react';
import type { Hop, Journey } from '../../server/protocol/tracer';
import { useMsg } from './provider';

export function localizeJourney(j: Journey, say: ReturnType<typeof useMsg>): Journey {
  const hop = (h: Hop): Hop => (h.reasonMsg ? { ...h, reason: say(h.reasonMsg) } : h);
  return {
    ...j,
    hops: j.hops.map(hop),
    ...(j.reply && { reply: { hops: j.reply.hops.map(hop) } }),
    ...(j.diagnosisMsg && { diagnosis: say(j.diagnosisMsg) }),
  };
}

export function useLocalizedJourney(j: Journey): Journey {
  const say = useMsg();
  return useMemo(() => localizeJourney(j, say), [j, say]);
}
