// The session registry on a fake clock: a key's session is held for the grace after a transport drop,
// taken back by a socket with the same key and role, ended at once by an explicit disconnect or when held
// too long, and at most maxHeld are held (the oldest goes first).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSessions, type SessionConn } from './session';

const GRACE = 30_000;
let n = 0;
const conn = (): SessionConn & { disconnects: number } => {
  const c = { id: `sock${++n}`, disconnects: 0, disconnect: () => void c.disconnects++ };
  return c;
};
const KEY = 'a'.repeat(32);
const KEY2 = 'b'.repeat(32);

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('session registry', () => {
  it('a transport drop holds the session for the grace; the same key takes it back with its state', () => {
    const reg = createSessions({ graceMs: GRACE });
    const a = conn();
    const s = reg.claim(KEY, 'student');
    if (typeof s === 'string') throw new Error(s);
    reg.attach(s, a);
    const state = s.slot('x', () => ({ views: 1 }));
    const ended = vi.fn();
    s.onEnd(ended);
    reg.detach(a, 'transport close');
    expect(reg.held).toBe(1);
    expect(s.socket).toBeUndefined();
    vi.advanceTimersByTime(GRACE - 1);
    expect(ended).not.toHaveBeenCalled();
    const b = conn();
    const again = reg.claim(KEY, 'student');
    expect(again).toBe(s);
    reg.attach(s, b);
    expect(s.socket).toBe(b);
    expect(s.resumed).toBe(true);
    expect(s.slot('x', () => ({ views: 0 }))).toBe(state);
    expect(reg.held).toBe(0);
    // The grace timer was cancelled by the claim.
    vi.advanceTimersByTime(GRACE * 2);
    expect(ended).not.toHaveBeenCalled();
    expect(s.ended).toBe(false);
  });

  it('ends when held past the grace: its cleanups run once and the key starts a new session', () => {
    const reg = createSessions({ graceMs: GRACE });
    const s = reg.claim(KEY, 'instructor');
    if (typeof s === 'string') throw new Error(s);
    const a = conn();
    reg.attach(s, a);
    const ended = vi.fn();
    s.onEnd(ended);
    reg.detach(a, 'ping timeout');
    vi.advanceTimersByTime(GRACE);
    expect(ended).toHaveBeenCalledTimes(1);
    expect(s.ended).toBe(true);
    expect(reg.size).toBe(0);
    const fresh = reg.claim(KEY, 'instructor');
    expect(fresh).not.toBe(s);
  });

  it('an explicit disconnect (the page left, a kick) ends it at once', () => {
    const reg = createSessions({ graceMs: GRACE });
    for (const reason of ['client namespace disconnect', 'server namespace disconnect', 'server shutting down']) {
      const s = reg.claim(KEY, 'student');
      if (typeof s === 'string') throw new Error(s);
      const a = conn();
      reg.attach(s, a);
      const ended = vi.fn();
      s.onEnd(ended);
      reg.detach(a, reason);
      expect(ended, reason).toHaveBeenCalledTimes(1);
      expect(reg.held).toBe(0);
    }
  });

  it('a key is bound to its role: a student cannot take an instructor session', () => {
    const reg = createSessions({ graceMs: GRACE });
    const s = reg.claim(KEY, 'instructor');
    if (typeof s === 'string') throw new Error(s);
    const a = conn();
    reg.attach(s, a);
    reg.detach(a, 'transport close');
    expect(reg.claim(KEY, 'student')).toBe('this session belongs to another role: reload the page');
    // Refused without touching it: the instructor can still come back.
    expect(reg.held).toBe(1);
    expect(reg.claim(KEY, 'instructor')).toBe(s);
  });

  it('a socket without a key has a session of its own that ends with it, whatever the reason', () => {
    const reg = createSessions({ graceMs: GRACE });
    const s1 = reg.claim(undefined, 'instructor');
    const s2 = reg.claim(undefined, 'instructor');
    if (typeof s1 === 'string' || typeof s2 === 'string') throw new Error('refused');
    expect(s1).not.toBe(s2);
    const a = conn();
    reg.attach(s1, a);
    reg.detach(a, 'transport close');
    expect(s1.ended).toBe(true);
    expect(reg.held).toBe(0);
  });

  it('a new socket replaces one that has not noticed the cut yet; the old one is disconnected and its end ignored', () => {
    const reg = createSessions({ graceMs: GRACE });
    const s = reg.claim(KEY, 'student');
    if (typeof s === 'string') throw new Error(s);
    const a = conn();
    reg.attach(s, a);
    const b = conn();
    expect(reg.claim(KEY, 'student')).toBe(s);
    reg.attach(s, b);
    expect(a.disconnects).toBe(1);
    reg.detach(a, 'server namespace disconnect');
    expect(s.ended).toBe(false);
    expect(s.socket).toBe(b);
  });

  it('at most maxHeld are held: past it, the one held longest ends at once', () => {
    const reg = createSessions({ graceMs: GRACE, maxHeld: 3 });
    const ends: string[] = [];
    const keys = ['1', '2', '3', '4', '5'].map((d) => d.repeat(32));
    for (const k of keys) {
      const s = reg.claim(k, 'student');
      if (typeof s === 'string') throw new Error(s);
      const c = conn();
      reg.attach(s, c);
      s.onEnd(() => ends.push(k[0] as string));
      vi.advanceTimersByTime(10);
      reg.detach(c, 'transport close');
    }
    expect(reg.held).toBe(3);
    expect(ends).toEqual(['1', '2']);
    vi.advanceTimersByTime(GRACE);
    expect(ends).toEqual(['1', '2', '3', '4', '5']);
    expect(reg.size).toBe(0);
  });

  it('a cleanup that throws does not keep the others from running', () => {
    const reg = createSessions({ graceMs: GRACE });
    const s = reg.claim(KEY2, 'student');
    if (typeof s === 'string') throw new Error(s);
    const after = vi.fn();
    s.onEnd(() => {
      throw new Error('boom');
    });
    s.onEnd(after);
    s.end();
    expect(after).toHaveBeenCalledTimes(1);
  });
});
