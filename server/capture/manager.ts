// Live captures: tcpdump in the target netns, `-U -w -` into the TS pcap parser, each packet decoded,
// appended to an annotated pcapng on disk as it streams, and fanned out to watchers. A capture lives
// while someone watches it or while it saves to disk; tcpdump's stderr is kept as the failure reason
// and its exit (and kernel drop counters) are reported.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type {
  CaptureInfo,
  CaptureState,
  CaptureStartReq,
  PacketAnnotation,
  PacketDetail,
  PacketRow,
} from '../protocol/capture';
import { inNetns } from '../sys/exec';
import { decodeAnnotations, decodeFrame, toHex } from './decode';
import { PcapStreamParser, readCaptureFile, CaptureFormatError, type CaptureRecord } from './pcap';
import { PcapngWriter } from './pcapng-writer';
import { capturePath, captureDir, ensureDir, freshName, readNotes, writeNotes, type Notes } from './store';
import { CaptureError, checkFilter, resolveTarget } from './targets';

/** Frames kept in memory per capture for the detail view; older ones are in the saved file. */
const KEEP_FRAMES = 20_000;
/** Rows replayed to a new watcher. */
const REPLAY_ROWS = 2_000;
/** An unsaved capture with no watcher stops after this grace (a page reload reattaches in time). */
const UNWATCHED_GRACE_MS = 5_000;
/** Ended (or loaded) captures kept in memory for browsing. */
const KEEP_ENDED = 8;
/** Each live capture is a tcpdump process; keep a classroom from forking hundreds. */
const MAX_LIVE = 16;
const MAX_FILE_BYTES = Number(process.env.PJ_CAPTURE_MAX_BYTES ?? 512 * 1024 * 1024);

export interface CaptureWatcher {
  rows(rows: readonly PacketRow[]): void;
  status(info: CaptureInfo): void;
}

interface Frame {
  readonly rec: CaptureRecord;
  readonly row: PacketRow;
}

let nextId = 1;

export class Capture {
  readonly id = `c${(nextId++).toString(36)}${Date.now().toString(36).slice(-4)}`;
  state: CaptureState = 'starting';
  packets = 0;
  bytes = 0;
  kernel: CaptureInfo['kernel'] = null;
  exit: CaptureInfo['exit'] = null;
  uiDropped = 0;
  linktype = 1;
  readonly startedAt = Date.now();
  private readonly frames: Frame[] = [];
  private readonly watchers = new Set<CaptureWatcher>();
  private notes: Notes = {};
  private child: ChildProcess | undefined;
  private out: WriteStream | undefined;
  private writer: PcapngWriter | undefined;
  private ifaceId = 0;
  private stderr = '';
  private stopReason: string | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private outBytes = 0;
  private pendingOut: Buffer[] = [];
  private pendingOutBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Resolves once the capture has ended and its file is flushed. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    readonly netns: string,
    readonly iface: string,
    readonly filter: string,
    readonly fileName: string | null,
    readonly dir: string = captureDir(),
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  info(): CaptureInfo {
    return {
      id: this.id,
      netns: this.netns,
      iface: this.iface,
      filter: this.filter,
      fileName: this.fileName,
      state: this.state,
      packets: this.packets,
      bytes: this.bytes,
      kernel: this.kernel,
      uiDropped: this.uiDropped,
      startedAt: this.startedAt,
      exit: this.exit,
      watchers: this.watchers.size,
    };
  }

  get live(): boolean {
    return this.state === 'starting' || this.state === 'running';
  }

  // ----- ingest

  /** Decode, save, keep, fan out. Called for live records and for records loaded from a file. */
  ingest(rec: CaptureRecord, extra: readonly PacketAnnotation[] = []): void {
    const index = this.packets++;
    this.bytes += rec.len;
    const p = decodeFrame(
      rec.data,
      { index, linktype: this.linktype, tsSec: rec.tsSec, tsNsec: rec.tsNsec, len: rec.len },
      { light: true },
    );
    const row: PacketRow = {
      index,
      tsSec: rec.tsSec,
      tsNsec: rec.tsNsec,
      len: rec.len,
      summary: p.summary,
      dsr: p.dsr,
      malformed: p.malformed !== null,
    };
    this.frames.push({ rec, row });
    // Trim in steps: a splice per packet would memmove the whole window at packet rate.
    if (this.frames.length > KEEP_FRAMES + KEEP_FRAMES / 10) this.frames.splice(0, this.frames.length - KEEP_FRAMES);
    if (this.out && this.writer) {
      if (this.outBytes > MAX_FILE_BYTES) {
        this.stop(`file size limit reached (${MAX_FILE_BYTES} bytes, PJ_CAPTURE_MAX_BYTES)`);
      } else {
        this.writer.packet(this.ifaceId, rec, [...decodeAnnotations(p), ...extra]);
      }
    }
    for (const w of this.watchers) w.rows([row]);
  }

  openFile(path: string, linktype: number): void {
    this.linktype = linktype;
    this.out = createWriteStream(path, { flags: 'wx' });
    this.out.on('error', (e) => {
      this.stop(`cannot write ${this.fileName}: ${e.message}`);
      this.out = undefined;
    });
    // One fs write per packet would go through the libuv pool at packet rate; coalesce instead.
    this.writer = new PcapngWriter((b) => {
      this.outBytes += b.length;
      this.pendingOut.push(b);
      this.pendingOutBytes += b.length;
      if (this.pendingOutBytes >= 256 * 1024) this.flushOut();
      else this.flushTimer ??= setTimeout(() => this.flushOut(), 100);
    });
    this.ifaceId = this.writer.iface(
      this.netns,
      this.iface,
      linktype,
      262144,
      this.filter ? `filter: ${this.filter}` : undefined,
    );
  }

  // ----- live tcpdump

  /** Spawns tcpdump and resolves once it is listening (or rejects with its error). */
  startTcpdump(argv: readonly string[], savePath: string | null): Promise<void> {
    const [cmd, ...args] = argv;
    const child = spawn(cmd as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let opened = false;
    const parser = new PcapStreamParser((rec) => {
      if (!opened) {
        opened = true;
        this.linktype = parser.linktype;
        if (savePath) this.openFile(savePath, parser.linktype);
      }
      this.ingest(rec);
    });
    child.stdout?.on('data', (b: Buffer) => {
      parser.push(b);
      if (parser.error && !this.stopReason) this.stop(`tcpdump output unreadable: ${parser.error}`);
    });
    return new Promise((resolve, reject) => {
      let listening = false;
      const timer = setTimeout(() => {
        if (!listening) {
          listening = true;
          resolve(); // tcpdump is slow to say so on some kernels; it is running, carry on
          this.setState('running');
        }
      }, 5000);
      child.stderr?.on('data', (b: Buffer) => {
        this.stderr = (this.stderr + b.toString('utf8')).slice(-8192);
        if (!listening && /listening on/.test(this.stderr)) {
          listening = true;
          clearTimeout(timer);
          this.setState('running');
          resolve();
        }
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        if (!listening) reject(new CaptureError(`cannot run tcpdump: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (!opened && savePath) this.openFile(savePath, parser.linktype >= 0 ? parser.linktype : 1);
        this.finish(code, signal, parser.pending);
        if (!listening) reject(new CaptureError(this.failureReason() || `tcpdump exited with code ${code}`));
      });
    });
  }

  private failureReason(): string {
    return this.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/^listening on|packets? (captured|received by filter|dropped by kernel)|^\(/.test(l))
      .map((l) => l.replace(/^tcpdump: /, ''))
      .slice(-2)
      .join('; ');
  }

  private finish(code: number | null, signal: NodeJS.Signals | null, trailing: number): void {
    const num = (re: RegExp): number | undefined => {
      const m = re.exec(this.stderr);
      return m ? Number(m[1]) : undefined;
    };
    const received = num(/(\d+) packets? received by filter/);
    const dropped = num(/(\d+) packets? dropped by kernel/);
    if (received !== undefined || dropped !== undefined)
      this.kernel = { received: received ?? 0, dropped: dropped ?? 0 };
    const ours = this.stopReason !== undefined;
    const failed = !ours && code !== 0;
    const reason = ours
      ? (this.stopReason as string)
      : code === 0
        ? 'tcpdump finished (packet count reached)'
        : this.failureReason() || `tcpdump exited with ${signal ?? `code ${code}`}`;
    this.exit = {
      code,
      signal,
      reason: trailing ? `${reason} (last ${trailing} bytes were a partial packet)` : reason,
    };
    this.child = undefined;
    this.closeFile().then(
      () => {
        this.setState(failed ? 'failed' : 'stopped');
        this.resolveDone();
      },
      () => this.resolveDone(),
    );
  }

  private flushOut(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.pendingOut.length) return;
    const chunk = Buffer.concat(this.pendingOut, this.pendingOutBytes);
    this.pendingOut = [];
    this.pendingOutBytes = 0;
    this.out?.write(chunk);
  }

  closeFile(): Promise<void> {
    this.flushOut();
    const out = this.out;
    this.out = undefined;
    this.writer = undefined;
    if (!out) return Promise.resolve();
    return new Promise((r) => out.end(r));
  }

  /** Ends the capture (SIGINT lets tcpdump print its counters; SIGKILL if it lingers). */
  stop(reason = 'stopped by user'): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    if (!this.child) return;
    this.stopReason ??= reason;
    const c = this.child;
    c.kill('SIGINT');
    setTimeout(() => {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, 2000).unref();
  }

  /** For loaded files: nothing to spawn, it is complete. */
  markLoaded(reason: string): void {
    this.exit = { code: 0, signal: null, reason };
    this.setState('stopped');
    this.resolveDone();
  }

  private setState(s: CaptureState): void {
    this.state = s;
    const info = this.info();
    for (const w of this.watchers) w.status(info);
  }

  // ----- watchers, details, notes

  watch(w: CaptureWatcher, saving: boolean): { rows: readonly PacketRow[]; unwatch: () => void } {
    this.watchers.add(w);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    return {
      rows: this.frames.slice(-REPLAY_ROWS).map((f) => f.row),
      unwatch: () => {
        this.watchers.delete(w);
        if (this.watchers.size === 0 && !saving && this.live) {
          this.graceTimer = setTimeout(
            () => this.stop('nobody is watching and it is not saving to disk'),
            UNWATCHED_GRACE_MS,
          );
        }
      },
    };
  }

  detail(index: number): PacketDetail | undefined {
    const f = this.frames.find((x) => x.row.index === index);
    if (!f) return undefined;
    const packet = decodeFrame(f.rec.data, {
      index,
      linktype: this.linktype,
      tsSec: f.rec.tsSec,
      tsNsec: f.rec.tsNsec,
      len: f.rec.len,
    });
    const annotations = this.notes[String(index)] ?? [];
    return {
      packet,
      hex: toHex(f.rec.data),
      notes: annotations.filter((a) => a.source === 'note').map((a) => a.text),
      annotations: annotations.filter((a) => a.source !== 'note'),
    };
  }

  async replaceAnnotations(notes: Notes, persist: boolean): Promise<void> {
    this.notes = notes;
    if (persist && this.fileName) await writeNotes(this.fileName, this.notes, this.dir);
  }

  async loadNotes(): Promise<void> {
    if (this.fileName) this.notes = await readNotes(this.fileName, this.dir).catch(() => ({}));
  }

  /** Visits the newest frames (journeys are recent, so only a window of them), oldest first. */
  forRecent(visit: (index: number, data: Uint8Array, linktype: number) => void, window = 4000): void {
    for (let i = Math.max(0, this.frames.length - window); i < this.frames.length; i++) {
      const f = this.frames[i] as Frame;
      visit(f.row.index, f.rec.data, this.linktype);
    }
  }

  /** Adds annotations to a packet, keeping what it has (the same text twice is kept once). */
  async addAnnotations(index: number, list: readonly PacketAnnotation[]): Promise<void> {
    const k = String(index);
    const have = this.notes[k] ?? [];
    const fresh = list.filter((a) => !have.some((b) => b.source === a.source && b.text === a.text));
    if (fresh.length === 0) return;
    this.notes[k] = [...have, ...fresh];
    if (this.fileName) await writeNotes(this.fileName, this.notes, this.dir);
  }

  /** Replace the user's note on a packet (empty text clears it); other annotations (hops) stay. */
  async setNote(index: number, text: string): Promise<void> {
    await this.annotate(index, text.trim() ? [{ source: 'note', text: text.trim() }] : [], 'note');
  }

  /**
   * Replace a packet's annotations of one source (the tracer's hops: namespace, direction, NAT,
   * verdict) and persist them next to the file; the download writes them as pcapng comments.
   */
  async annotate(index: number, list: readonly PacketAnnotation[], source: PacketAnnotation['source']): Promise<void> {
    if (index >= this.packets) throw new CaptureError(`no packet #${index} in this capture`);
    const k = String(index);
    const kept = (this.notes[k] ?? []).filter((a) => a.source !== source);
    const next = [...kept, ...list];
    if (next.length) this.notes[k] = next;
    else delete this.notes[k];
    if (this.fileName) await writeNotes(this.fileName, this.notes, this.dir);
  }
}

export interface StartOptions extends CaptureStartReq {
  readonly dir?: string;
}

export class CaptureManager {
  private readonly captures = new Map<string, Capture>();

  get(id: string): Capture | undefined {
    return this.captures.get(id);
  }

  list(): Capture[] {
    return [...this.captures.values()];
  }

  /** Validates everything first (namespace, interface, filter, name); then starts tcpdump. */
  async start(req: StartOptions): Promise<Capture> {
    const live = this.list().filter((c) => c.live).length;
    if (live >= MAX_LIVE)
      throw new CaptureError(`${live} captures are already running (limit ${MAX_LIVE}); stop one first`);
    const t = await resolveTarget(req.netns, req.iface);
    await checkFilter(t, req.filter);
    const dir = req.dir ?? captureDir();
    let fileName: string | null = null;
    let path: string | null = null;
    if (req.save) {
      await ensureDir(dir);
      fileName = req.name ?? (await freshName(req.netns, req.iface, dir));
      path = capturePath(fileName, dir);
      const exists = await readFile(path).then(
        () => true,
        () => false,
      );
      if (exists) throw new CaptureError(`a capture named "${fileName}" already exists`);
    }
    const c = new Capture(req.netns, req.iface, req.filter, fileName, dir);
    this.prune();
    this.captures.set(c.id, c);
    // -B: an 8 MiB kernel ring absorbs GC pauses and bursts; tcpdump's 2 MiB default drops at ~20k pps.
    const args = ['-i', req.iface, '-n', '-U', '--immediate-mode', '-B', '8192', '-s', '262144', '-w', '-'];
    if (req.count) args.push('-c', String(req.count));
    if (req.filter.trim()) args.push('--', req.filter);
    try {
      await c.startTcpdump(inNetns(t.ns.target, 'tcpdump', args), path);
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
    let file;
    try {
      file = readCaptureFile(bytes);
    } catch (e) {
      if (e instanceof CaptureFormatError) throw new CaptureError(`${label}: ${e.message}`);
      throw e;
    }
    const first = file.interfaces[0];
    const [ifn, ns] = (first?.name ?? `${label}@file`).split('@');
    let fileName: string | null = existingName;
    if (save) {
      await ensureDir(dir);
      fileName = await freshName('upload', label.replace(/\.(pcapng|pcap)$/, '').slice(0, 40), dir);
    }
    const c = new Capture(ns ?? 'file', ifn ?? label, '', fileName, dir);
    c.linktype = first?.linktype ?? 1;
    if (save && fileName) c.openFile(capturePath(fileName, dir), c.linktype);
    const carried: Notes = {};
    for (const r of file.records) {
      // Mixed link types in one pcapng: decode each with its own interface's type.
      c.linktype = file.interfaces[r.iface]?.linktype ?? 1;
      const kept = r.comments.flatMap((x): PacketAnnotation[] => {
        const m = /^(note|hop): (.*)$/s.exec(x);
        return m ? [{ source: m[1] as 'note' | 'hop', text: m[2] as string }] : [];
      });
      if (kept.length) carried[String(c.packets)] = kept;
      c.ingest(r);
    }
    await c.closeFile();
    // Notes and hops from an annotated upload become this capture's annotations (shown, exported).
    if (Object.keys(carried).length) await c.replaceAnnotations(carried, save);
    c.markLoaded(`loaded ${file.records.length} packet(s) from ${label}${file.warning ? `; ${file.warning}` : ''}`);
    this.prune();
    this.captures.set(c.id, c);
    return c;
  }

  /** Opens a saved capture from the folder (its notes included). */
  async open(name: string, dir = captureDir()): Promise<Capture> {
    const path = capturePath(name, dir);
    const bytes = await readFile(path).catch(() => {
      throw new CaptureError(`no capture named "${name}"`);
    });
    const c = await this.load(bytes, name, false, dir, name);
    await c.loadNotes();
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
