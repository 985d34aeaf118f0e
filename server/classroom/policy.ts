// What a student may send: one rule per client event of the contract (the compiler keeps the table
// whole), checked before any handler runs. A refusal is one line and changes nothing. Requests that do
// not parse are let through to their handler, which answers with the schema's own one-line error.
import type { z } from 'zod';
import { PODS } from '../lab/spec';
import { CaptureIdReq, CaptureNameReq, CapturePacketReq, CaptureNoteReq, CaptureStartReq } from '../protocol/capture';
import type { ClientEvent } from '../protocol/events';
import { msg, type Msg } from '../protocol/i18n/msg';
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

type Check = (req: unknown, s: StudentView) => Msg | undefined;
export interface Rate {
  readonly perSec: number;
  readonly burst: number;
  /** Plural noun for the refusal, a key of the catalog's `err.what`: `at most 2 follows per second`. */
  readonly what: string;
}
export interface Rule {
  /** `true`: allowed; a message: always refused with it; a function: refused with what it returns. */
  readonly student: true | Msg | Check;
  readonly rate?: Rate;
  /** Allowed before the student has joined with a name. */
  readonly beforeJoin?: boolean;
}

export const LAB_PODS: ReadonlySet<string> = new Set(PODS.map((p) => p.name));
export const STUDENT_CAPTURE_IFACE = 'eth0';

/** Runs `check` on the parsed request; one that does not parse goes on to its handler's own error. */
const parsed =
  <S extends z.ZodType>(schema: S, check: (r: z.infer<S>, s: StudentView) => Msg | undefined): Check =>
  (req, s) => {
    const p = schema.safeParse(req ?? {});
    return p.success ? check(p.data, s) : undefined;
  };

const mine = (id: string, s: StudentView): boolean => s.ownCaptures.has(id);
const sharedId = (id: string, s: StudentView): boolean => {
  const f = s.fileOf(id);
  return typeof f === 'string' && s.shared.has(f);
};
// The refusals' words are in the catalogs (server/protocol/i18n/, `err.class.*`).
const no = (key: string, values?: Msg['values']): Msg => msg(`err.class.${key}`, values);
const NOT_SHARED = no('notShared');

const INSTRUCTOR_ONLY = (what: string): Msg => no('instructorOnly', { what: no(`only.${what}`) });

export const STUDENT_RULES: { readonly [E in ClientEvent]: Rule } = {
  // Watching is what a student is there for.
  'lab:watch': { student: true },
  'lab:unwatch': { student: true, beforeJoin: true },
  'topology:watch': { student: true },
  'topology:unwatch': { student: true, beforeJoin: true },
  'tracer:status:watch': { student: true },
  'tracer:status:unwatch': { student: true, beforeJoin: true },
  'topology:get': { student: true, rate: { perSec: 1, burst: 2, what: 'topologyReads' } },
  'classroom:watch': { student: INSTRUCTOR_ONLY('seeConnected') },
  'flows:watch': { student: true },
  'flows:unwatch': { student: true, beforeJoin: true },
  'flows:journey': { student: true },
  'classroom:unwatch': { student: true, beforeJoin: true },

  'lab:run': { student: no('labRun') },
  'lab:prog': { student: no('labProg') },

  'tracer:follow': {
    student: parsed(FollowRequest, (r) => {
      if (!LAB_PODS.has(r.from)) return no('followFrom', { pods: [...LAB_PODS].join(', ') });
      // TRACE adds iptables rules in the namespaces on the way: a tracer setting, the instructor's.
      if (r.rules) return no('followRules');
      return undefined;
    }),
    rate: { perSec: 2, burst: 2, what: 'follows' },
  },
  'tracer:live:start': { student: true, rate: { perSec: 1, burst: 2, what: 'liveTraces' } },
  'tracer:live:stop': { student: true, beforeJoin: true },
  // Only the session's own views are there to resume (tracer/socket.ts looks in the session's own map).
  'tracer:live:resume': { student: true, beforeJoin: true },

  'capture:targets': { student: true },
  'capture:filter-check': { student: true, rate: { perSec: 4, burst: 8, what: 'filterChecks' } },
  'capture:start': {
    student: parsed(CaptureStartReq, (r, s) => {
      if (!LAB_PODS.has(r.netns) || r.iface !== STUDENT_CAPTURE_IFACE) return no('captureWhere');
      if (s.liveCaptures > 0) return no('captureOne');
      return undefined;
    }),
    rate: { perSec: 1, burst: 1, what: 'captureStarts' },
  },
  'capture:stop': {
    student: parsed(CaptureIdReq, (r, s) => (mine(r.id, s) ? undefined : no('captureStop'))),
  },
  'capture:watch': {
    student: parsed(CaptureIdReq, (r, s) => (mine(r.id, s) || sharedId(r.id, s) ? undefined : NOT_SHARED)),
  },
  'capture:unwatch': { student: true, beforeJoin: true },
  'capture:packet': {
    student: parsed(CapturePacketReq, (r, s) => (mine(r.id, s) || sharedId(r.id, s) ? undefined : NOT_SHARED)),
    rate: { perSec: 10, burst: 20, what: 'packetReads' },
  },
  'capture:note': {
    student: parsed(CaptureNoteReq, (r, s) => (mine(r.id, s) ? undefined : no('captureNote'))),
  },
  // Its answer is narrowed to what the student may open (see classroom/index.ts).
  'capture:list': { student: true },
  'capture:delete': { student: no('captureDelete') },
  'capture:decode-file': { student: true, rate: { perSec: 1, burst: 2, what: 'uploads' } },
  'capture:open': {
    student: parsed(CaptureNameReq, (r, s) =>
      s.shared.has(r.name) || s.ownFiles.has(r.name) ? undefined : NOT_SHARED,
    ),
    rate: { perSec: 1, burst: 2, what: 'opens' },
  },

  'classroom:me': { student: true, beforeJoin: true },
  'classroom:join': { student: true, beforeJoin: true, rate: { perSec: 1, burst: 3, what: 'joins' } },
  'classroom:links': { student: INSTRUCTOR_ONLY('seeLinks') },
  'classroom:rotate': { student: INSTRUCTOR_ONLY('rotate') },
  'classroom:kick': { student: INSTRUCTOR_ONLY('kick') },
  'classroom:share': { student: INSTRUCTOR_ONLY('share') },
  'classroom:view': { student: INSTRUCTOR_ONLY('broadcast') },
  // Following the instructor, or not: a click each way.
  'classroom:attend': { student: true, rate: { perSec: 2, burst: 4, what: 'followSwitches' } },

  // Record and replay (server/replay/): a student sees where the replay is; the instructor drives it.
  'replay:watch': { student: true },
  'replay:unwatch': { student: true, beforeJoin: true },
  'replay:control': { student: INSTRUCTOR_ONLY('driveReplay') },
  'replay:record': { student: INSTRUCTOR_ONLY('record') },
};

/** Every event a student sends counts here too, so no event (rate-limited or not) can flood the server. */
export const STUDENT_ANY_RATE: Rate = { perSec: 20, burst: 40, what: 'messages' };

/** The refusal for a student's event, or undefined when it may go on to its handler. */
export function studentRefusal(event: string, req: unknown, s: StudentView): Msg | undefined {
  const rule = (STUDENT_RULES as Readonly<Record<string, Rule>>)[event];
  if (!rule) return no('unknownEvent', { event: event.slice(0, 40) });
  if (!s.joined && !rule.beforeJoin) return no('joinFirst');
  if (rule.student === true) return undefined;
  if (typeof rule.student !== 'function') return rule.student;
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

export const rateRefusal = (r: Rate): Msg => no('rate', { perSec: r.perSec, what: msg(`err.what.${r.what}`) });
