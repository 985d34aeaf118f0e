// Cilium's DSR service address, in its three encodings: the IPv4 option 0x9a (stored little-endian on
// x86), and the network-order IPv6 Destination Option 0x1b and Geneve option 0x014b/0x81.
import type { DsrEncoding } from '../../protocol/capture';
import type { Ctx, LayerBuilder, MutableField } from './ctx';
import { hex, hex16, ipv4, ipv6 } from './ctx';
import { DSR } from './names';

interface DsrAt {
  readonly encoding: DsrEncoding;
  readonly byteOrder: 'little-endian' | 'network';
  /** The whole option, type and length included. */
  readonly option: readonly [number, number];
  readonly portAt: number;
  readonly addrAt: number;
  readonly addrLen: number;
}

/** The first DSR option of the frame wins: an inner (tunnelled) one does not replace it. */
function recordDsr(ctx: Ctx, addr: string, port: number, at: DsrAt): void {
  const { portAt, addrAt, addrLen } = at;
  ctx.dsr ??= {
    addr,
    port,
    encoding: at.encoding,
    byteOrder: at.byteOrder,
    option: at.option,
    portRange: [portAt, portAt + 2],
    addrRange: [addrAt, addrAt + addrLen],
    portHex: hex(ctx.buf, portAt, portAt + 2),
    addrHex: hex(ctx.buf, addrAt, addrAt + addrLen),
  };
}

/** IPv4 option 0x9a: the data of option `o` at [p, p+len), type and length already shown. */
export function ipv4DsrOption(ctx: Ctx, L: LayerBuilder, o: MutableField, p: number, len: number): void {
  const kids = o.children as MutableField[];
  const d = p + 2;
  const dEnd = p + len;
  if (len !== DSR.IPV4_OPT_LEN) {
    L.f('Data (unexpected length for Cilium DSR)', d, dEnd - d, hex(ctx.buf, d, dEnd), kids);
    return;
  }
  // Cilium htonl's values already in network order, so on x86 the bytes are little-endian.
  const port = L.u16le(d, 'DSR service port');
  const a = L.u32le(d + 2, 'DSR service address');
  const addr = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  L.f('Service port (little-endian)', d, 2, `${port} (bytes ${hex(ctx.buf, d, d + 2)} read as ${hex16(port)})`, kids);
  L.f(
    'Service address (little-endian)',
    d + 2,
    4,
    `${addr} (bytes ${hex(ctx.buf, d + 2, d + 6)} read as 0x${a.toString(16).padStart(8, '0')})`,
    kids,
  );
  o.value = `service ${addr}:${port}`;
  recordDsr(ctx, addr, port, {
    encoding: 'ipv4-option',
    byteOrder: 'little-endian',
    option: [p, dEnd],
    portAt: d,
    addrAt: d + 2,
    addrLen: 4,
  });
}

/**
 * The network-order encodings: address, port, then padding up to `dEnd`, as the children of option
 * group `g` whose type and length start at `optStart`.
 */
export function networkOrderDsr(
  ctx: Ctx,
  L: LayerBuilder,
  g: MutableField,
  at: { readonly encoding: DsrEncoding; readonly optStart: number; readonly d: number; readonly dEnd: number },
  addrLen: 4 | 16,
): void {
  const { d, dEnd } = at;
  const kids = g.children as MutableField[];
  const addr = addrLen === 16 ? ipv6(ctx.buf, d) : ipv4(ctx.buf, d);
  const port = L.u16(d + addrLen, 'DSR service port');
  L.f('Service address', d, addrLen, addr, kids);
  L.f('Service port (network order)', d + addrLen, 2, port, kids);
  const pad = d + addrLen + 2;
  if (dEnd > pad) L.f('Padding', pad, dEnd - pad, hex(ctx.buf, pad, dEnd), kids);
  g.value = addrLen === 16 ? `service [${addr}]:${port}` : `service ${addr}:${port}`;
  recordDsr(ctx, addr, port, {
    encoding: at.encoding,
    byteOrder: 'network',
    option: [at.optStart, dEnd],
    portAt: d + addrLen,
    addrAt: d,
    addrLen,
  });
}

/**
 * The service in raw IPv4 option bytes that start with Cilium's DSR option (the tracer reads the first
 * 8 option bytes in the kernel): port then address, little-endian as ipv4DsrOption reads them.
 */
export function ipv4DsrService(b: Uint8Array): { addr: string; port: number } | undefined {
  if (b.length < DSR.IPV4_OPT_LEN || b[0] !== DSR.IPV4_OPT_TYPE || b[1] !== DSR.IPV4_OPT_LEN) return undefined;
  const le = (i: number): number => b[i] ?? 0;
  return { addr: `${le(7)}.${le(6)}.${le(5)}.${le(4)}`, port: le(2) | (le(3) << 8) };
}
