// Wire contract for record and replay (server/replay/, docs/recording-format.md): the recording file's
// header and entries, each entry's data being the existing contract type (Topology, LabStatus, Journey,
// ClassView), so a replay parses the file with the same schemas as the live wire; and the replay watch
// and controls the page uses.
import { z } from 'zod';
import { CaptureFileName, PacketAnnotation } from './capture';
import type { AckFn } from './common';
import { ClassView } from './classroom';
import { LabStatus } from './lab';
import { Topology } from './topology';
import { Journey } from './tracer';

export const RECORDING_FORMAT = 'packet-journey-recording';
export const RECORDING_VERSION = 1;

/** Bounds (docs/recording-format.md): a recorder stops taking entries at them, a loader refuses past them. */
export const RECORDING_MAX_FILE_BYTES = 64 * 1024 * 1024;
/** Unpacked NDJSON, every line counted with its newline. */
export const RECORDING_MAX_RAW_BYTES = 128 * 1024 * 1024;
export const RECORDING_MAX_ENTRIES = 50_000;
/** Every capture embedded in one recording, pcapng bytes before base64. */
export const RECORDING_MAX_CAPTURE_BYTES = 32 * 1024 * 1024;

/** Line 1 of the file. */
export const RecordingHeader = z
  .object({
    format: z.literal(RECORDING_FORMAT),
    version: z.literal(RECORDING_VERSION),
    /** ISO 8601, when recording started; every entry's `t` counts from it. */
    createdAt: z.iso.datetime(),
    /** The machine it was recorded on (os.hostname()), shown in the replay's banner. */
    host: z.string().max(255),
    /** The packet-journey version that wrote it. */
    writer: z.string().max(64),
  })
  .strict();
export type RecordingHeader = z.infer<typeof RecordingHeader>;

/**
 * A saved capture as the captures folder holds it: the pcapng file, and its annotations by packet index
 * (the user's notes, the tracer's hop reasons), which a download merges into the comments. Kept apart
 * so a replay restores the folder exactly: it opens with its notes and downloads the same annotated file.
 */
export const RecordedCapture = z
  .object({
    name: CaptureFileName,
    notes: z.record(z.string().regex(/^\d{1,9}$/, 'a packet index'), z.array(PacketAnnotation).max(1000)),
    base64: z
      .string()
      .max(Math.ceil((RECORDING_MAX_CAPTURE_BYTES * 4) / 3) + 4)
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64'),
  })
  .strict();
export type RecordedCapture = z.infer<typeof RecordedCapture>;

const t = z
  .number()
  .int()
  .min(0)
  .max(7 * 24 * 3600 * 1000);
const entry = <K extends string, S extends z.ZodType>(kind: K, data: S) =>
  z.object({ t, kind: z.literal(kind), data }).strict();

/**
 * Lines 2…n. `view` is the instructor's view as `classroom:view` carries it: the journey whole when it
 * is new or changed, by id after that (the latest `full` with that id, in file order, or a `journey`
 * entry with that id). `end` is the last line: a file without it was cut short.
 */
export const RecordingEntry = z.discriminatedUnion('kind', [
  entry('topology', Topology),
  entry('lab', LabStatus),
  entry('journey', Journey),
  entry('view', ClassView),
  entry('capture', RecordedCapture),
  entry('end', z.object({ entries: z.number().int().min(0), durationMs: t }).strict()),
]);
export type RecordingEntry = z.infer<typeof RecordingEntry>;
export type RecordingKind = RecordingEntry['kind'];

/** What the page shows about recording (live server) or the replay (replay server). */
export const ReplayStatus = z
  .object({
    mode: z.enum(['live', 'replay']),
    recording: z
      .object({
        /** Where it will be saved. */
        file: z.string(),
        since: z.number(),
        entries: z.number().int(),
        rawBytes: z.number().int(),
        /** A bound was reached: nothing more is taken (one line). */
        full: z.string().nullable(),
      })
      .nullable(),
    /** The last recording saved by this server: where, and what it held (one line). */
    saved: z.string().nullable(),
    replay: z
      .object({
        /** The file's base name. */
        file: z.string(),
        recordedAt: z.string(),
        host: z.string(),
        /** The recorded instructor steps (views) and where the replay is: -1 before the first. */
        steps: z.number().int(),
        step: z.number().int(),
        playing: z.boolean(),
        speed: z.number(),
        /** ms from the start of the recording at the current step, and the whole length. */
        at: z.number(),
        durationMs: z.number(),
        journeys: z.number().int(),
        captures: z.array(z.string()),
      })
      .nullable(),
  })
  .readonly();
export type ReplayStatus = z.infer<typeof ReplayStatus>;

export const ReplayWatchReq = z.object({}).strict().optional();

export const ReplayControlReq = z.discriminatedUnion('action', [
  z.object({ action: z.enum(['play', 'pause', 'next', 'prev', 'first', 'last']) }).strict(),
  z.object({ action: z.literal('seek'), step: z.number().int().min(0).max(RECORDING_MAX_ENTRIES) }).strict(),
]);
export type ReplayControlReq = z.infer<typeof ReplayControlReq>;

export const ReplayRecordReq = z.object({ on: z.boolean() }).strict();

/** Speeds `--speed` accepts. */
export const REPLAY_SPEED_MIN = 0.1;
export const REPLAY_SPEED_MAX = 20;

export interface ReplayClientEvents {
  /** Replay server: play, pause, step, seek (instructor only); the answer is the new status. */
  'replay:control': (req: unknown, ack: AckFn<ReplayStatus>) => void;
  /** Live server: start or stop recording (instructor only); the answer is the new status. */
  'replay:record': (req: unknown, ack: AckFn<ReplayStatus>) => void;
}
