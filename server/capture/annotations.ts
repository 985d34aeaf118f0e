// A capture's per-packet annotations (the user's notes, the tracer's hops), persisted next to its saved
// file (store.ts); the download writes them as pcapng comments.
import type { PacketAnnotation } from '../protocol/capture';
import { readNotes, writeNotes, type Notes } from './store';
import { CaptureError } from './targets';

export class CaptureAnnotations {
  private notes: Notes = {};
  private queue: Promise<void> = Promise.resolve();

  constructor(
    /** The saved file they belong to (null: memory only). */
    private readonly fileName: string | null,
    private readonly dir: string,
    /** Packets captured so far: an annotation needs its packet. */
    private readonly packets: () => number,
  ) {}

  /** What the detail view shows for a packet: the user's notes, and every other annotation. */
  of(index: number): { notes: string[]; annotations: PacketAnnotation[] } {
    const all = this.notes[String(index)] ?? [];
    return {
      notes: all.filter((a) => a.source === 'note').map((a) => a.text),
      annotations: all.filter((a) => a.source !== 'note'),
    };
  }

  replace(notes: Notes, persist: boolean): Promise<void> {
    return this.commit(() => notes, persist);
  }

  async load(): Promise<void> {
    if (this.fileName) this.notes = await readNotes(this.fileName, this.dir).catch(() => ({}));
  }

  /** Adds annotations to a packet, keeping what it has (the same text twice is kept once). */
  add(index: number, list: readonly PacketAnnotation[]): Promise<void> {
    const k = String(index);
    return this.commit((notes) => {
      const have = notes[k] ?? [];
      const fresh = list.filter((a) => !have.some((b) => b.source === a.source && b.text === a.text));
      return fresh.length ? { ...notes, [k]: [...have, ...fresh] } : undefined;
    });
  }

  /** Replaces a packet's annotations of one source; the others stay. */
  async replaceSource(
    index: number,
    list: readonly PacketAnnotation[],
    source: PacketAnnotation['source'],
  ): Promise<void> {
    if (index >= this.packets()) throw new CaptureError(`no packet #${index} in this capture`);
    const k = String(index);
    return this.commit((notes) => {
      const next = [...(notes[k] ?? []).filter((a) => a.source !== source), ...list];
      const others = Object.fromEntries(Object.entries(notes).filter(([key]) => key !== k));
      return next.length ? { ...others, [k]: next } : others;
    });
  }

  /**
   * Changes run one at a time, each saved before it is kept: a note that cannot be saved (the sidecar
   * is a symlink…) is not kept either, and two writes never interleave in the file.
   */
  private commit(change: (notes: Notes) => Notes | undefined, persist = true): Promise<void> {
    const run = this.queue.then(async () => {
      const next = change(this.notes);
      if (!next) return;
      if (persist && this.fileName) await writeNotes(this.fileName, next, this.dir);
      this.notes = next;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
