// The annotated pcapng this project writes: one SHB, one IDB per (netns, ifname) named `<ifname>@<netns>`,
// and EPBs whose opt_comment options carry the DSR decode, tracer hops and the user's notes.
import type { PacketAnnotation } from '../protocol/capture';

const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;

function option(code: number, value: Buffer): Buffer {
  const pad = (4 - (value.length % 4)) % 4;
  const b = Buffer.alloc(4 + value.length + pad);
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(value.length, 2);
  value.copy(b, 4);
  return b;
}

function endOfOptions(): Buffer {
  return Buffer.alloc(4); // opt_endofopt: code 0, length 0
}

function block(type: number, body: Buffer): Buffer {
  const total = 12 + body.length;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  body.copy(b, 8);
  b.writeUInt32LE(total, total - 4);
  return b;
}

/** opt_comment strings are limited by the 16-bit option length. */
const MAX_COMMENT = 60000;

export function annotationText(a: PacketAnnotation): string {
  return `${a.source}: ${a.text}`.slice(0, MAX_COMMENT);
}

export interface WriterPacket {
  readonly data: Uint8Array;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly len: number;
}

export class PcapngWriter {
  private readonly ifaces = new Map<string, number>();

  /** `sink` receives each block as it is produced, so a capture streams to disk. */
  constructor(private readonly sink: (b: Buffer) => void) {
    const shbBody = Buffer.concat([
      Buffer.from([0x4d, 0x3c, 0x2b, 0x1a]), // byte-order magic 0x1A2B3C4D, little-endian
      Buffer.from([1, 0, 0, 0]), // version 1.0
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // section length unknown (-1)
      option(SHB_USERAPPL, Buffer.from('packet-journey')),
      endOfOptions(),
    ]);
    this.sink(block(0x0a0d0d0a, shbBody));
  }

  /** Interface id for (netns, ifname, link type); the IDB is written the first time one is seen. */
  iface(netns: string, ifname: string, linktype: number, snaplen = 262144, description?: string): number {
    const key = `${ifname}@${netns}`;
    const have = this.ifaces.get(`${key}/${linktype}`);
    if (have !== undefined) return have;
    const head = Buffer.alloc(8);
    head.writeUInt16LE(linktype, 0);
    head.writeUInt32LE(snaplen, 4);
    const opts = [option(IF_NAME, Buffer.from(key)), option(IF_TSRESOL, Buffer.from([9]))];
    if (description) opts.push(option(IF_DESCRIPTION, Buffer.from(description)));
    this.sink(block(1, Buffer.concat([head, ...opts, endOfOptions()])));
    const id = this.ifaces.size;
    this.ifaces.set(`${key}/${linktype}`, id);
    return id;
  }

  packet(ifaceId: number, p: WriterPacket, annotations: readonly PacketAnnotation[] = []): void {
    this.packetWithComments(ifaceId, p, annotations.map(annotationText));
  }

  /** Raw opt_comment strings (e.g. copied from a file being re-exported). One allocation per packet: this runs at packet rate. */
  packetWithComments(ifaceId: number, p: WriterPacket, comments: readonly string[]): void {
    const dataLen = p.data.length;
    const dataPad = (dataLen + 3) & ~3;
    const opts = comments.map((c) => Buffer.from(c.slice(0, MAX_COMMENT)));
    const optLen = opts.length ? opts.reduce((n, o) => n + 4 + ((o.length + 3) & ~3), 0) + 4 : 0;
    const total = 12 + 20 + dataPad + optLen;
    const b = Buffer.alloc(total);
    const ts = BigInt(p.tsSec) * 1_000_000_000n + BigInt(p.tsNsec);
    b.writeUInt32LE(6, 0);
    b.writeUInt32LE(total, 4);
    b.writeUInt32LE(ifaceId, 8);
    b.writeUInt32LE(Number(ts >> 32n), 12);
    b.writeUInt32LE(Number(ts & 0xffffffffn), 16);
    b.writeUInt32LE(dataLen, 20);
    b.writeUInt32LE(p.len, 24);
    b.set(p.data, 28);
    let o = 28 + dataPad;
    for (const c of opts) {
      b.writeUInt16LE(OPT_COMMENT, o);
      b.writeUInt16LE(c.length, o + 2);
      c.copy(b, o + 4);
      o += 4 + ((c.length + 3) & ~3);
    }
    // opt_endofopt is the zeroed 4 bytes already there; then the trailing length.
    b.writeUInt32LE(total, total - 4);
    this.sink(b);
  }
}

/** An if_name as this project writes it, `<ifname>@<netns>`, split back; any other name is from "file". */
export function splitIfName(name: string): { readonly netns: string; readonly ifname: string } {
  const at = name.lastIndexOf('@');
  return at > 0 ? { netns: name.slice(at + 1), ifname: name.slice(0, at) } : { netns: 'file', ifname: name };
}

/** Whole-file convenience: collects the blocks into one Buffer. */
export function writePcapng(fill: (w: PcapngWriter) => void): Buffer {
  const out: Buffer[] = [];
  const w = new PcapngWriter((b) => out.push(b));
  fill(w);
  return Buffer.concat(out);
}
