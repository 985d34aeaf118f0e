// A live trace's ring of sent journeys: positions without gaps, bounded by count and by age, and what a
// resuming viewer gets after the last position it applied (and how many it missed past the ring).
import { describe, expect, it } from 'vitest';
import type { Journey } from '../protocol/tracer';
import { JourneyRing } from './live';

const j = (i: number): Journey =>
  ({
    id: `t-${i}`,
    from: 'a',
    to: 'b',
    proto: 'icmp',
    delivered: true,
    pending: false,
    timedOut: false,
    hops: [],
  }) as unknown as Journey;
const ids = (js: readonly Journey[]): string[] => js.map((x) => x.id);

describe('JourneyRing', () => {
  it('numbers journeys 0, 1, 2 … across batches and gives back those after a position', () => {
    const r = new JourneyRing(100, 30_000, () => 0);
    expect(r.push([j(0), j(1)])).toBe(0);
    expect(r.push([])).toBe(2);
    expect(r.push([j(2), j(3), j(4)])).toBe(2);
    expect(r.next).toBe(5);
    expect(r.since(1)).toEqual({ from: 2, journeys: [j(2), j(3), j(4)], missed: 0 });
    expect(r.since(-1).journeys).toHaveLength(5);
    expect(r.since(4)).toEqual({ from: 5, journeys: [], missed: 0 });
    // A position past the end (not sent yet) asks for nothing.
    expect(r.since(99)).toEqual({ from: 5, journeys: [], missed: 0 });
  });

  it('keeps at most `max` journeys: a viewer behind the ring is told how many it missed', () => {
    const r = new JourneyRing(10, 30_000, () => 0);
    for (let i = 0; i < 2500; i++) r.push([j(i)]);
    const got = r.since(99);
    expect(got.from).toBe(2490);
    expect(ids(got.journeys)).toEqual(Array.from({ length: 10 }, (_, k) => `t-${2490 + k}`));
    expect(got.missed).toBe(2490 - 100);
    expect(r.since(2494).missed).toBe(0);
  });

  it('drops journeys older than its age', () => {
    let now = 0;
    const r = new JourneyRing(1000, 30_000, () => now);
    r.push([j(0), j(1)]);
    now = 20_000;
    r.push([j(2)]);
    now = 30_001;
    expect(r.since(-1)).toEqual({ from: 2, journeys: [j(2)], missed: 2 });
    now = 60_000;
    expect(r.since(0)).toEqual({ from: 3, journeys: [], missed: 2 });
    expect(r.next).toBe(3);
  });
});
