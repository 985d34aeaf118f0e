// One capture: tcpdump in the target netns (tcpdump.ts), each packet decoded, kept in a window of
// frames (frame-ring.ts), appended to an annotated pcapng on disk as it streams (save-file.ts), and fanned
// out to watchers; notes and tracer hops live in annotations.ts. It lives while someone watches it or
// while it saves to disk; its exit (and kernel drop counters) are reported.
import type { FileHandle } from 'node:fs/promises';
import type { CaptureInfo, CaptureState, PacketAnnotation, PacketDetail, PacketRow } from '../protocol/capture';
import { holders, type Holders } from '../sys/holders';
import { CaptureAnnotations } from './annotations';
import { decodeAnnotations, decodeFrame, toHex } from './decode';
import { FrameRing } from './frame-ring';
import type { CaptureRecord } from './pcap';
import { SaveFile } from './save-file';
import { captureDir } from './store';
import { runTcpdump, type Tcpdump, type TcpdumpEnd } from './tcpdump';

/** Rows replayed to a new watcher. */
const REPLAY_ROWS = 2_000;
/** Rows a resumed watcher gets at most in its answer (the page keeps 5000); older missed ones are counted. */
const RESUME_ROWS = 5_000;
/** An unsaved capture with no watcher stops after this grace (a page reload reattaches in time). */
const UNWATCHED_GRACE_MS = 5_000;
/** How often a running capture checks that its target is still there (one stat). */
const TARGET_POLL_MS = 1_000;

export interface CaptureWatcher {
  rows(rows: readonly PacketRow[]): void;
  status(info: CaptureInfo): void;
}

/** An interface block of the saved file. */
export interface SavedIface {
  readonly netns: string;
  readonly ifname: string;
  readonly linktype: number;
  readonly description?: string | undefined;
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
  readonly startedAt = Date.now();
  readonly annotations: CaptureAnnotations;
  private readonly frames = new FrameRing();
  private readonly watchers = new Set<CaptureWatcher>();
  private readonly watching: Holders;
  private tcpdump: Tcpdump | undefined;
  /** The file being written, and its interface id for each source interface. */
  private file: { readonly out: SaveFile; readonly ifaces: readonly number[] } | undefined;
  private stopReason: string | undefined;
  /** Stopped because it could not go on (its namespace went away): reported as failed. */
  private failing = false;
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
    this.annotations = new CaptureAnnotations(fileName, dir, () => this.packets);
    this.watching = holders({
      graceMs: UNWATCHED_GRACE_MS,
      onIdle: () => {
        if (this.fileName === null) this.stop('nobody is watching and it is not saving to disk');
      },
    });
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

  /** Decode, keep, save, fan out. Called for live records and for records loaded from a file. */
  ingest(rec: CaptureRecord, linktype: number): void {
    const index = this.packets++;
    this.bytes += rec.len;
    const meta = { index, linktype, tsSec: rec.tsSec, tsNsec: rec.tsNsec, len: rec.len };
    const p = decodeFrame(rec.data, meta, { light: true });
    const row: PacketRow = {
      index,
      tsSec: rec.tsSec,
      tsNsec: rec.tsNsec,
      len: rec.len,
      summary: p.summary,
      dsr: p.dsr,
      malformed: p.malformed !== null,
    };
    this.frames.push({ rec, row, linktype });
    this.file?.out.packet(this.file.ifaces[rec.iface] ?? 0, rec, decodeAnnotations(p));
    for (const w of this.watchers) w.rows([row]);
  }

  /** Saves what is ingested from now on to `file`, one interface block per source interface. */
  saveTo(file: FileHandle, ifaces: readonly SavedIface[]): void {
    const out = new SaveFile(file, this.fileName ?? 'the capture file', (why) => this.stop(why), this.dir);
    this.file = { out, ifaces: ifaces.map((i) => out.iface(i.netns, i.ifname, i.linktype, i.description)) };
  }

  /** Flushes and closes the file; resolves with why saving stopped early, if it did. */
  closeFile(): Promise<string | undefined> {
    const f = this.file;
    this.file = undefined;
    return f ? f.out.close().then(() => f.out.failure) : Promise.resolve(undefined);
  }

  /**
   * Spawns tcpdump and resolves once it is listening (or rejects with its error). While it runs,
   * `gone` is asked every second whether its target went away (a deleted namespace lives on, empty,
   * for as long as tcpdump holds it, so tcpdump itself never notices); a reason ends it as failed.
   */
  async startTcpdump(
    argv: readonly string[],
    saveFile: FileHandle | null,
    gone?: () => Promise<string | undefined>,
  ): Promise<void> {
    let opened = false;
    // The file's interface block needs the link type, which comes with the stream's header.
    const open = (linktype: number): void => {
      opened = true;
      const description = this.filter ? `filter: ${this.filter}` : undefined;
      if (saveFile) this.saveTo(saveFile, [{ netns: this.netns, ifname: this.iface, linktype, description }]);
    };
    const td = runTcpdump(argv, {
      record: (rec, linktype) => {
        if (!opened) open(linktype);
        this.ingest(rec, linktype);
      },
      unreadable: (why) => this.stop(`tcpdump output unreadable: ${why}`),
    });
    this.tcpdump = td;
    void td.ended.then((e) => {
      if (!opened) open(e.linktype >= 0 ? e.linktype : 1);
      this.finish(e);
    });
    await td.listening;
    this.setState('running');
    if (gone) this.pollTarget(gone);
  }

  private pollTarget(gone: () => Promise<string | undefined>): void {
    const timer = setInterval(() => {
      void gone().then(
        (why) => {
          if (why && this.tcpdump && this.stopReason === undefined) {
            this.failing = true;
            this.stop(why);
          }
        },
        () => undefined,
      );
    }, TARGET_POLL_MS);
    timer.unref();
    void this.done.then(() => clearInterval(timer));
  }

  private finish(e: TcpdumpEnd): void {
    this.kernel = e.kernel;
    const reason = this.stopReason ?? e.reason;
    const failed = this.failing || (this.stopReason === undefined && e.failed);
    this.exit = {
      code: e.code,
      signal: e.signal,
      reason: e.trailing ? `${reason} (last ${e.trailing} bytes were a partial packet)` : reason,
    };
    this.tcpdump = undefined;
    this.closeFile().then(
      () => {
        this.setState(failed ? 'failed' : 'stopped');
        this.resolveDone();
      },
      () => this.resolveDone(),
    );
  }

  /** Ends the capture; the first reason given is the one reported. */
  stop(reason = 'stopped by user'): void {
    this.watching.dispose();
    if (!this.tcpdump) return;
    this.stopReason ??= reason;
    this.tcpdump.stop();
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

  /**
   * Rows so far (the newest), and a function to stop watching; an unsaved capture stops unwatched. With
   * `after` (a resume), the rows after that index instead, with how many of them are no longer kept.
   */
  watch(w: CaptureWatcher, after?: number): { rows: readonly PacketRow[]; missed?: number; unwatch: () => void } {
    this.watchers.add(w);
    const release = this.watching.acquire();
    const resumed = after === undefined ? undefined : this.frames.after(after, RESUME_ROWS);
    return {
      rows: resumed?.rows ?? this.frames.rows(REPLAY_ROWS),
      ...(resumed && { missed: resumed.missed }),
      unwatch: () => {
        this.watchers.delete(w);
        release();
      },
    };
  }

  detail(index: number): PacketDetail | undefined {
    const f = this.frames.find(index);
    if (!f) return undefined;
    const { rec, linktype } = f;
    const packet = decodeFrame(rec.data, { index, linktype, tsSec: rec.tsSec, tsNsec: rec.tsNsec, len: rec.len });
    return { packet, hex: toHex(rec.data), ...this.annotations.of(index) };
  }

  /** Visits the newest frames (journeys are recent, so only a window of them), oldest first. */
  forRecent(visit: (index: number, data: Uint8Array, linktype: number) => void, window = 4000): void {
    for (const f of this.frames.recent(window)) visit(f.row.index, f.rec.data, f.linktype);
  }

  /** Adds annotations to a packet, keeping what it has (the same text twice is kept once). */
  addAnnotations(index: number, list: readonly PacketAnnotation[]): Promise<void> {
    return this.annotations.add(index, list);
  }

  /** Replace the user's note on a packet (empty text clears it); other annotations (hops) stay. */
  setNote(index: number, text: string): Promise<void> {
    return this.annotate(index, text.trim() ? [{ source: 'note', text: text.trim() }] : [], 'note');
  }

  /**
   * Replace a packet's annotations of one source (the tracer's hops: namespace, direction, NAT,
   * verdict) and persist them next to the file; the download writes them as pcapng comments.
   */
  annotate(index: number, list: readonly PacketAnnotation[], source: PacketAnnotation['source']): Promise<void> {
    return this.annotations.replaceSource(index, list, source);
  }
}
