// The captures folder: flat, validated names only; nothing resolves outside it. Notes typed in the UI
// live in a hidden sidecar next to each file and are merged into the download. Every file is opened
// with O_NOFOLLOW and checked to be a regular file on the open descriptor (a symlink planted in the
// folder is never followed, for reading or writing), new files are created with O_EXCL, and a folder
// others can write to is refused. The folder has a quota: a save that would not fit is refused, and a
// running one stops when its writes reach it.
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  CAPTURE_FOLDER_QUOTA_BYTES,
  CaptureFileName,
  type PacketAnnotation,
  type SavedCapture,
} from '../protocol/capture';
import { CaptureError } from './targets';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants;
/** O_NONBLOCK: opening a FIFO planted in the folder must not hang the open (no effect on regular files). */
const READ = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
const CREATE = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

export function captureDir(): string {
  return resolve(process.env.PJ_CAPTURE_DIR ?? './captures');
}

/** Absolute path for a capture name, or a clear error for anything that is not a flat, valid name. */
export function capturePath(name: string, dir = captureDir()): string {
  if (name.includes('/') || name.includes('\\') || name.split(/[/\\]/).includes('..')) {
    throw new CaptureError(`"${name}" is a path; capture names are plain file names inside ${dir}`);
  }
  const r = CaptureFileName.safeParse(name);
  if (!r.success) throw new CaptureError(`bad capture name "${name}": ${r.error.issues[0]?.message ?? 'invalid'}`);
  const p = resolve(dir, name);
  // Belt and braces: the resolved path must sit directly in the folder.
  if (resolve(p, '..') !== dir || basename(p) !== name)
    throw new CaptureError(`"${name}" would leave the captures folder`);
  return p;
}

const notesPath = (name: string, dir: string): string => join(dir, `.${name}.notes.json`);

/** False when the folder does not exist; throws when it is not one this server may trust. */
async function usableDir(dir: string): Promise<boolean> {
  const st = await stat(dir).catch(() => undefined);
  if (!st) return false;
  if (!st.isDirectory()) throw new CaptureError(`the captures folder ${dir} is not a directory`);
  // Anyone who can write there can swap a file for a link between two calls.
  if (st.mode & 0o002)
    throw new CaptureError(
      `the captures folder ${dir} is writable by others (mode ${(st.mode & 0o7777).toString(8)}); run chmod o-w on it`,
    );
  return true;
}

/** Creates the folder (0700) if it is missing, and checks it. */
export async function ensureDir(dir = captureDir()): Promise<void> {
  if (!(await usableDir(dir))) await mkdir(dir, { recursive: true, mode: 0o700 });
  await usableDir(dir);
}

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

/**
 * Opens a file of the folder for reading: undefined when there is none, an error for a symlink or
 * anything that is not a regular file. The caller closes the handle.
 */
async function openRegular(path: string, label: string): Promise<{ fh: FileHandle; size: number } | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, READ);
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    if (errno(e) === 'ELOOP') throw new CaptureError(`"${label}" is a symlink; refusing to follow it`);
    throw new CaptureError(`cannot open "${label}": ${errno(e) ?? String(e)}`);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new CaptureError(`"${label}" is not a regular file; refusing it`);
  }
  return { fh, size: st.size };
}

/** A saved capture opened for reading (never through a symlink); the caller closes `fh`. */
export async function openSaved(name: string, dir = captureDir()): Promise<{ fh: FileHandle; size: number }> {
  const path = capturePath(name, dir);
  const f = (await usableDir(dir)) ? await openRegular(path, name) : undefined;
  if (!f) throw new CaptureError(`no capture named "${name}"`);
  return f;
}

/** A saved capture's bytes. */
export async function readSaved(name: string, dir = captureDir()): Promise<Buffer> {
  const { fh } = await openSaved(name, dir);
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

export async function listSaved(dir = captureDir()): Promise<SavedCapture[]> {
  if (!(await usableDir(dir))) return [];
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: SavedCapture[] = [];
  for (const n of names) {
    if (!CaptureFileName.safeParse(n).success) continue;
    // lstat: a symlink is not a capture.
    const st = await lstat(join(dir, n)).catch(() => undefined);
    if (st?.isFile()) out.push({ name: n, size: st.size, mtimeMs: st.mtimeMs });
  }
  return out.sort((a, b) => b.mtimeMs - a.mtimeMs);
}

export async function deleteSaved(name: string, dir = captureDir()): Promise<void> {
  const p = capturePath(name, dir);
  const st = (await usableDir(dir)) ? await lstat(p).catch(() => undefined) : undefined;
  if (!st?.isFile()) throw new CaptureError(`no capture named "${name}"`);
  await rm(p);
  await rm(notesPath(name, dir), { force: true });
  used.set(dir, Math.max(0, (used.get(dir) ?? 0) - st.size));
}

const quota = (): number => Number(process.env.PJ_CAPTURE_QUOTA_BYTES ?? CAPTURE_FOLDER_QUOTA_BYTES);
const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;
/**
 * Bytes used in each folder: read from disk when a save starts, then charged as saves write (bytes a
 * running save has charged but not flushed yet when another starts are missed: at most a flush each).
 */
const used = new Map<string, number>();

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    const st = await lstat(join(dir, n)).catch(() => undefined);
    if (st?.isFile()) total += st.size;
  }
  return total;
}

/** Refuses a new save (of `need` bytes, when known) that the folder's quota has no room for. */
async function checkQuota(dir: string, need: number): Promise<void> {
  const u = await folderBytes(dir);
  used.set(dir, u);
  const q = quota();
  if (u >= q || u + need > q)
    throw new CaptureError(
      `the captures folder is full: ${mb(u)} used${need ? `, ${mb(need)} more needed` : ''}, quota ${mb(q)} (PJ_CAPTURE_QUOTA_BYTES); delete saved captures first`,
    );
}

/** Charges `n` bytes about to be written to the folder; the reason to stop when they would exceed its quota. */
export function chargeQuota(dir: string, n: number): string | undefined {
  const u = used.get(dir) ?? 0;
  const q = quota();
  if (u + n > q) return `the captures folder quota is reached (${mb(q)}, PJ_CAPTURE_QUOTA_BYTES); saving stopped`;
  used.set(dir, u + n);
  return undefined;
}

/** Per-packet annotations added after capture (user notes, tracer hops), keyed by packet index. */
export type Notes = Record<string, PacketAnnotation[]>;

function parseNotes(raw: unknown): Notes {
  if (!raw || typeof raw !== 'object') return {};
  const out: Notes = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!/^\d+$/.test(k) || !Array.isArray(v)) continue;
    out[k] = v.flatMap((a: unknown) => {
      if (!a || typeof a !== 'object') return [];
      const { source, text } = a as { source?: unknown; text?: unknown };
      return (source === 'note' || source === 'hop') && typeof text === 'string' ? [{ source, text }] : [];
    });
  }
  return out;
}

/** The sidecar's notes; none when it is missing, unreadable, or not a regular file. */
export async function readNotes(name: string, dir = captureDir()): Promise<Notes> {
  capturePath(name, dir);
  try {
    const f = await openRegular(notesPath(name, dir), name);
    if (!f) return {};
    try {
      return parseNotes(JSON.parse(await f.fh.readFile('utf8')));
    } finally {
      await f.fh.close();
    }
  } catch {
    return {};
  }
}

/** Rewrites the sidecar in place; refuses a symlink, a non-regular file or a hard-linked one. */
export async function writeNotes(name: string, notes: Notes, dir = captureDir()): Promise<void> {
  capturePath(name, dir);
  await usableDir(dir);
  let fh: FileHandle;
  try {
    fh = await open(notesPath(name, dir), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600);
  } catch (e) {
    const why = errno(e) === 'ELOOP' ? 'it is a symlink' : (errno(e) ?? String(e));
    throw new CaptureError(`cannot save the notes of "${name}": ${why}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.nlink !== 1)
      throw new CaptureError(`cannot save the notes of "${name}": the notes file is not a plain file`);
    await fh.truncate(0);
    await fh.writeFile(JSON.stringify(notes));
  } finally {
    await fh.close();
  }
}

/**
 * Creates `name` in the folder for writing: never an existing file, never through a symlink, never
 * past the quota (`need`: the bytes it will take, when known).
 */
export async function createSaved(name: string, dir = captureDir(), need = 0): Promise<FileHandle> {
  const path = capturePath(name, dir);
  await ensureDir(dir);
  await checkQuota(dir, need);
  try {
    return await open(path, CREATE, 0o600);
  } catch (e) {
    if (errno(e) === 'EEXIST') throw new CaptureError(`a capture named "${name}" already exists`);
    throw new CaptureError(`cannot create "${name}": ${errno(e) ?? String(e)}`);
  }
}

/**
 * A fresh file like `node1-eth0-20261122-143000.pcapng`, created here (O_EXCL), so two captures
 * started in the same second get two names.
 */
export async function createFresh(
  netns: string,
  iface: string,
  dir = captureDir(),
  need = 0,
): Promise<{ name: string; fh: FileHandle }> {
  const d = new Date();
  const p = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  const base = `${netns}-${iface}-${stamp}`
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .replace(/\.\.+/g, '_')
    .replace(/^[^A-Za-z0-9]/, 'c');
  await ensureDir(dir);
  await checkQuota(dir, need);
  for (let i = 0; i < 1000; i++) {
    const name = `${base}${i ? `-${i}` : ''}.pcapng`;
    try {
      return { name, fh: await open(capturePath(name, dir), CREATE, 0o600) };
    } catch (e) {
      if (errno(e) !== 'EEXIST') throw new CaptureError(`cannot create "${name}": ${errno(e) ?? String(e)}`);
    }
  }
  throw new CaptureError('could not find a free capture name');
}
