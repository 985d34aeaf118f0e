// The captures folder: flat, validated names only; nothing resolves outside it. Notes typed in the UI
// live in a hidden sidecar next to each file and are merged into the download.
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CaptureFileName, type PacketAnnotation, type SavedCapture } from '../protocol/capture';
import { CaptureError } from './targets';

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

export async function ensureDir(dir = captureDir()): Promise<void> {
  await mkdir(dir, { recursive: true });
}

export async function listSaved(dir = captureDir()): Promise<SavedCapture[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: SavedCapture[] = [];
  for (const n of names) {
    if (!CaptureFileName.safeParse(n).success) continue;
    const st = await stat(join(dir, n)).catch(() => undefined);
    if (st?.isFile()) out.push({ name: n, size: st.size, mtimeMs: st.mtimeMs });
  }
  return out.sort((a, b) => b.mtimeMs - a.mtimeMs);
}

export async function deleteSaved(name: string, dir = captureDir()): Promise<void> {
  const p = capturePath(name, dir);
  const st = await stat(p).catch(() => undefined);
  if (!st) throw new CaptureError(`no capture named "${name}"`);
  await rm(p);
  await rm(notesPath(name, dir), { force: true });
}

/** Per-packet annotations added after capture (user notes, tracer hops), keyed by packet index. */
export type Notes = Record<string, PacketAnnotation[]>;

export async function readNotes(name: string, dir = captureDir()): Promise<Notes> {
  capturePath(name, dir);
  try {
    const raw: unknown = JSON.parse(await readFile(notesPath(name, dir), 'utf8'));
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
  } catch {
    return {};
  }
}

export async function writeNotes(name: string, notes: Notes, dir = captureDir()): Promise<void> {
  capturePath(name, dir);
  await writeFile(notesPath(name, dir), JSON.stringify(notes));
}

/** A fresh name like `node1-eth0-20261122-143000.pcapng`, unique in the folder. */
export async function freshName(netns: string, iface: string, dir = captureDir()): Promise<string> {
  const d = new Date();
  const p = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  const base = `${netns}-${iface}-${stamp}`
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .replace(/\.\.+/g, '_')
    .replace(/^[^A-Za-z0-9]/, 'c');
  for (let i = 0; i < 1000; i++) {
    const name = `${base}${i ? `-${i}` : ''}.pcapng`;
    if (!(await stat(join(dir, name)).catch(() => undefined))) return name;
  }
  throw new CaptureError('could not find a free capture name');
}
