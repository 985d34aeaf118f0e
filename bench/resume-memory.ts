// What resuming costs in memory: the journeys a live trace's ring keeps (RING_JOURNEYS of them at most),
// and a held session of the registry itself. The journeys are the recorded cross-node ping's
// (server/tracer/fixtures/ping-pod-a-pod-c.ndjson) as live mode builds them, each a distinct copy as the
// ring holds distinct journeys; heap measured after a forced GC, median of the runs.
//   node --expose-gc --import tsx bench/resume-memory.ts [--runs 7]
import { createSessions } from '../server/gateway/session';
import type { Journey } from '../server/protocol/tracer';
import { load, namer } from '../server/tracer/fixtures/load';
import { JourneyRing, LiveJourneys, RING_JOURNEYS } from '../server/tracer/live';
import { arg, median } from './common';

const RUNS = arg('runs', 7);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const built: Journey[] = [];
const l = new LiveJourneys('live1-x', namer('lab-names.json'), (j) => built.push(j));
for (const e of load('ping-pod-a-pod-c.ndjson')) l.push(e);
l.flushAll();
const sample = built.sort((a, b) => b.hops.length - a.hops.length)[0] as Journey;

const perJourney: number[] = [];
const perSession: number[] = [];
let sink: unknown;
for (let r = 0; r < RUNS; r++) {
  const before = heap();
  const ring = new JourneyRing(RING_JOURNEYS, 3_600_000);
  for (let i = 0; i < RING_JOURNEYS; i++) ring.push([structuredClone({ ...sample, id: `live1-x-${i}` })]);
  perJourney.push((heap() - before) / RING_JOURNEYS);
  sink = ring;

  const N = 10_000;
  const s0 = heap();
  const reg = createSessions<{ id: string; disconnect(): void }>({ graceMs: 3_600_000, maxHeld: N });
  for (let i = 0; i < N; i++) {
    const s = reg.claim(i.toString(16).padStart(32, '0'), 'student');
    if (typeof s === 'string') throw new Error(s);
    const c = { id: `sock${i}`, disconnect: () => undefined };
    reg.attach(s, c);
    // What the capabilities keep per session with nothing running: their empty books and one end each.
    s.slot('tracer', () => ({ live: new Map(), running: new Set(), views: new Map(), starting: 0 }));
    s.slot('capture', () => new Map());
    s.onEnd(() => undefined);
    reg.detach(c, 'transport close');
  }
  perSession.push((heap() - s0) / N);
  sink = [sink, reg];
  reg.dispose();
}
void sink;
const kb = (n: number): string => `${(n / 1024).toFixed(2)} KiB`;
console.log(`journey: ${sample.hops.length} hops, ${JSON.stringify(sample).length} bytes as JSON`);
console.log(
  `ring: ${kb(median(perJourney))} per journey, ${((median(perJourney) * RING_JOURNEYS) / 1048576).toFixed(2)} MiB for a full ring of ${RING_JOURNEYS}`,
);
console.log(`held session (registry and empty books): ${kb(median(perSession))} each`);
