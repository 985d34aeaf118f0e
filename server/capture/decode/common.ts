// What every protocol file shares: the recursion bound, the hand-off record between IP and the transports,
// and the two tails of a chain (opaque payload, Ethernet padding).
import type { Ctx, LayerBuilder } from './ctx';
import { hex, hex16, ipv4, ipv6 } from './ctx';
import { ETHERTYPES } from './names';

/** Tunnels nest; bound the recursion so a crafted frame cannot blow the stack. */
export const MAX_DEPTH = 8;

export const etherName = (t: number): string => `${ETHERTYPES[t] ?? 'Unknown'} (${hex16(t)})`;

/** What IP hands to the transport decoders. */
export interface IpInfo {
  readonly src: string;
  readonly dst: string;
  readonly depth: number;
  readonly v6: boolean;
  /** Where the datagram ends on the wire (past the captured bytes when the snaplen cut it). */
  readonly wireEnd: number;
}

/** What a length field of 0 on an offloaded super-packet means; said in the field and the summary. */
export const LENGTH_FROM_CAPTURE = 'length from capture (TSO/BIG TCP)';

/** tcpdump's `addr.port`. */
export const ep = (addr: string, port: number): string => `${addr}.${port}`;

/** The source and destination ports that open TCP and UDP headers. */
export function portFields(L: LayerBuilder, off: number): { readonly sport: number; readonly dport: number } {
  // Both or neither, as tshark shows them.
  L.need(off, 4, 'Source Port');
  const sport = L.u16(off, 'Source Port');
  L.f('Source Port', off, 2, sport);
  const dport = L.u16(off + 2, 'Destination Port');
  L.f('Destination Port', off + 2, 2, dport);
  return { sport, dport };
}

/** The address pair of an IP header at `off`; appends it to the layer's title as Wireshark does. */
export function ipAddresses(
  ctx: Ctx,
  L: LayerBuilder,
  off: number,
  len: 4 | 16,
): { readonly src: string; readonly dst: string } {
  // One at a time: a frame cut between them keeps the source.
  const text = len === 4 ? ipv4 : ipv6;
  L.need(off, len, 'Source Address');
  const src = text(ctx.buf, off);
  L.f('Source Address', off, len, src);
  L.need(off + len, len, 'Destination Address');
  const dst = text(ctx.buf, off + len);
  L.f('Destination Address', off + len, len, dst);
  L.title = `${L.title}, Src: ${src}, Dst: ${dst}`;
  return { src, dst };
}

export function payload(ctx: Ctx, off: number, end: number): void {
  const e = Math.min(end, ctx.buf.length);
  if (e <= off) return;
  const L = ctx.layer('payload', `Data (${e - off} bytes)`, off);
  // The hex view shows every byte; the field shows a prefix (this runs for every packet).
  L.f('Data', off, e - off, hex(ctx.buf, off, Math.min(e, off + 16)) + (e - off > 16 ? '…' : ''));
}

/** Ethernet padding after the IP datagram (short frames are padded to 60 bytes). */
export function trailer(ctx: Ctx, from: number): void {
  const last = ctx.layers[ctx.layers.length - 1];
  if (from < ctx.buf.length && from >= 0 && last && ctx.layers[0]?.proto === 'eth') {
    const eth = ctx.layers[0];
    // Attach to the outer Ethernet layer only when this datagram is the frame's last one.
    if (!ctx.layers.some((l) => l.end > from)) {
      eth.fields.push({ name: 'Padding', value: hex(ctx.buf, from, ctx.buf.length), start: from, end: ctx.buf.length });
      eth.end = Math.max(eth.end, ctx.buf.length);
    }
  }
}
