// Records a session from what the server already sees: topology snapshots (when they change), the lab
// status (polled, when it changes), every journey the tracer finishes (serverBus), and the instructor's
// views with their times; at stop, the saved captures the session touched, with their notes. Entries
// are kept in memory up to the bounds (protocol/replay.ts), then nothing more is taken and the status
// says so in one line; stop writes the file whole.
import { hostname } from 'node:os';
import { journeyVersion, type ClassView } from '../protocol/classroom';
import type { LabStatus } from '../protocol/lab';
import {
  RECORDING_MAX_CAPTURE_BYTES,
  RECORDING_MAX_ENTRIES,
  RECORDING_MAX_RAW_BYTES,
  RECORDING_FORMAT,
  RECORDING_VERSION,
  type RecordedCapture,
  type RecordingEntry,
  type ReplayStatus,
} from '../protocol/replay';
import type { Topology } from '../protocol/topology';
import type { Journey } from '../protocol/tracer';
import { topologyKey } from '../topology/cache';
import { line, writeRecording } from './format';

/** What a recorder listens to: the server's own streams (server/replay/index.ts wires the real ones). */
export interface RecorderSources {
  readonly now: () => number;
  /** The current snapshot, then each change until the returned function is called. */
  readonly topology: (publish: (t: Topology) => void) => () => void;
  readonly lab: () => Promise<LabStatus>;
  readonly journeys: (fn: (j: Journey) => void) => () => void;
  /** The instructor's view on screen, its journey whole; null: nothing shown. */
  readonly view: () => ClassView | null;
  /** A live capture's file, for a view that shows it by id. */
  readonly fileOf: (captureId: string) => string | null | undefined;
  /** The saved captures written since `sinceMs`, by name. */
  readonly savedSince: (sinceMs: number) => Promise<string[]>;
  /** A saved capture's file and its annotations (notes, hop reasons). */
  readonly readCapture: (name: string) => Promise<{ bytes: Buffer; notes: RecordedCapture['notes'] }>;
  readonly labPollMs?: number;
  readonly writer: string;
}

type Status = NonNullable<ReplayStatus['recording']>;

/** Room left for the captures added at stop (base64), so the events cannot crowd them out. */
const EVENT_BUDGET = RECORDING_MAX_RAW_BYTES - Math.ceil((RECORDING_MAX_CAPTURE_BYTES * 4) / 3) - 1024 * 1024;

export interface Recording {
  status(): Status;
  /** The instructor sent a view: it is read back from the relay (journey whole), and kept if it changed. */
  onView(): void;
  /** Stops listening, adds the captures, writes the file; the answer is the line the user sees. */
  stop(): Promise<string>;
}

export function startRecording(file: string, src: RecorderSources): Recording {
  const t0 = src.now();
  const createdAt = new Date(t0).toISOString();
  const entries: RecordingEntry[] = [];
  let rawBytes = line({ format: RECORDING_FORMAT }).length;
  let full: string | null = null;
  let stopped = false;
  const lastOf = new Map<string, string>();
  // The version of each journey last written whole in a view (a later view names it by id).
  const written = new Map<string, string>();
  const viewFiles = new Set<string>();

  const add = (e: RecordingEntry): void => {
    if (stopped || full) return;
    const size = line(e).length;
    if (entries.length >= RECORDING_MAX_ENTRIES)
      full = `the recording is full (${RECORDING_MAX_ENTRIES} entries): stop it to save what it has`;
    else if (rawBytes + size > EVENT_BUDGET)
      full = `the recording is full (${Math.round(EVENT_BUDGET / 1048576)} MB): stop it to save what it has`;
    if (full) return;
    entries.push(e);
    rawBytes += size;
  };
  const t = (): number => Math.max(0, src.now() - t0);
  /** Topology and lab: only when they changed (the discovery's own time stamps aside). */
  const changed = (kind: string, key: string): boolean => {
    if (lastOf.get(kind) === key) return false;
    lastOf.set(kind, key);
    return true;
  };

  const stopTopology = src.topology((topo) => {
    if (changed('topology', topologyKey(topo))) add({ t: t(), kind: 'topology', data: topo });
  });
  const readLab = (): Promise<void> =>
    src.lab().then(
      (s) => {
        if (!stopped && changed('lab', JSON.stringify(s))) add({ t: t(), kind: 'lab', data: s });
      },
      () => undefined,
    );
  let labTimer: NodeJS.Timeout | undefined;
  const pollLab = (): void => {
    void readLab().then(() => {
      if (!stopped) labTimer = setTimeout(pollLab, src.labPollMs ?? 2000);
    });
  };
  pollLab();
  const stopJourneys = src.journeys((j) => add({ t: t(), kind: 'journey', data: j }));

  const onView = (): void => {
    const v = src.view();
    if (!v) return;
    // A live capture is named by its file: the replay opens the saved copy, never a capture id.
    let capture = v.capture;
    if (capture?.id) {
      const f = src.fileOf(capture.id) ?? capture.file;
      capture = f ? { id: null, file: f, label: capture.label } : null;
    }
    if (capture?.file) viewFiles.add(capture.file);
    const j = v.journey?.full;
    const whole = j !== undefined && written.get(j.id) !== journeyVersion(j);
    const view: ClassView = {
      ...v,
      capture: capture && { id: capture.id, file: capture.file, label: capture.label },
      packet: capture ? v.packet : null,
      journey: v.journey && { id: v.journey.id, ...(whole && { full: j }) },
    };
    // The same view again (a re-send after a reconnect): one step, not two.
    const key = JSON.stringify({ ...view, journey: v.journey && { id: v.journey.id, v: j && journeyVersion(j) } });
    if (!changed('view', key)) return;
    if (j && whole) written.set(j.id, journeyVersion(j));
    add({ t: t(), kind: 'view', data: view });
  };
  // What the instructor shows when recording starts is its first step.
  onView();

  return {
    status: () => ({ file, since: t0, entries: entries.length, rawBytes, full }),
    onView,
    async stop() {
      if (stopped) throw new Error('already stopped');
      await readLab();
      stopped = true;
      if (labTimer) clearTimeout(labTimer);
      stopTopology();
      stopJourneys();
      const names = [...new Set([...(await src.savedSince(t0 - 1000)), ...viewFiles])].sort();
      const captures: RecordedCapture[] = [];
      const left: string[] = [];
      let bytes = 0;
      for (const name of names) {
        const c = await src.readCapture(name).catch(() => undefined);
        if (!c) continue;
        if (bytes + c.bytes.length > RECORDING_MAX_CAPTURE_BYTES) left.push(name);
        else {
          bytes += c.bytes.length;
          captures.push({ name, notes: c.notes, base64: c.bytes.toString('base64') });
        }
      }
      const end = t();
      const all: RecordingEntry[] = [
        ...entries,
        ...captures.map((c) => ({ t: end, kind: 'capture' as const, data: c })),
      ];
      const size = await writeRecording(file, {
        header: {
          format: RECORDING_FORMAT,
          version: RECORDING_VERSION,
          createdAt,
          host: hostname(),
          writer: src.writer,
        },
        entries: all,
      });
      const steps = all.filter((e) => e.kind === 'view').length;
      const journeys = all.filter((e) => e.kind === 'journey').length;
      return (
        `saved ${file} (${(size / 1024).toFixed(0)} KB): ${steps} step(s), ${journeys} journey(s), ` +
        `${captures.length} capture(s)` +
        (left.length
          ? `; left out past ${RECORDING_MAX_CAPTURE_BYTES / 1048576} MB of captures: ${left.join(', ')}`
          : '')
      );
    },
  };
}
