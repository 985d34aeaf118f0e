// The recording file (docs/recording-format.md): gzip'd NDJSON, a header line, then `{t, kind, data}`
// entries, the last one `end`. Parsed at the boundary with the protocol's schemas; anything malformed,
// cut short, too big or of another version is refused with one line naming the file (and the line).
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { journeyVersion } from '../protocol/classroom';
import { issueLine } from '../protocol/common';
import {
  RECORDING_FORMAT,
  RECORDING_MAX_CAPTURE_BYTES,
  RECORDING_MAX_ENTRIES,
  RECORDING_MAX_FILE_BYTES,
  RECORDING_MAX_RAW_BYTES,
  RECORDING_VERSION,
  RecordingEntry,
  RecordingHeader,
} from '../protocol/replay';
import type { Journey } from '../protocol/tracer';
import { UserError } from '../sys/errors';

export class RecordingError extends UserError {}

export interface Recording {
  readonly header: RecordingHeader;
  /** In file order, `end` excluded. */
  readonly entries: readonly RecordingEntry[];
}

const MB = (n: number): string => `${(n / 1048576).toFixed(n < 1048576 ? 2 : 1)} MB`;

/** One NDJSON line, newline included. */
export const line = (value: unknown): string => JSON.stringify(value) + '\n';

/** The whole file: header, entries, and the `end` line that says it is complete. */
export function encodeRecording(rec: Recording): Buffer {
  const last = rec.entries.at(-1)?.t ?? 0;
  const end: RecordingEntry = { t: last, kind: 'end', data: { entries: rec.entries.length, durationMs: last } };
  const text = [rec.header, ...rec.entries, end].map(line).join('');
  const raw = Buffer.from(text);
  if (raw.length > RECORDING_MAX_RAW_BYTES)
    throw new RecordingError(
      `the recording is ${MB(raw.length)} unpacked; the limit is ${MB(RECORDING_MAX_RAW_BYTES)}`,
    );
  const gz = gzipSync(raw);
  if (gz.length > RECORDING_MAX_FILE_BYTES)
    throw new RecordingError(`the recording is ${MB(gz.length)}; the limit is ${MB(RECORDING_MAX_FILE_BYTES)}`);
  return gz;
}

/** Parses a whole file; `label` (its name) starts every error line. */
export function decodeRecording(bytes: Buffer, label: string): Recording {
  const bad = (why: string): RecordingError => new RecordingError(`${label}: ${why}`);
  if (bytes.length > RECORDING_MAX_FILE_BYTES)
    throw bad(`${MB(bytes.length)}; a recording is at most ${MB(RECORDING_MAX_FILE_BYTES)}`);
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b)
    throw bad('not a packet-journey recording (not gzip)');
  let raw: Buffer;
  try {
    raw = gunzipSync(bytes, { maxOutputLength: RECORDING_MAX_RAW_BYTES });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw bad(`unpacks to more than ${MB(RECORDING_MAX_RAW_BYTES)}`);
    throw bad(`cut short or damaged (gzip: ${e instanceof Error ? e.message : String(e)})`);
  }
  const text = raw.toString('utf8');
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw bad('cut short (the last line has no newline)');
  lines.pop();
  if (lines.length === 0) throw bad('empty (no header)');
  if (lines.length - 1 > RECORDING_MAX_ENTRIES + 1)
    throw bad(`${lines.length - 1} entries; a recording holds at most ${RECORDING_MAX_ENTRIES}`);

  const json = (s: string, n: number): unknown => {
    try {
      return JSON.parse(s);
    } catch {
      throw bad(`line ${n} is not JSON`);
    }
  };
  const head = json(lines[0] ?? '', 1) as Record<string, unknown> | null;
  if (typeof head !== 'object' || head === null || head.format !== RECORDING_FORMAT)
    throw bad('not a packet-journey recording (no header)');
  if (typeof head.version === 'number' && head.version !== RECORDING_VERSION)
    throw bad(
      head.version > RECORDING_VERSION
        ? `a version ${head.version} recording; this packet-journey reads version ${RECORDING_VERSION}: upgrade packet-journey`
        : `a version ${head.version} recording; this packet-journey reads version ${RECORDING_VERSION}`,
    );
  const h = RecordingHeader.safeParse(head);
  if (!h.success) throw bad(`line 1 (header): ${issueLine(h.error)}`);

  const entries: RecordingEntry[] = [];
  // A view names its journey by id once it was given whole: the latest full with that id before it.
  const journeys = new Map<string, string>();
  const captures = new Set<string>();
  let captureBytes = 0;
  let t = 0;
  let end: Extract<RecordingEntry, { kind: 'end' }> | undefined;
  for (let i = 1; i < lines.length; i++) {
    const n = i + 1;
    if (end) throw bad(`line ${n} follows the end entry`);
    const p = RecordingEntry.safeParse(json(lines[i] as string, n));
    if (!p.success) throw bad(`line ${n}: ${issueLine(p.error)}`);
    const e = p.data;
    if (e.t < t) throw bad(`line ${n}: t ${e.t} is before the previous entry's ${t}`);
    t = e.t;
    if (e.kind === 'end') {
      end = e;
      continue;
    }
    if (e.kind === 'view' && e.data.journey) {
      const { id, full } = e.data.journey;
      if (full) journeys.set(id, journeyVersion(full));
      else if (!journeys.has(id))
        throw bad(`line ${n}: the view names journey ${id}, which no earlier view gave whole`);
    }
    if (e.kind === 'capture') {
      if (captures.has(e.data.name)) throw bad(`line ${n}: capture ${e.data.name} is in the file twice`);
      captures.add(e.data.name);
      captureBytes += Math.floor((e.data.base64.length * 3) / 4);
      if (captureBytes > RECORDING_MAX_CAPTURE_BYTES) throw bad(`its captures pass ${MB(RECORDING_MAX_CAPTURE_BYTES)}`);
    }
    entries.push(e);
  }
  if (!end) throw bad('cut short (no end entry)');
  if (end.data.entries !== entries.length)
    throw bad(`the end entry counts ${end.data.entries} entries, the file has ${entries.length}`);
  return { header: h.data, entries };
}

/** Reads and parses a recording; the size is checked before anything is read. */
export async function readRecording(path: string): Promise<Recording> {
  const label = basename(path);
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new RecordingError(
      e.code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read it (${e.code ?? String(e)})`,
    );
  });
  if (!st.isFile()) throw new RecordingError(`${path}: not a regular file`);
  if (st.size > RECORDING_MAX_FILE_BYTES)
    throw new RecordingError(`${label}: ${MB(st.size)}; a recording is at most ${MB(RECORDING_MAX_FILE_BYTES)}`);
  const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new RecordingError(`${path}: cannot read it (${e.code ?? String(e)})`);
  });
  try {
    return decodeRecording(await fh.readFile(), label);
  } finally {
    await fh.close();
  }
}

/** Writes the file whole or not at all (a temporary name, then a rename): readable by others, 0644. */
export async function writeRecording(path: string, rec: Recording): Promise<number> {
  const bytes = encodeRecording(rec);
  const tmp = `${path}.${process.pid}.part`;
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(bytes);
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof RecordingError) throw e;
    throw new RecordingError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return bytes.length;
}

/** The journey each view shows, whole: the view's own `full`, or the latest one with its id before it. */
export function resolveViews(
  entries: readonly RecordingEntry[],
): { t: number; view: Extract<RecordingEntry, { kind: 'view' }>['data']; journey: Journey | null }[] {
  const latest = new Map<string, Journey>();
  const out: { t: number; view: Extract<RecordingEntry, { kind: 'view' }>['data']; journey: Journey | null }[] = [];
  for (const e of entries) {
    if (e.kind !== 'view') continue;
    const j = e.data.journey;
    if (j?.full) latest.set(j.id, j.full);
    out.push({ t: e.t, view: e.data, journey: j ? (latest.get(j.id) ?? null) : null });
  }
  return out;
}
