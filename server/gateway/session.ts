// A client session outlives its socket by a grace: sockets that bring the same key (handshake `auth`)
// within it share one Session, and what a page holds on the server (live views, capture watches, the
// classroom seat) is kept per session, so a network cut of a few seconds loses nothing. A session ends at
// once on an explicit disconnect (the page said goodbye, a kick, a token rotation, the server closing),
// or when its socket has been gone for the whole grace. A socket without a key has a session of its own
// that ends with it (tests, scripts: what every socket had before).
import { randomBytes } from 'node:crypto';
import { RESUME_GRACE_MS } from '../protocol/session';
import type { ClassRole } from '../protocol/classroom';

/** What a session needs of a socket (a socket.io Socket is one). */
export interface SessionConn {
  readonly id: string;
  disconnect(close?: boolean): unknown;
}

export interface Session<C extends SessionConn = SessionConn> {
  /** A public id (not the key, which is the page's secret): owners, roster, logs. */
  readonly id: string;
  readonly role: ClassRole;
  /** The socket right now; undefined while held (its connection dropped, the grace running). */
  readonly socket: C | undefined;
  readonly ended: boolean;
  /** A socket took this session back (false for its first socket). */
  readonly resumed: boolean;
  /** Per-capability state, made on first use and kept for the session's life. */
  slot<T>(name: string, make: () => T): T;
  /** Runs once when the session ends (at once if it already has). */
  onEnd(fn: () => void): void;
  /** Runs each time a socket (re)joins this session, the first one included. */
  onSocket(fn: (socket: C) => void): void;
  /** Ends it now (a kick, a token rotation): what it holds stops, its key no longer resumes. */
  end(): void;
}

/** Disconnect reasons that mean the connection broke, not that anyone meant to leave: the session is held. */
const TRANSPORT_REASONS: ReadonlySet<string> = new Set(['transport close', 'transport error', 'ping timeout']);

export interface SessionOptions {
  readonly graceMs?: number;
  /** Held sessions at most; past it the one held longest ends at once (a hostile client's churn is bounded). */
  readonly maxHeld?: number;
}

/** Sessions held (socket gone, grace running) at most, all clients together. */
export const MAX_HELD_SESSIONS = 256;

export interface Sessions<C extends SessionConn> {
  /** The session a handshake joins, or a one-line refusal (a key held by another role). */
  claim(key: string | undefined, role: ClassRole): Session<C> | string;
  /** The handshake went through: `conn` is the session's socket now (one it replaced is disconnected). */
  attach(session: Session<C>, conn: C): void;
  /** `conn` disconnected for `reason` (socket.io's words). */
  detach(conn: C, reason: string): void;
  of(conn: C): Session<C> | undefined;
  /** Sessions alive (with a socket or held), and held ones. */
  readonly size: number;
  readonly held: number;
  /** Ends every session (the server is closing). */
  dispose(): void;
}

const graceFromEnv = (): number => {
  const v = Number(process.env.PJ_RESUME_GRACE_MS);
  return Number.isFinite(v) && v >= 0 && process.env.PJ_RESUME_GRACE_MS !== undefined ? v : RESUME_GRACE_MS;
};

interface Entry<C extends SessionConn> extends Session<C> {
  readonly key: string | undefined;
  socket: C | undefined;
  ended: boolean;
  resumed: boolean;
  /** When its socket went (held since). */
  heldAt: number;
  timer: NodeJS.Timeout | undefined;
  joined(c: C): void;
}

export function createSessions<C extends SessionConn>(o: SessionOptions = {}): Sessions<C> {
  const maxHeld = o.maxHeld ?? MAX_HELD_SESSIONS;
  const byKey = new Map<string, Entry<C>>();
  const byConn = new Map<C, Entry<C>>();
  /** Held sessions, oldest first (a Map keeps insertion order). */
  const held = new Map<Entry<C>, true>();
  /** Sockets replaced by a newer one of the same session: their disconnect is not the session's. */
  const superseded = new WeakSet<C>();

  const make = (key: string | undefined, role: ClassRole): Entry<C> => {
    const slots = new Map<string, unknown>();
    const ends: (() => void)[] = [];
    const socketFns: ((c: C) => void)[] = [];
    const e: Entry<C> = {
      key,
      id: `s${randomBytes(6).toString('hex')}`,
      role,
      socket: undefined,
      ended: false,
      resumed: false,
      heldAt: 0,
      timer: undefined,
      slot<T>(name: string, mk: () => T): T {
        if (!slots.has(name)) slots.set(name, mk());
        return slots.get(name) as T;
      },
      onEnd(fn) {
        if (e.ended) fn();
        else ends.push(fn);
      },
      onSocket(fn) {
        socketFns.push(fn);
        if (e.socket) fn(e.socket);
      },
      joined(c) {
        for (const fn of socketFns) fn(c);
      },
      end() {
        if (e.ended) return;
        e.ended = true;
        unhold(e);
        if (key !== undefined && byKey.get(key) === e) byKey.delete(key);
        if (e.socket) byConn.delete(e.socket);
        e.socket = undefined;
        for (const fn of ends.splice(0)) {
          try {
            fn();
          } catch {
            // One capability's cleanup failing must not keep the others' subprocesses alive.
          }
        }
      },
    };
    if (key !== undefined) byKey.set(key, e);
    return e;
  };

  const unhold = (e: Entry<C>): void => {
    if (e.timer) clearTimeout(e.timer);
    e.timer = undefined;
    held.delete(e);
  };

  const hold = (e: Entry<C>): void => {
    e.heldAt = Date.now();
    held.set(e, true);
    e.timer = setTimeout(() => e.end(), o.graceMs ?? graceFromEnv());
    e.timer.unref?.();
    // At the cap the session held longest goes first: its page has been away the longest.
    while (held.size > maxHeld) held.keys().next().value?.end();
  };

  return {
    claim(key, role) {
      const e = key === undefined ? undefined : byKey.get(key);
      if (!e) return make(key, role);
      // A key is the page's secret; one that comes back under another role is not that page's.
      if (e.role !== role) return 'this session belongs to another role: reload the page';
      // Taken back: the grace stops now, before the handshake finishes.
      unhold(e);
      return e;
    },
    attach(session, conn) {
      const e = session as Entry<C>;
      if (e.ended) {
        // Ended between claim and attach (an explicit end): the socket starts a fresh one.
        conn.disconnect(true);
        return;
      }
      const old = e.socket;
      if (old && old !== conn) {
        // The old connection has not noticed the cut yet (its ping timeout is far off): this one wins.
        superseded.add(old);
        byConn.delete(old);
        old.disconnect(true);
      }
      e.resumed = e.resumed || e.heldAt > 0 || old !== undefined;
      e.socket = conn;
      byConn.set(conn, e);
      e.joined(conn);
    },
    detach(conn, reason) {
      if (superseded.has(conn)) return;
      const e = byConn.get(conn);
      if (!e) return;
      byConn.delete(conn);
      e.socket = undefined;
      if (TRANSPORT_REASONS.has(reason) && e.key !== undefined && (o.graceMs ?? graceFromEnv()) > 0) hold(e);
      else e.end();
    },
    of: (conn) => byConn.get(conn),
    get size() {
      return new Set([...byKey.values(), ...byConn.values()]).size;
    },
    get held() {
      return held.size;
    },
    dispose() {
      for (const e of new Set([...byKey.values(), ...byConn.values()])) e.end();
    },
  };
}
