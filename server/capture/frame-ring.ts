// The frames a capture keeps in memory for the detail view and for annotating journeys: a window of
// the newest ones (older ones are in the saved file), each with the link type it was captured with.
import type { PacketRow } from '../protocol/capture';
import type { CaptureRecord } from './pcap';

export interface Frame {
  readonly rec: CaptureRecord;
  readonly row: PacketRow;
  /** Per frame: one pcapng can hold interfaces of different link types. */
  readonly linktype: number;
}

/** Frames kept per capture. */
export const KEEP_FRAMES = 20_000;

export class FrameRing {
  private readonly frames: Frame[] = [];

  constructor(private readonly keep = KEEP_FRAMES) {}

  push(f: Frame): void {
    this.frames.push(f);
    // Trim in steps: a splice per packet would memmove the whole window at packet rate.
    if (this.frames.length > this.keep + this.keep / 10) this.frames.splice(0, this.frames.length - this.keep);
  }

  find(index: number): Frame | undefined {
    return this.frames.find((f) => f.row.index === index);
  }

  /** Rows of the newest `n` frames, oldest first. */
  rows(n: number): PacketRow[] {
    return this.frames.slice(-n).map((f) => f.row);
  }

  /**
   * Rows after index `after` (at most the newest `max`), and how many rows after it are not among them
   * (gone from the window, or past `max`). Indexes are consecutive: every frame is kept in order.
   */
  after(after: number, max: number): { rows: PacketRow[]; missed: number } {
    const oldest = this.frames[0]?.row.index ?? after + 1;
    const newestNext = oldest + this.frames.length;
    const want = Math.min(Math.max(after + 1, 0), newestNext);
    const start = Math.max(want - oldest, this.frames.length - max, 0);
    const rows = this.frames.slice(start).map((f) => f.row);
    return { rows, missed: oldest + start - want };
  }

  /** The newest `window` frames, oldest first. */
  *recent(window: number): Iterable<Frame> {
    for (let i = Math.max(0, this.frames.length - window); i < this.frames.length; i++) yield this.frames[i] as Frame;
  }
}
