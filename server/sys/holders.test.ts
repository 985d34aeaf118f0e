import { afterEach, describe, expect, it, vi } from 'vitest';
import { holders } from './holders';

afterEach(() => vi.useRealTimers());

describe('holders', () => {
  it('starts on the first hold and stops at once after the last without a grace', () => {
    const seen: string[] = [];
    const h = holders({ onFirst: () => seen.push('first'), onIdle: () => seen.push('idle') });
    const a = h.acquire();
    const b = h.acquire();
    expect(seen).toEqual(['first']);
    a();
    a(); // twice is harmless
    expect(h.count).toBe(1);
    b();
    expect(seen).toEqual(['first', 'idle']);
    expect(h.active).toBe(false);
  });

  it('a hold taken during the grace cancels the stop and does not restart', () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const h = holders({ graceMs: 100, onFirst: () => seen.push('first'), onIdle: () => seen.push('idle') });
    h.acquire()();
    vi.advanceTimersByTime(50);
    const again = h.acquire();
    vi.advanceTimersByTime(200);
    expect(seen).toEqual(['first']);
    again();
    vi.advanceTimersByTime(99);
    expect(seen).toEqual(['first']);
    vi.advanceTimersByTime(1);
    expect(seen).toEqual(['first', 'idle']);
    h.acquire();
    expect(seen).toEqual(['first', 'idle', 'first']);
  });

  it('dispose cancels a pending stop', () => {
    vi.useFakeTimers();
    const onIdle = vi.fn();
    const h = holders({ graceMs: 10, onIdle });
    h.acquire()();
    h.dispose();
    vi.advanceTimersByTime(100);
    expect(onIdle).not.toHaveBeenCalled();
  });
});
