// The captures of this process: live ones started (validated first, then tcpdump), files loaded or
// opened from the captures folder, and the few ended ones kept for browsing. Live captures are limited in
// total and per client; uploads and opened files belong to the client that loaded them, are limited per
// client and in bytes held in total, and go when it goes.
import { msg } from '../protocol/i18n/msg';
import type { FileHandle } from 'node:fs/promises';
import {
  CAPTURE_LIVE_MAX,
  CAPTURE_LIVE_PER_CLIENT,
  CAPTURE_UPLOADS_MAX_BYTES,
  CAPTURE_UPLOADS_PER_CLIENT,
  type CaptureStartReq,
  type PacketAnnotation,
} from '../protocol/capture';
import { inNetns } from '../sys/exec';
import { Capture, type SavedIface } from './capture';
import { readNamedCaptureFile, type CaptureIface } from './pcap';
import { splitIfName } from './pcapng-writer';
import { captureDir, createFresh, createSaved, deleteSaved, openSaved, type Notes } from './store';
import { CaptureError, checkFilter, namespaceGone, resolveTarget } from './targets';

export { Capture, type CaptureWatcher } from './capture';

/** Ended (or loaded) captures kept in memory for browsing. */
const KEEP_ENDED = 8;
/** Each live capture is a tcpdump process; keep a classroom from forking hundreds. */
const MAX_LIVE = CAPTURE_LIVE_MAX;
const uploadsMaxBytes = (): number => Number(process.env.PJ_CAPTURE_UPLOADS_MAX_BYTES ?? CAPTURE_UPLOADS_MAX_BYTES);
const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;

/** An upload held in memory for its client (`id` once its capture exists). */
interface Held {
  readonly owner: string;
  readonly bytes: number;
  id: string | undefined;
}

/** The interface blocks a loaded file is saved with: its own, names `<ifname>@<netns>` split back. */
function loadedIfaces(interfaces: readonly CaptureIface[], label: string): SavedIface[] {
  return interfaces.map((i, n) => ({
    ...splitIfName(i.name ?? (n === 0 ? `${label}@file` : `if${n}@file`)),
    linktype: i.linktype,
  }));
}

export interface StartOptions extends CaptureStartReq {
  readonly dir?: string;
  /** The client (socket id) starting it, for the per-client limit. */
  readonly owner?: string;
}

/** tcpdump's argv for a capture: pcap on stdout, packet by packet. */
export function tcpdumpArgs(req: Pick<CaptureStartReq, 'iface' | 'count' | 'filter'>): string[] {
  // -B: an 8 MiB kernel ring absorbs GC pauses and bursts; tcpdump's 2 MiB default drops at ~20k pps.
  const args = ['-i', req.iface, '-n', '-U', '--immediate-mode', '-B', '8192', '-s', '262144', '-w', '-'];
  if (req.count) args.push('-c', String(req.count));
  if (req.filter.trim()) args.push('--', req.filter);
  return args;
}

export class CaptureManager {
  private readonly captures = new Map<string, Capture>();
  /** Starts past the limit check that are not in `captures` yet. */
  private starting = 0;
  /** Live captures (starting ones included) per client. */
  private readonly liveBy = new Map<string, Set<Capture | symbol>>();
  /** Uploads held in memory, oldest first. */
  private held: Held[] = [];

  get(id: string): Capture | undefined {
    return this.captures.get(id);
  }

  list(): Capture[] {
    return [...this.captures.values()];
  }

  /** Validates everything first (namespace, interface, filter, name); then starts tcpdump. */
  async start(req: StartOptions): Promise<Capture> {
    // The slot is taken before the first await, or parallel starts would all pass the check.
    const live = this.list().filter((c) => c.live).length + this.starting;
    if (live >= MAX_LIVE) throw new CaptureError(msg('err.capture.liveMax', { live, max: MAX_LIVE }));
    const mine = this.liveOf(req.owner);
    if (mine && mine.size >= CAPTURE_LIVE_PER_CLIENT)
      throw new CaptureError(msg('err.capture.livePerClient', { max: CAPTURE_LIVE_PER_CLIENT }));
    this.starting++;
    const slot = Symbol('starting');
    mine?.add(slot);
    let reserved = true;
    const unreserve = (): void => {
      if (reserved) this.starting--;
      reserved = false;
    };
    try {
      const c = await this.startReserved(req, unreserve);
      // The client's slot passes to the capture, and frees itself when the capture ends.
      if (mine) {
        mine.add(c);
        void c.done.then(() => mine.delete(c));
      }
      return c;
    } finally {
      unreserve();
      mine?.delete(slot);
    }
  }

  /** A client's live captures; none for a start without a client (the CLI). */
  private liveOf(owner: string | undefined): Set<Capture | symbol> | undefined {
    if (owner === undefined) return undefined;
    let s = this.liveBy.get(owner);
    if (!s) this.liveBy.set(owner, (s = new Set()));
    return s;
  }

  /** start() once its slot is reserved; `unreserve` when the capture itself holds the slot. */
  private async startReserved(req: StartOptions, unreserve: () => void): Promise<Capture> {
    const t = await resolveTarget(req.netns, req.iface);
    await checkFilter(t, req.filter);
    const dir = req.dir ?? captureDir();
    let fileName: string | null = null;
    let file: FileHandle | null = null;
    // The file is created now (O_EXCL), so a parallel start can neither take its name nor overwrite it.
    if (req.save && req.name) [fileName, file] = [req.name, await createSaved(req.name, dir)];
    else if (req.save) ({ name: fileName, fh: file } = await createFresh(req.netns, req.iface, dir));
    const c = new Capture(req.netns, req.iface, req.filter, fileName, dir);
    this.prune();
    this.captures.set(c.id, c);
    unreserve();
    try {
      await c.startTcpdump(inNetns(t.ns.target, 'tcpdump', tcpdumpArgs(req)), file, () => namespaceGone(t));
    } catch (e) {
      this.captures.delete(c.id);
      throw e;
    }
    return c;
  }

  /**
   * An upload of client `owner`: refused in one line past its per-client count or the bytes uploads may
   * hold in total (after making room from uploads nobody watches), saved to the folder, held until
   * `release(owner)`.
   */
  async upload(bytes: Buffer, label: string, owner: string, dir = captureDir()): Promise<Capture> {
    const h = this.hold(owner, bytes.length);
    try {
      const c = await this.load(bytes, label, true, dir);
      h.id = c.id;
      if (!this.captures.has(c.id)) this.held = this.held.filter((x) => x !== h);
      return c;
    } catch (e) {
      this.held = this.held.filter((x) => x !== h);
      throw e;
    }
  }

  /** Reserves, synchronously (parallel uploads see each other), the memory an upload will hold. */
  private hold(owner: string, bytes: number): Held {
    const max = uploadsMaxBytes();
    const count = (): number => this.held.filter((x) => x.owner === owner).length;
    const total = (): number => this.held.reduce((n, x) => n + x.bytes, 0);
    for (const x of [...this.held]) {
      const [mineFull, allFull] = [count() >= CAPTURE_UPLOADS_PER_CLIENT, total() + bytes > max];
      if (!mineFull && !allFull) break;
      const idle = x.id !== undefined && this.captures.get(x.id)?.info().watchers === 0;
      if (idle && (allFull || x.owner === owner)) this.drop(x.id as string);
    }
    if (count() >= CAPTURE_UPLOADS_PER_CLIENT)
      throw new CaptureError(msg('err.capture.uploadsPerClient', { max: CAPTURE_UPLOADS_PER_CLIENT }));
    if (total() + bytes > max)
      throw new CaptureError(msg('err.capture.uploadsFull', { held: mb(total()), max: mb(max) }));
    const h: Held = { owner, bytes, id: undefined };
    this.held.push(h);
    return h;
  }

  /** What uploads hold in memory: all of them, or one client's. */
  uploads(owner?: string): { count: number; bytes: number } {
    const of = this.held.filter((x) => owner === undefined || x.owner === owner);
    return { count: of.length, bytes: of.reduce((n, x) => n + x.bytes, 0) };
  }

  /** A client went away: its uploads leave memory (their saved files stay). */
  release(owner: string): void {
    this.liveBy.delete(owner);
    for (const x of this.held.filter((h) => h.owner === owner)) {
      if (x.id !== undefined) this.drop(x.id);
      // An upload still decoding is dropped by its handler, which sees the socket gone.
    }
  }

  /** A read-only capture from pcap/pcapng bytes (an upload), optionally saved as annotated pcapng. */
  async load(
    bytes: Buffer,
    label: string,
    save: boolean,
    dir = captureDir(),
    existingName: string | null = null,
  ): Promise<Capture> {
    const file = readNamedCaptureFile(bytes, label, (m) => new CaptureError(m));
    const ifaces = loadedIfaces(file.interfaces, label);
    const base = label.replace(/\.(pcapng|pcap)$/, '').slice(0, 40);
    const fresh = save ? await createFresh('upload', base, dir, bytes.length) : null;
    const c = new Capture(ifaces[0]?.netns ?? 'file', ifaces[0]?.ifname ?? label, '', fresh?.name ?? existingName, dir);
    if (fresh) c.saveTo(fresh.fh, ifaces);
    const carried: Notes = {};
    for (const r of file.records) {
      const kept = r.comments.flatMap((x): PacketAnnotation[] => {
        const m = /^(note|hop): (.*)$/s.exec(x);
        return m ? [{ source: m[1] as 'note' | 'hop', text: m[2] as string }] : [];
      });
      if (kept.length) carried[String(c.packets)] = kept;
      // Mixed link types in one pcapng: each frame keeps its own interface's type.
      c.ingest(r, file.interfaces[r.iface]?.linktype ?? 1);
    }
    const failed = await c.closeFile();
    // A save the quota cut short leaves nothing behind.
    if (failed && fresh) await deleteSaved(fresh.name, dir).catch(() => undefined);
    if (failed) throw new CaptureError(`cannot save the upload: ${failed}`);
    // Notes and hops from an annotated upload become this capture's annotations (shown, exported).
    if (Object.keys(carried).length) await c.annotations.replace(carried, save);
    c.markLoaded(`loaded ${file.records.length} packet(s) from ${label}${file.warning ? `; ${file.warning}` : ''}`);
    this.prune();
    this.captures.set(c.id, c);
    return c;
  }

  /**
   * Opens a saved capture from the folder (its notes included). Opened by client `owner`, it is held in
   * memory like an upload of the file's size: in the same per-client count and total budget, until
   * `release(owner)`; otherwise opening one file many times would fill memory past the uploads' limit.
   */
  async open(name: string, owner?: string, dir = captureDir()): Promise<Capture> {
    const { fh, size } = await openSaved(name, dir);
    let bytes: Buffer;
    let h: Held | undefined;
    try {
      // Reserved before reading, with no await since the size was known.
      h = owner === undefined ? undefined : this.hold(owner, size);
      bytes = await fh.readFile();
    } catch (e) {
      if (h) this.held = this.held.filter((x) => x !== h);
      throw e;
    } finally {
      await fh.close();
    }
    try {
      const c = await this.load(bytes, name, false, dir, name);
      if (h) h.id = c.id;
      await c.annotations.load();
      return c;
    } catch (e) {
      if (h) this.held = this.held.filter((x) => x !== h);
      throw e;
    }
  }

  /** Ended captures hold up to KEEP_FRAMES frames each; keep the most recent few nobody watches. */
  private prune(): void {
    const ended = this.list().filter((c) => !c.live && c.info().watchers === 0);
    for (const c of ended.slice(0, Math.max(0, ended.length - KEEP_ENDED + 1))) this.drop(c.id);
  }

  forget(id: string): void {
    const c = this.captures.get(id);
    if (c && !c.live) this.drop(id);
  }

  private drop(id: string): void {
    this.captures.delete(id);
    this.held = this.held.filter((x) => x.id !== id);
  }

  stopAll(): Promise<void> {
    for (const c of this.captures.values()) c.stop('server shutting down');
    return Promise.all([...this.captures.values()].map((c) => c.done)).then(() => undefined);
  }
}

/** The server's one manager (the CLI makes its own). */
export const captureManager = new CaptureManager();
