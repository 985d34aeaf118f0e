// The captures of this process: live ones started (validated first, then tcpdump), files loaded or
// opened from the captures folder, and the few ended ones kept for browsing.
import type { FileHandle } from 'node:fs/promises';
import type { CaptureStartReq, PacketAnnotation } from '../protocol/capture';
import { inNetns } from '../sys/exec';
import { Capture, type SavedIface } from './capture';
import { readNamedCaptureFile, type CaptureIface } from './pcap';
import { splitIfName } from './pcapng-writer';
import { captureDir, createFresh, createSaved, readSaved, type Notes } from './store';
import { CaptureError, checkFilter, namespaceGone, resolveTarget } from './targets';

export { Capture, type CaptureWatcher } from './capture';

/** Ended (or loaded) captures kept in memory for browsing. */
const KEEP_ENDED = 8;
/** Each live capture is a tcpdump process; keep a classroom from forking hundreds. */
const MAX_LIVE = 16;

/** The interface blocks a loaded file is saved with: its own, names `<ifname>@<netns>` split back. */
function loadedIfaces(interfaces: readonly CaptureIface[], label: string): SavedIface[] {
  return interfaces.map((i, n) => ({
    ...splitIfName(i.name ?? (n === 0 ? `${label}@file` : `if${n}@file`)),
    linktype: i.linktype,
  }));
}

export interface StartOptions extends CaptureStartReq {
  readonly dir?: string;
}

export class CaptureManager {
  private readonly captures = new Map<string, Capture>();
  /** Starts past the limit check that are not in `captures` yet. */
  private starting = 0;

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
    if (live >= MAX_LIVE)
      throw new CaptureError(`${live} captures are already running (limit ${MAX_LIVE}); stop one first`);
    this.starting++;
    let reserved = true;
    const unreserve = (): void => {
      if (reserved) this.starting--;
      reserved = false;
    };
    try {
      return await this.startReserved(req, unreserve);
    } finally {
      unreserve();
    }
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
    // -B: an 8 MiB kernel ring absorbs GC pauses and bursts; tcpdump's 2 MiB default drops at ~20k pps.
    const args = ['-i', req.iface, '-n', '-U', '--immediate-mode', '-B', '8192', '-s', '262144', '-w', '-'];
    if (req.count) args.push('-c', String(req.count));
    if (req.filter.trim()) args.push('--', req.filter);
    try {
      await c.startTcpdump(inNetns(t.ns.target, 'tcpdump', args), file, () => namespaceGone(t));
    } catch (e) {
      this.captures.delete(c.id);
      throw e;
    }
    return c;
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
    const fresh = save ? await createFresh('upload', label.replace(/\.(pcapng|pcap)$/, '').slice(0, 40), dir) : null;
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
    await c.closeFile();
    // Notes and hops from an annotated upload become this capture's annotations (shown, exported).
    if (Object.keys(carried).length) await c.annotations.replace(carried, save);
    c.markLoaded(`loaded ${file.records.length} packet(s) from ${label}${file.warning ? `; ${file.warning}` : ''}`);
    this.prune();
    this.captures.set(c.id, c);
    return c;
  }

  /** Opens a saved capture from the folder (its notes included). */
  async open(name: string, dir = captureDir()): Promise<Capture> {
    const c = await this.load(await readSaved(name, dir), name, false, dir, name);
    await c.annotations.load();
    return c;
  }

  /** Ended captures hold up to KEEP_FRAMES frames each; keep the most recent few nobody watches. */
  private prune(): void {
    const ended = this.list().filter((c) => !c.live && c.info().watchers === 0);
    for (const c of ended.slice(0, Math.max(0, ended.length - KEEP_ENDED + 1))) this.captures.delete(c.id);
  }

  forget(id: string): void {
    const c = this.captures.get(id);
    if (c && !c.live) this.captures.delete(id);
  }

  stopAll(): Promise<void> {
    for (const c of this.captures.values()) c.stop('server shutting down');
    return Promise.all([...this.captures.values()].map((c) => c.done)).then(() => undefined);
  }
}

/** The server's one manager (the CLI makes its own). */
export const captureManager = new CaptureManager();
