// The headers that sit between a link layer and what it carries: MPLS label stacks, NSH (RFC 8300) and
// MACsec's SecTAG (IEEE 802.1AE). Each hands its inner frame back to the dispatch when it is readable.
import type { Ctx } from './ctx';
import { hex, hex8 } from './ctx';
import { etherName, MAX_DEPTH, payload } from './common';
import { ethernet, network } from './link';

const MAX_LABELS = 16;

export function mpls(ctx: Ctx, off: number, depth: number): void {
  const L = ctx.layer('mpls', 'MultiProtocol Label Switching Header', off);
  let p = off;
  const labels: string[] = [];
  for (let n = 0; n < MAX_LABELS; n++) {
    const w = L.u32(p, 'MPLS Label');
    const label = w >>> 12;
    const tc = (w >>> 9) & 7;
    const bos = (w >>> 8) & 1;
    const ttl = w & 0xff;
    const g = L.group('MPLS Label', p, 4, `${label}`);
    L.f('Label', p, 3, label, g.children);
    L.f('Traffic Class', p + 2, 1, tc, g.children);
    L.f('Bottom of Stack', p + 2, 1, bos, g.children);
    L.f('Time to Live', p + 3, 1, ttl, g.children);
    labels.push(`(label ${label}, tc ${tc}${bos ? ', [S]' : ''}, ttl ${ttl})`);
    p += 4;
    if (bos) break;
  }
  L.title = `MultiProtocol Label Switching Header, Label: ${labels.length > 1 ? `${labels.length} labels` : (labels[0] ?? '')}`;
  ctx.say(`MPLS ${labels.join(', ')} `);
  if (depth >= MAX_DEPTH) return payload(ctx, p, ctx.buf.length);
  // No next-protocol field: the first nibble tells IPv4 and IPv6; 0 is a pseudowire control word
  // before an Ethernet frame (RFC 4385), as tshark's default guesses.
  const nib = L.u8(p, 'Payload') >> 4;
  if (nib === 4) return network(ctx, 0x0800, p, depth + 1);
  if (nib === 6) return network(ctx, 0x86dd, p, depth + 1);
  if (nib === 0 && p + 4 + 14 <= ctx.buf.length) {
    const C = ctx.layer('mpls', 'PW Ethernet Control Word', p);
    C.f('Sequence Number', p + 2, 2, C.u16(p + 2, 'Sequence Number'));
    return ethernet(ctx, p + 4, depth + 1, ctx.buf.length - p - 4);
  }
  payload(ctx, p, ctx.buf.length);
}

const NSH_NEXT: Readonly<Record<number, [string, number]>> = {
  1: ['IPv4', 0x0800],
  2: ['IPv6', 0x86dd],
  3: ['Ethernet', 0x6558],
  4: ['NSH', 0x894f],
  5: ['MPLS', 0x8847],
};

/** Next Protocol values shared by NSH and VXLAN-GPE (both IANA "NSH Next Protocol"). */
export function nextProtocol(ctx: Ctx, np: number, off: number, end: number, depth: number): void {
  const e = NSH_NEXT[np];
  if (!e || depth >= MAX_DEPTH) return payload(ctx, off, end);
  if (e[1] === 0x6558) return ethernet(ctx, off, depth + 1, end - off);
  network(ctx, e[1], off, depth + 1);
}
export const nextProtocolName = (np: number): string => `${NSH_NEXT[np]?.[0] ?? 'Unknown'} (${hex8(np)})`;

export function nsh(ctx: Ctx, off: number, end: number, depth: number): void {
  const L = ctx.layer('nsh', 'Network Service Header', off);
  const w = L.u16(off, 'Version');
  const ver = w >> 14;
  const ttl = (w >> 6) & 0x3f;
  const len = (w & 0x3f) * 4;
  L.f('Version', off, 1, ver);
  L.f('O Bit', off, 1, (w >> 13) & 1 ? 'Set' : 'Not set');
  L.f('TTL', off, 2, ttl);
  L.f('Length', off + 1, 1, `${len} bytes (${len / 4})`);
  const md = L.u8(off + 2, 'MD Type') & 0x0f;
  L.f('MD Type', off + 2, 1, md);
  const np = L.u8(off + 3, 'Next Protocol');
  L.f('Next Protocol', off + 3, 1, nextProtocolName(np));
  const sp = L.u32(off + 4, 'Service Path Identifier');
  const spi = sp >>> 8;
  const si = sp & 0xff;
  L.f('Service Path Identifier', off + 4, 3, spi);
  L.f('Service Index', off + 7, 1, si);
  if (len < 8) L.bad('Length', off + 1, `NSH length ${len} is below the base and service path headers (8)`);
  L.need(off, len, 'Context Headers');
  if (len > 8) L.f('Context Headers', off + 8, len - 8, hex(ctx.buf, off + 8, off + len));
  L.title = `Network Service Header, SPI: ${spi}, SI: ${si}`;
  ctx.say(
    `NSH, ver ${ver}, ttl ${ttl}, length ${len / 4}, md type ${md}, next-protocol ${hex8(np)}, service-path-id ${spi}, service-index ${si}: `,
  );
  nextProtocol(ctx, np, off + len, end, depth);
}

const ICV_LEN = 16;

export function macsec(ctx: Ctx, off: number, depth: number): void {
  const L = ctx.layer('macsec', '802.1AE Security tag', off);
  const tci = L.u8(off, 'TCI/AN');
  const sc = (tci >> 5) & 1;
  const e = (tci >> 3) & 1;
  const c = (tci >> 2) & 1;
  const an = tci & 3;
  const g = L.group('TCI/AN', off, 1, hex8(tci));
  L.f('Version', off, 1, tci >> 7, g.children);
  L.f('End Station (ES)', off, 1, (tci >> 6) & 1, g.children);
  L.f('SCI Present (SC)', off, 1, sc, g.children);
  L.f('Single Copy Broadcast (SCB)', off, 1, (tci >> 4) & 1, g.children);
  L.f('Encryption (E)', off, 1, e, g.children);
  L.f('Changed Text (C)', off, 1, c, g.children);
  L.f('Association Number (AN)', off, 1, an, g.children);
  const sl = L.u8(off + 1, 'Short Length') & 0x3f;
  L.f('Short Length', off + 1, 1, sl);
  const pn = L.u32(off + 2, 'Packet Number');
  L.f('Packet Number', off + 2, 4, pn);
  let p = off + 6;
  if (sc) {
    L.need(p, 8, 'System Identifier');
    L.f('System Identifier', p, 6, hex(ctx.buf, p, p + 6));
    L.f('Port Identifier', p + 6, 2, L.u16(p + 6, 'Port Identifier'));
    p += 8;
  }
  // The secure data runs up to the 16-byte ICV at the end, or is SL bytes long in a short frame.
  const icvAt = sl ? p + sl : ctx.buf.length - ICV_LEN;
  if (icvAt < p) L.bad('ICV', p, `MACsec frame has no room for its ${ICV_LEN}-byte ICV`);
  L.title = `802.1AE Security tag, AN: ${an}, PN: ${pn}`;
  if (icvAt + ICV_LEN <= ctx.buf.length) {
    // The ICV belongs to this layer, so it is not shown as Ethernet padding after the inner datagram.
    L.f('ICV', icvAt, ICV_LEN, hex(ctx.buf, icvAt, icvAt + ICV_LEN));
  }
  const s = `MACsec, an ${an}, pn ${pn}${sc ? `, sci ${hex(ctx.buf, off + 6, off + 14)}` : ''}`;
  if (e || c || depth >= MAX_DEPTH) {
    ctx.say(`${s}, encrypted, length ${icvAt - p}`);
    return payload(ctx, p, icvAt);
  }
  // Integrity only: the protected data is the original ethertype and payload, in the clear.
  const type = L.u16(p, 'Type');
  L.f('Type', p, 2, etherName(type));
  ctx.say(`${s}, ethertype ${etherName(type)}: `);
  network(ctx, type, p + 2, depth + 1);
}
