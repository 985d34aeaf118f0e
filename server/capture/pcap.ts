// pcap (libpcap) and pcapng readers. The stream parser eats tcpdump's `-U -w -` output chunk by chunk;
// `readCaptureFile` sniffs the magic and reads either format from a buffer. Bad input is an error
// value, never an exception.

export interface CaptureRecord {
  readonly data: Uint8Array;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly len: number;
  /** Index into the file's interfaces (always 0 for pcap). */
  readonly iface: number;
  /** pcapng opt_comment values already on the packet. */
  readonly comments: readonly string[];
}

export interface CaptureIface {
  readonly linktype: number;
  readonly snaplen: number;
  readonly name: string | null;
}

export interface CaptureFile {
  readonly format: 'pcap' | 'pcapng';
  readonly interfaces: readonly CaptureIface[];
  readonly records: readonly CaptureRecord[];
  /** Set when the file ended mid-record or a block was malformed; the records before it are kept. */
  readonly warning: string | null;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const BOM = 0x1a2b3c4d;

export class CaptureFormatError extends Error {}

/** Incremental libpcap parser for a stream (tcpdump -w -). */
export class PcapStreamParser {
  private buf: Buffer = Buffer.alloc(0);
  private le = true;
  private nano = false;
  private headerDone = false;
  linktype = -1;
  snaplen = 0;
  error: string | null = null;
  /** Bytes of the stream consumed so far (for counters). */
  consumed = 0;

  constructor(private readonly onRecord: (r: CaptureRecord) => void) {}

  push(chunk: Buffer): void {
    if (this.error) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    if (!this.headerDone) {
      if (this.buf.length < 24) return;
      const m = this.buf.readUInt32LE(0);
      if (m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS) this.le = true;
      else if (this.buf.readUInt32BE(0) === PCAP_MAGIC_US || this.buf.readUInt32BE(0) === PCAP_MAGIC_NS)
        this.le = false;
      else {
        this.error = `not a pcap stream (magic 0x${m.toString(16)})`;
        return;
      }
      const magic = this.le ? m : this.buf.readUInt32BE(0);
      this.nano = magic === PCAP_MAGIC_NS;
      this.snaplen = this.le ? this.buf.readUInt32LE(16) : this.buf.readUInt32BE(16);
      this.linktype = (this.le ? this.buf.readUInt32LE(20) : this.buf.readUInt32BE(20)) & 0xffff;
      this.headerDone = true;
      off = 24;
    }
    const b = this.buf;
    while (b.length - off >= 16) {
      const sec = this.le ? b.readUInt32LE(off) : b.readUInt32BE(off);
      const frac = this.le ? b.readUInt32LE(off + 4) : b.readUInt32BE(off + 4);
      const incl = this.le ? b.readUInt32LE(off + 8) : b.readUInt32BE(off + 8);
      const orig = this.le ? b.readUInt32LE(off + 12) : b.readUInt32BE(off + 12);
      if (incl > 0x4000000) {
        this.error = `corrupt pcap record: captured length ${incl}`;
        return;
      }
      if (b.length - off - 16 < incl) break;
      // Copy: the chunk buffer is reused by later concats and we keep frames around.
      const data = new Uint8Array(b.subarray(off + 16, off + 16 + incl));
      this.onRecord({ data, tsSec: sec, tsNsec: this.nano ? frac : frac * 1000, len: orig, iface: 0, comments: [] });
      off += 16 + incl;
    }
    this.consumed += off;
    this.buf = off === b.length ? Buffer.alloc(0) : b.subarray(off);
  }

  /** Bytes left unparsed at end of stream (a truncated last record). */
  get pending(): number {
    return this.buf.length;
  }
}

export function readCaptureFile(buf: Buffer): CaptureFile {
  if (buf.length < 4) throw new CaptureFormatError('file too short to be pcap or pcapng');
  const m = buf.readUInt32LE(0);
  if (m === PCAPNG_SHB) return readPcapng(buf);
  if (
    m === PCAP_MAGIC_US ||
    m === PCAP_MAGIC_NS ||
    buf.readUInt32BE(0) === PCAP_MAGIC_US ||
    buf.readUInt32BE(0) === PCAP_MAGIC_NS
  ) {
    const records: CaptureRecord[] = [];
    const p = new PcapStreamParser((r) => records.push(r));
    p.push(buf);
    if (p.error) throw new CaptureFormatError(p.error);
    if (p.linktype < 0) throw new CaptureFormatError('pcap header truncated');
    return {
      format: 'pcap',
      interfaces: [{ linktype: p.linktype, snaplen: p.snaplen, name: null }],
      records,
      warning: p.pending ? `file ends mid-record (${p.pending} trailing bytes)` : null,
    };
  }
  throw new CaptureFormatError(`not a pcap or pcapng file (magic 0x${m.toString(16).padStart(8, '0')})`);
}

/**
 * `readCaptureFile` for a named file: a format error comes back as the caller's one-line error,
 * `<name>: <reason>` (a usage error in the CLI, a user error in the UI).
 */
export function readNamedCaptureFile(buf: Buffer, name: string, toError: (message: string) => Error): CaptureFile {
  try {
    return readCaptureFile(buf);
  } catch (e) {
    if (e instanceof CaptureFormatError) throw toError(`${name}: ${e.message}`);
    throw e;
  }
}

interface SectionIface extends CaptureIface {
  readonly tsDiv: bigint; // units per second
}

function readPcapng(buf: Buffer): CaptureFile {
  return new PcapngReader(buf).read();
}

/** Reads pcapng block by block. Each section header sets the byte order and starts a new interface list. */
class PcapngReader {
  private readonly interfaces: CaptureIface[] = [];
  private readonly records: CaptureRecord[] = [];
  /** The current section's interfaces (packet blocks index into these), and where they start in `interfaces`. */
  private section: SectionIface[] = [];
  private sectionBase = 0;
  private le = true;
  private warning: string | null = null;

  constructor(private readonly buf: Buffer) {}

  read(): CaptureFile {
    const buf = this.buf;
    let off = 0;
    while (off + 12 <= buf.length) {
      if (buf.readUInt32LE(off) === PCAPNG_SHB && !this.sectionHeader(off)) break;
      const type = this.u32(off);
      const total = this.u32(off + 4);
      if (total < 12 || total % 4 !== 0 || off + total > buf.length) {
        this.warning = `block at offset ${off} has bad length ${total}`;
        break;
      }
      const body = off + 8;
      const end = off + total - 4;
      if (type === 1) this.interfaceBlock(body, end);
      else if (type === 6 || type === 3 || type === 2) this.packetBlock(type, off, body, end);
      off += total;
    }
    if (!this.warning && off < buf.length) this.warning = `file ends mid-block (${buf.length - off} trailing bytes)`;
    return { format: 'pcapng', interfaces: this.interfaces, records: this.records, warning: this.warning };
  }

  private u32(o: number): number {
    return this.le ? this.buf.readUInt32LE(o) : this.buf.readUInt32BE(o);
  }

  private u16(o: number): number {
    return this.le ? this.buf.readUInt16LE(o) : this.buf.readUInt16BE(o);
  }

  /** The byte-order magic decides how the whole section reads; false (and a warning) if it is neither. */
  private sectionHeader(off: number): boolean {
    const bom = this.buf.readUInt32LE(off + 8);
    if (bom === BOM) this.le = true;
    else if (this.buf.readUInt32BE(off + 8) === BOM) this.le = false;
    else {
      this.warning = `bad byte-order magic at offset ${off}`;
      return false;
    }
    this.section = [];
    this.sectionBase = this.interfaces.length;
    return true;
  }

  /** IDB: link type, snaplen, and the if_name and if_tsresol options. */
  private interfaceBlock(body: number, end: number): void {
    const linktype = this.u16(body);
    const snaplen = this.u32(body + 4);
    let name: string | null = null;
    let tsDiv = 1_000_000n;
    for (const o of this.options(body + 8, end)) {
      if (o.code === 2) name = o.value.toString('utf8').replace(/\0+$/, '');
      if (o.code === 9 && o.value.length >= 1) {
        const r = o.value[0] as number;
        tsDiv = r & 0x80 ? 2n ** BigInt(r & 0x7f) : 10n ** BigInt(r & 0x7f);
      }
    }
    const i: SectionIface = { linktype, snaplen, name, tsDiv };
    this.section.push(i);
    this.interfaces.push({ linktype, snaplen, name });
  }

  /** EPB (6), SPB (3) and the obsolete PB (2); a bad one is skipped with a warning. */
  private packetBlock(type: 6 | 3 | 2, off: number, body: number, end: number): void {
    let ifIdx = 0;
    let ts = 0n;
    let caplen: number;
    let len: number;
    let dataOff: number;
    if (type === 3) {
      len = this.u32(body);
      caplen = Math.min(len, end - body - 4);
      dataOff = body + 4;
    } else {
      ifIdx = type === 6 ? this.u32(body) : this.u16(body);
      ts = (BigInt(this.u32(body + 4)) << 32n) | BigInt(this.u32(body + 8));
      caplen = this.u32(body + 12);
      len = this.u32(body + 16);
      dataOff = body + 20;
    }
    const iface = this.section[ifIdx];
    if (!iface || dataOff + caplen > end) {
      this.warning = `packet block at offset ${off} refers to a missing interface or overruns its block`;
      return;
    }
    const comments: string[] = [];
    if (type !== 3)
      for (const o of this.options(dataOff + ((caplen + 3) & ~3), end))
        if (o.code === 1) comments.push(o.value.toString('utf8'));
    const sec = ts / iface.tsDiv;
    const nsec = ((ts % iface.tsDiv) * 1_000_000_000n) / iface.tsDiv;
    this.records.push({
      data: new Uint8Array(this.buf.subarray(dataOff, dataOff + caplen)),
      tsSec: Number(sec),
      tsNsec: Number(nsec),
      len,
      iface: this.sectionBase + ifIdx,
      comments,
    });
  }

  private options(start: number, end: number): { code: number; value: Buffer }[] {
    const out: { code: number; value: Buffer }[] = [];
    let p = start;
    while (p + 4 <= end) {
      const code = this.u16(p);
      const len = this.u16(p + 2);
      if (code === 0) break;
      if (p + 4 + len > end) break;
      out.push({ code, value: this.buf.subarray(p + 4, p + 4 + len) });
      p += 4 + ((len + 3) & ~3);
    }
    return out;
  }
}

/** A classic little-endian microsecond pcap (crafted fixtures, the bench, uploads in tests). */
export function writePcap(
  linktype: number,
  frames: readonly { data: Uint8Array; tsSec: number; tsNsec: number; len?: number }[],
): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(PCAP_MAGIC_US, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(linktype, 20);
  const parts: Buffer[] = [head];
  for (const f of frames) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(f.tsSec, 0);
    h.writeUInt32LE(Math.floor(f.tsNsec / 1000), 4);
    h.writeUInt32LE(f.data.length, 8);
    h.writeUInt32LE(f.len ?? f.data.length, 12);
    parts.push(h, Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength));
  }
  return Buffer.concat(parts);
}
