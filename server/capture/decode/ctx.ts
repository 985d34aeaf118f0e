// Bounds-checked reads and the field/layer builders the decoders share. A read past the end throws
// Truncated, which decodeFrame turns into `malformed` (the public API never throws).
import type { DsrInfo, LayerProto, PacketLayer } from '../../protocol/capture';

export class Truncated extends Error {
  constructor(
    readonly layer: string,
    readonly field: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export interface MutableField {
  name: string;
  value: string;
  start: number;
  end: number;
  children?: MutableField[];
}

export class LayerBuilder {
  readonly fields: MutableField[] = [];
  end: number;
  constructor(
    readonly ctx: Ctx,
    readonly proto: LayerProto,
    public title: string,
    readonly start: number,
  ) {
    this.end = start;
  }

  /** Adds a field covering [start, start+len); checks the bytes exist first. */
  f(name: string, start: number, len: number, value: string | number, into?: MutableField[]): MutableField {
    this.need(start, len, name);
    if (this.ctx.light) {
      // Rows only need the summary and DSR: skip building the tree (it is rebuilt on click).
      if (start + len > this.end) this.end = start + len;
      return { name, value: '', start, end: start + len };
    }
    const fld: MutableField = { name, value: String(value), start, end: start + len };
    (into ?? this.fields).push(fld);
    if (start + len > this.end) this.end = start + len;
    return fld;
  }

  /** A parent field whose children are filled in by the caller. */
  group(name: string, start: number, len: number, value: string, into?: MutableField[]): MutableField {
    const g = this.f(name, start, len, value, into);
    g.children = [];
    return g;
  }

  need(off: number, len: number, field: string): void {
    if (off < 0 || len < 0 || off + len > this.ctx.buf.length) {
      throw new Truncated(
        this.title,
        field,
        off,
        `truncated: ${field} needs ${len} byte(s) at offset ${off}, frame has ${this.ctx.buf.length}`,
      );
    }
  }

  bad(field: string, offset: number, reason: string): never {
    throw new Truncated(this.title, field, offset, reason);
  }

  u8(off: number, field: string): number {
    this.need(off, 1, field);
    return this.ctx.buf[off] as number;
  }
  u16(off: number, field: string): number {
    this.need(off, 2, field);
    const b = this.ctx.buf;
    return ((b[off] as number) << 8) | (b[off + 1] as number);
  }
  u16le(off: number, field: string): number {
    this.need(off, 2, field);
    const b = this.ctx.buf;
    return (b[off] as number) | ((b[off + 1] as number) << 8);
  }
  u24(off: number, field: string): number {
    this.need(off, 3, field);
    const b = this.ctx.buf;
    return ((b[off] as number) << 16) | ((b[off + 1] as number) << 8) | (b[off + 2] as number);
  }
  u32(off: number, field: string): number {
    this.need(off, 4, field);
    const b = this.ctx.buf;
    return (
      (((b[off] as number) << 24) >>> 0) +
      (((b[off + 1] as number) << 16) | ((b[off + 2] as number) << 8) | (b[off + 3] as number))
    );
  }
  u32le(off: number, field: string): number {
    this.need(off, 4, field);
    const b = this.ctx.buf;
    return (
      (((b[off + 3] as number) << 24) >>> 0) +
      (((b[off + 2] as number) << 16) | ((b[off + 1] as number) << 8) | (b[off] as number))
    );
  }

  build(): PacketLayer {
    return { proto: this.proto, title: this.title, start: this.start, end: this.end, fields: this.fields };
  }
}

export class Ctx {
  readonly layers: LayerBuilder[] = [];
  /** tcpdump-style summary pieces, joined at the end. */
  readonly summary: string[] = [];
  /**
   * What a layer has read of its own summary so far (addresses, ports), shown with tcpdump's `[|proto]`
   * if the frame turns out malformed before the layer says its whole line.
   */
  partial: string | null = null;
  /**
   * A bad field the decode could step over because its container's length is known (an IPv4 option
   * inside IHL, an IPv6 option inside its extension header): the frame is malformed, decoding goes on,
   * as tshark does.
   */
  stepped: Truncated | null = null;
  /** Notes appended to the summary after the last layer, e.g. an IP length taken from the capture. */
  readonly notes: string[] = [];
  dsr: DsrInfo | null = null;
  constructor(
    readonly buf: Uint8Array,
    /** Skip the field tree (live rows at packet rate); bounds checks and summaries still run. */
    readonly light = false,
    /** The frame's length on the wire (>= buf.length when the snaplen cut it). */
    readonly wireLen = buf.length,
  ) {}

  /** A finished summary piece; what the layer read partially is now said in full. */
  say(s: string): void {
    this.summary.push(s);
    this.partial = null;
  }

  /** Runs `fn`; a bad field inside it is recorded (the first one) instead of ending the decode. */
  stepOver(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof Truncated)) throw e;
      this.stepped ??= e;
      const L = this.layers.at(-1);
      if (L && !this.light)
        L.fields.push({
          name: 'Malformed',
          value: e.reason,
          start: Math.min(e.offset, this.buf.length),
          end: Math.min(e.offset + 1, this.buf.length),
        });
    }
  }

  note(s: string): void {
    if (!this.notes.includes(s)) this.notes.push(s);
  }

  layer(proto: LayerProto, title: string, start: number): LayerBuilder {
    const l = new LayerBuilder(this, proto, title, start);
    this.layers.push(l);
    return l;
  }
}

/** Byte -> two hex digits; a table because these run for every field of every packet. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function hex(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end && i < buf.length; i++) s += HEX[buf[i] as number];
  return s;
}

export const hex16 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;
export const hex8 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

export function mac(buf: Uint8Array, off: number): string {
  return `${HEX[buf[off] ?? 0]}:${HEX[buf[off + 1] ?? 0]}:${HEX[buf[off + 2] ?? 0]}:${HEX[buf[off + 3] ?? 0]}:${HEX[buf[off + 4] ?? 0]}:${HEX[buf[off + 5] ?? 0]}`;
}

export function ipv4(buf: Uint8Array, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** RFC 5952 text form: lower case, longest run of >= 2 zero groups compressed. */
export function ipv6(buf: Uint8Array, off: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((buf[off + 2 * i] as number) << 8) | (buf[off + 2 * i + 1] as number));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const parts = g.map((x) => x.toString(16));
  if (bestStart < 0) return parts.join(':');
  const head = parts.slice(0, bestStart).join(':');
  const tail = parts.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}
