// A capture's per-packet annotations (the user's notes, the tracer's hops), persisted next to its saved
// file (store.ts); the download writes them as pcapng comments.
import type { PacketAnnotation } from '../protocol/capture';
import { readNotes, writeNotes, type Notes } from './store';
import { CaptureError } from './targets';

export class CaptureAnnotations {
  private notes: Notes = {};

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

  async replace(notes: Notes, persist: boolean): Promise<void> {
    this.notes = notes;
    if (persist) await this.save();
  }

  async load(): Promise<void> {
    if (this.fileName) this.notes = await readNotes(this.fileName, this.dir).catch(() => ({}));
  }

  /** Adds annotations to a packet, keeping what it has (the same text twice is kept once). */
  async add(index: number, list: readonly PacketAnnotation[]): Promise<void> {
    const k = String(index);
    const have = this.notes[k] ?? [];
    const fresh = list.filter((a) => !have.some((b) => b.source === a.source && b.text === a.text));
    if (fresh.length === 0) return;
    this.notes[k] = [...have, ...fresh];
    await this.save();
  }

  /** Replaces a packet's annotations of one source; the others stay. */
  async replaceSource(
    index: number,
    list: readonly PacketAnnotation[],
    source: PacketAnnotation['source'],
  ): Promise<void> {
    if (index >= this.packets()) throw new CaptureError(`no packet #${index} in this capture`);
    const k = String(index);
    const next = [...(this.notes[k] ?? []).filter((a) => a.source !== source), ...list];
    if (next.length) this.notes[k] = next;
    else delete this.notes[k];
    await this.save();
  }

  private async save(): Promise<void> {
    if (this.fileName) await writeNotes(this.fileName, this.notes, this.dir);
  }
}
