// Wire contract for the classroom (server/classroom/): who a client is (instructor or student), the
// student's display name, the instructor's roster, links, QR code and shared captures.
import { z } from 'zod';
import { CaptureFileName, CaptureIdReq } from './capture';
import type { AckFn } from './common';
import { Msg } from './i18n/msg';
import { Journey } from './tracer';

export const ClassRole = z.enum(['instructor', 'student']);
export type ClassRole = z.infer<typeof ClassRole>;

/** What a client learns about itself on connect: its role, and whether the server asks for tokens. */
export const ClassMe = z
  .object({
    id: z.string(),
    role: ClassRole,
    /** Token mode (`--host` not loopback, or `--require-tokens`): students must join with a name. */
    tokens: z.boolean(),
    name: z.string().nullable(),
  })
  .readonly();
export type ClassMe = z.infer<typeof ClassMe>;

/** Printable, one line, no markup: what the instructor's roster shows. */
export const DisplayName = z
  .string()
  .trim()
  .min(1, 'type a name')
  .max(40, 'a name is at most 40 characters')
  .refine((s) => ![...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f), 'not a printable name');

export const ClassJoinReq = z.object({ name: DisplayName }).strict();

export const ClassClient = z
  .object({
    id: z.string(),
    role: ClassRole,
    name: z.string().nullable(),
    since: z.number(),
    /** What it is doing now, one line each: running follows, live traces, captures. */
    doing: z.array(z.union([z.string(), Msg])).readonly(),
    /** Its last follow, e.g. `pod-a → pod-c (icmp): delivered`. */
    last: z.string().nullable(),
  })
  .readonly();
export type ClassClient = z.infer<typeof ClassClient>;

export const ClassRoster = z
  .object({
    clients: z.array(ClassClient).readonly(),
    /** Saved captures students may open and download. */
    shared: z.array(z.string()).readonly(),
  })
  .readonly();
export type ClassRoster = z.infer<typeof ClassRoster>;

/** The links with their tokens and the student link's QR code (an SVG, for the projector). */
export const ClassLinks = z
  .object({ instructor: z.string(), student: z.string(), studentQrSvg: z.string() })
  .readonly();
export type ClassLinks = z.infer<typeof ClassLinks>;

export const ClassRosterWatchReq = z.object({}).strict().optional();
export const ClassKickReq = z.object({ id: z.string().min(1).max(64) }).strict();
export const ClassShareReq = z.object({ name: CaptureFileName, shared: z.boolean() }).strict();

/** The page's tabs, as the instructor's view names them (app/page.tsx draws them). */
export const VIEW_TABS = ['lab', 'map', 'follow', 'capture', 'flows'] as const;
export const ViewTab = z.enum(VIEW_TABS);
export type ViewTab = z.infer<typeof ViewTab>;

/**
 * The journey on the instructor's screen. `full` is sent when it is new or has changed; after that the
 * id alone refers to the one the server already has (and a push to students carries `full` only when
 * it changed since the last push), so a step costs bytes, not a whole journey.
 */
export const ViewJourney = z.object({ id: z.string().min(1).max(80), full: Journey.optional() }).strict();
export type ViewJourney = z.infer<typeof ViewJourney>;

/** The capture open on the instructor's Capture tab: a live one by id, a saved one by its file. */
export const ViewCapture = z
  .object({
    id: CaptureIdReq.shape.id.nullable(),
    file: CaptureFileName.nullable(),
    /** `pod-a/eth0`, for the line a student sees when it is not shared. */
    label: z.string().max(100),
    /** Set by the server in what students get: may they open it (its file is shared)? */
    shared: z.boolean().optional(),
  })
  .strict();
export type ViewCapture = z.infer<typeof ViewCapture>;

/** A journey's version as it grows: the same id with more hops (or done) is new, and goes whole. */
export const journeyVersion = (j: Journey): string =>
  `${j.id}:${j.pending}:${j.hops.length}:${j.reply?.hops.length ?? 0}:${j.diagnosis ?? ''}`;

/** What the instructor shows: the one message of "follow the instructor", both ways. */
export const ClassView = z
  .object({
    tab: ViewTab,
    journey: ViewJourney.nullable(),
    /** The step-through's index in that journey; -1: not stepping. */
    step: z.number().int().min(-1).max(100_000),
    capture: ViewCapture.nullable(),
    /** The packet open in that capture (its index), if any. */
    packet: z.number().int().min(0).nullable(),
  })
  .strict();
export type ClassView = z.infer<typeof ClassView>;

/** What a following student gets: the view (null until the instructor shows something), numbered. */
export const ClassViewMsg = z
  .object({
    seq: z.number().int(),
    /** When the server received it (ms since the epoch), for latency measurements. */
    at: z.number(),
    view: ClassView.nullable(),
  })
  .readonly();
export type ClassViewMsg = z.infer<typeof ClassViewMsg>;

export const ClassAttendReq = z.object({ on: z.boolean() }).strict();

/** At most this many views a second leave the instructor's browser; the server pushes at most 20. */
export const VIEW_SEND_INTERVAL_MS = 100;
export const VIEW_PUSH_INTERVAL_MS = 50;

/**
 * Calls `send` with the latest value at most once per `intervalMs`: the first at once, later ones at
 * the end of the interval, and values in between are replaced (last state wins). Isomorphic, so the
 * instructor's browser and the server's push use the same one.
 */
export function latestThrottle<T>(send: (v: T) => void, intervalMs: number, now: () => number = Date.now) {
  let last = -Infinity;
  let pending: { v: T } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fire = (): void => {
    timer = undefined;
    if (!pending) return;
    const { v } = pending;
    pending = undefined;
    last = now();
    send(v);
  };
  return {
    push(v: T): void {
      pending = { v };
      if (timer) return;
      const wait = last + intervalMs - now();
      if (wait <= 0) fire();
      else timer = setTimeout(fire, wait);
    },
    /** Forgets what is pending (a disconnect: the next connection starts over). */
    cancel(): void {
      if (timer) clearTimeout(timer);
      timer = undefined;
      pending = undefined;
    },
  };
}

export interface ClassroomServerEvents {
  /** Sent just before the server ends this connection: why (kicked, tokens rotated). */
  'classroom:notice': (line: string) => void;
  /** The instructor's view, to the students who follow it. */
  'classroom:view': (msg: ClassViewMsg) => void;
}

export interface ClassroomClientEvents {
  'classroom:me': (req: unknown, ack: AckFn<ClassMe>) => void;
  'classroom:join': (req: unknown, ack: AckFn<ClassMe>) => void;
  'classroom:links': (req: unknown, ack: AckFn<ClassLinks>) => void;
  /** New tokens: every holder of the old ones is disconnected; the answer carries the new links. */
  'classroom:rotate': (req: unknown, ack: AckFn<ClassLinks>) => void;
  'classroom:kick': (req: unknown, ack: AckFn<null>) => void;
  'classroom:share': (req: unknown, ack: AckFn<readonly string[]>) => void;
  /** The instructor's view (instructor only): kept for late joiners and pushed to followers. */
  'classroom:view': (req: unknown, ack: AckFn<null>) => void;
  /** Follow the instructor (`on: true`, the answer is the current view) or explore alone. */
  'classroom:attend': (req: unknown, ack: AckFn<ClassViewMsg | null>) => void;
}
