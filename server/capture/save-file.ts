// A capture saved to disk as it streams: annotated pcapng (pcapng-writer.ts) through one write stream,
// with writes coalesced (one fs write per packet would go through the libuv pool at packet rate) and a
// size limit, and every byte charged to the folder's quota (store.ts). A write error, the limit or the
// quota is reported once; later packets are dropped.
import type { WriteStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { PacketAnnotation } from '../protocol/capture';
import { PcapngWriter, type WriterPacket } from './pcapng-writer';
import { chargeQuota } from './store';

const MAX_FILE_BYTES = Number(process.env.PJ_CAPTURE_MAX_BYTES ?? 512 * 1024 * 1024);
const FLUSH_BYTES = 256 * 1024;
const FLUSH_MS = 100;

export class SaveFile {
  private out: WriteStream | undefined;
  private readonly writer: PcapngWriter;
  private bytes = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private failed = false;
  private failedWhy: string | undefined;

  /** Writes to `file` (created by store.ts, never over an existing one); `onError` hears, once, why it stopped. */
  constructor(
    file: FileHandle,
    label: string,
    private readonly onError: (why: string) => void,
    dir: string,
  ) {
    const out = file.createWriteStream();
    out.on('error', (e) => {
      this.out = undefined;
      this.fail(`cannot write ${label}: ${e.message}`);
    });
    this.out = out;
    this.writer = new PcapngWriter((b) => {
      const over = chargeQuota(dir, b.length);
      if (over) return this.fail(over);
      this.bytes += b.length;
      this.pending.push(b);
      this.pendingBytes += b.length;
      if (this.pendingBytes >= FLUSH_BYTES) this.flush();
      else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
    });
  }

  /** See PcapngWriter.iface. */
  iface(netns: string, ifname: string, linktype: number, description?: string): number {
    return this.writer.iface(netns, ifname, linktype, 262144, description);
  }

  packet(ifaceId: number, p: WriterPacket, annotations: readonly PacketAnnotation[]): void {
    if (this.failed || !this.out) return;
    if (this.bytes > MAX_FILE_BYTES)
      return this.fail(`file size limit reached (${MAX_FILE_BYTES} bytes, PJ_CAPTURE_MAX_BYTES)`);
    this.writer.packet(ifaceId, p, annotations);
  }

  /** Flushes and closes; resolves once the data is on disk. */
  close(): Promise<void> {
    this.flush();
    const out = this.out;
    this.out = undefined;
    if (!out) return Promise.resolve();
    return new Promise((r) => out.end(r));
  }

  /** Why saving stopped early, if it did. */
  get failure(): string | undefined {
    return this.failedWhy;
  }

  private fail(why: string): void {
    if (this.failed) return;
    this.failed = true;
    this.failedWhy = why;
    this.onError(why);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.pending.length) return;
    const chunk = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.out?.write(chunk);
  }
}
