// Wire contract for the classroom (server/classroom/): who a client is (instructor or student), the
// student's display name, the instructor's roster, links, QR code and shared captures.
import { z } from 'zod';
import { CaptureFileName } from './capture';
import type { AckFn } from './common';

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
    doing: z.array(z.string()).readonly(),
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

export interface ClassroomServerEvents {
  /** Sent just before the server ends this connection: why (kicked, tokens rotated). */
  'classroom:notice': (line: string) => void;
}

export interface ClassroomClientEvents {
  'classroom:me': (req: unknown, ack: AckFn<ClassMe>) => void;
  'classroom:join': (req: unknown, ack: AckFn<ClassMe>) => void;
  'classroom:links': (req: unknown, ack: AckFn<ClassLinks>) => void;
  /** New tokens: every holder of the old ones is disconnected; the answer carries the new links. */
  'classroom:rotate': (req: unknown, ack: AckFn<ClassLinks>) => void;
  'classroom:kick': (req: unknown, ack: AckFn<null>) => void;
  'classroom:share': (req: unknown, ack: AckFn<readonly string[]>) => void;
}
