// What a student may send: one rule per client event of the contract (the compiler keeps the table
// whole), checked before any handler runs. A refusal is one line and changes nothing. Requests that do
// not parse are let through to their handler, which answers with the schema's own one-line error.
import type { z } from 'zod';
import { PODS } from '../lab/spec';
import { CaptureIdReq, CaptureNameReq, CapturePacketReq, CaptureNoteReq, CaptureStartReq } from '../protocol/capture';
import type { ClientEvent } from '../protocol/events';
import { FollowRequest } from '../protocol/tracer';

/** What the rules need to know about the student asking. */
export interface StudentView {
  readonly joined: boolean;
  /** Captures it started or uploaded (by id), and the files its captures wrote. */
  readonly ownCaptures: ReadonlySet<string>;
  readonly ownFiles: ReadonlySet<string>;
  /** Saved captures the instructor shared with students. */
  readonly shared: ReadonlySet<string>;
  /** Its live captures, running or starting. */
  readonly liveCaptures: number;
  /** The file a capture id writes (shared live captures can be watched), if any. */
  fileOf(id: string): string | null | undefined;
}

type Check = (req: unknown, s: StudentView) => string | undefined;
export interface Rate {
  readonly perSec: number;
  readonly burst: number;
  /** Plural noun for the refusal: `at most 2 follows per second`. */
  readonly what: string;
}
export interface Rule {
  /** `true`: allowed; a string: always refused with it; a function: refused with what it returns. */
  readonly student: true | string | Check;
  readonly rate?: Rate;
  /** Allowed before the student has joined with a name. */
  readonly beforeJoin?: boolean;
}

export const LAB_PODS: ReadonlySet<string> = new Set(PODS.map((p) => p.name));
export const STUDENT_CAPTURE_IFACE = 'eth0';

/** Runs `check` on the parsed request; one that does not parse goes on to its handler's own error. */
const parsed =
  <S extends z.ZodType>(schema: S, check: (r: z.infer<S>, s: StudentView) => string | undefined): Check =>
  (req, s) => {
    const p = schema.safeParse(req ?? {});
    return p.success ? check(p.data, s) : undefined;
  };

const mine = (id: string, s: StudentView): boolean => s.ownCaptures.has(id);
const sharedId = (id: string, s: StudentView): boolean => {
  const f = s.fileOf(id);
  return typeof f === 'string' && s.shared.has(f);
};
const NOT_SHARED = 'this capture is not shared with students';

const INSTRUCTOR_ONLY = (what: string): string => `only the instructor can ${what}`;

export const STUDENT_RULES: { readonly [E in ClientEvent]: Rule } = {
  // Watching is what a student is there for.
  'lab:watch': { student: true },
  'lab:unwatch': { student: true, beforeJoin: true },
  'topology:watch': { student: true },
  'topology:unwatch': { student: true, beforeJoin: true },
  'tracer:status:watch': { student: true },
  'tracer:status:unwatch': { student: true, beforeJoin: true },
  'topology:get': { student: true, rate: { perSec: 1, burst: 2, what: 'topology reads' } },
  'classroom:watch': { student: INSTRUCTOR_ONLY('see who is connected') },
  'classroom:unwatch': { student: true, beforeJoin: true },

  'lab:run': { student: 'students cannot change the lab or its scenario' },
  'lab:prog': { student: 'students cannot attach or detach programs' },

  'tracer:follow': {
    student: parsed(FollowRequest, (r) => {
      if (!LAB_PODS.has(r.from)) return `students can follow only from the lab's pods (${[...LAB_PODS].join(', ')})`;
      // TRACE adds iptables rules in the namespaces on the way: a tracer setting, the instructor's.
      if (r.rules) return 'students cannot turn on iptables rule tracing';
      return undefined;
    }),
    rate: { perSec: 2, burst: 2, what: 'follows' },
  },
  'tracer:live:start': { student: true, rate: { perSec: 1, burst: 2, what: 'live traces' } },
  'tracer:live:stop': { student: true, beforeJoin: true },
  // Only the session's own views are there to resume (tracer/socket.ts looks in the session's own map).
  'tracer:live:resume': { student: true, beforeJoin: true },

  'capture:targets': { student: true },
  'capture:filter-check': { student: true, rate: { perSec: 4, burst: 8, what: 'filter checks' } },
  'capture:start': {
    student: parsed(CaptureStartReq, (r, s) => {
      if (!LAB_PODS.has(r.netns) || r.iface !== STUDENT_CAPTURE_IFACE)
        return "students can capture only on a lab pod's eth0";
      if (s.liveCaptures > 0) return 'students can run one capture at a time: stop yours first';
      return undefined;
    }),
    rate: { perSec: 1, burst: 1, what: 'capture starts' },
  },
  'capture:stop': {
    student: parsed(CaptureIdReq, (r, s) => (mine(r.id, s) ? undefined : 'students can stop only their own captures')),
  },
  'capture:watch': {
    student: parsed(CaptureIdReq, (r, s) => (mine(r.id, s) || sharedId(r.id, s) ? undefined : NOT_SHARED)),
  },
  'capture:unwatch': { student: true, beforeJoin: true },
  'capture:packet': {
    student: parsed(CapturePacketReq, (r, s) => (mine(r.id, s) || sharedId(r.id, s) ? undefined : NOT_SHARED)),
    rate: { perSec: 10, burst: 20, what: 'packet reads' },
  },
  'capture:note': {
    student: parsed(CaptureNoteReq, (r, s) =>
      mine(r.id, s) ? undefined : 'students can annotate only their own captures',
    ),
  },
  // Its answer is narrowed to what the student may open (see classroom/index.ts).
  'capture:list': { student: true },
  'capture:delete': { student: 'students cannot delete captures' },
  'capture:decode-file': { student: true, rate: { perSec: 1, burst: 2, what: 'uploads' } },
  'capture:open': {
    student: parsed(CaptureNameReq, (r, s) =>
      s.shared.has(r.name) || s.ownFiles.has(r.name) ? undefined : NOT_SHARED,
    ),
    rate: { perSec: 1, burst: 2, what: 'opens' },
  },

  'classroom:me': { student: true, beforeJoin: true },
  'classroom:join': { student: true, beforeJoin: true, rate: { perSec: 1, burst: 3, what: 'joins' } },
  'classroom:links': { student: INSTRUCTOR_ONLY('see the links') },
  'classroom:rotate': { student: INSTRUCTOR_ONLY('rotate the tokens') },
  'classroom:kick': { student: INSTRUCTOR_ONLY('disconnect a student') },
  'classroom:share': { student: INSTRUCTOR_ONLY('share captures') },
  'classroom:view': { student: INSTRUCTOR_ONLY('broadcast the view') },
  // Following the instructor, or not: a click each way.
  'classroom:attend': { student: true, rate: { perSec: 2, burst: 4, what: 'follow switches' } },
};

/** Every event a student sends counts here too, so no event (rate-limited or not) can flood the server. */
export const STUDENT_ANY_RATE: Rate = { perSec: 20, burst: 40, what: 'messages' };

/** The refusal for a student's event, or undefined when it may go on to its handler. */
export function studentRefusal(event: string, req: unknown, s: StudentView): string | undefined {
  const rule = (STUDENT_RULES as Readonly<Record<string, Rule>>)[event];
  if (!rule) return `unknown event "${event.slice(0, 40)}"`;
  if (!s.joined && !rule.beforeJoin) return 'join with a display name first';
  if (rule.student === true) return undefined;
  if (typeof rule.student === 'string') return rule.student;
  return rule.student(req, s);
}

/** Token buckets, one per key (a student and a kind of request). */
export function createBuckets(now: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key: string, r: Rate): boolean {
      const t = now();
      const b = buckets.get(key) ?? { tokens: r.burst, at: t };
      b.tokens = Math.min(r.burst, b.tokens + ((t - b.at) / 1000) * r.perSec);
      b.at = t;
      buckets.set(key, b);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
    /** A student gone: its buckets go too. */
    forget(prefix: string): void {
      for (const k of buckets.keys()) if (k.startsWith(prefix)) buckets.delete(k);
    },
  };
}

export const rateRefusal = (r: Rate): string =>
  `too many requests: at most ${r.perSec} ${r.what} per second; try again in a moment`;
