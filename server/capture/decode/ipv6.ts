// IPv6 and its extension headers (hop-by-hop and destination options with Cilium's DSR option, routing,
// fragment, AH, mobility, HIP, shim6).
import type { Ctx, LayerBuilder, MutableField } from './ctx';
import { hex, hex8 } from './ctx';
import { ipAddresses, LENGTH_FROM_CAPTURE, payload, trailer } from './common';
import { networkOrderDsr } from './dsr';
import { DSR, IP_PROTOCOLS, IPV6_TLV_OPTIONS } from './names';
import { transport } from './transport';

export function ipv6Layer(ctx: Ctx, off: number, depth: number): void {
  const L = ctx.layer('ipv6', 'Internet Protocol Version 6', off);
  const w = L.u32(off, 'Version');
  const version = w >>> 28;
  L.f('Version', off, 1, version);
  if (version !== 6) L.bad('Version', off, `IPv6 version field is ${version}, not 6`);
  L.f('Traffic Class', off, 2, hex8((w >>> 20) & 0xff));
  L.f('Flow Label', off + 1, 3, `0x${(w & 0xfffff).toString(16).padStart(5, '0')}`);
  const plen = L.u16(off + 4, 'Payload Length');
  const pl = L.f('Payload Length', off + 4, 2, plen);
  let nh = L.u8(off + 6, 'Next Header');
  L.f('Next Header', off + 6, 1, `${IP_PROTOCOLS[nh] ?? 'Unknown'} (${nh})`);
  L.f('Hop Limit', off + 7, 1, L.u8(off + 7, 'Hop Limit'));
  const { src, dst } = ipAddresses(ctx, L, off + 8, 16);
  ctx.partial = `${src} > ${dst}: `;
  // Payload length 0: a jumbogram (RFC 2675) or an IPv6 BIG TCP super-packet, which Linux captures with a
  // Hop-by-Hop Jumbo option (or, on newer kernels, without). Either way the length is the frame's.
  let wireEnd = off + 40 + plen;
  if (plen === 0 && nh !== 59) {
    wireEnd = Math.max(off + 40, ctx.wireLen);
    pl.value = `0 (${LENGTH_FROM_CAPTURE}: ${wireEnd - off - 40})`;
    ctx.note(LENGTH_FROM_CAPTURE);
  }
  const end = Math.min(wireEnd, ctx.buf.length);
  let p = off + 40;
  for (let n = 0; n < 16; n++) {
    if (nh === 0 || nh === 60 || nh === 43 || nh === 44 || nh === 51 || nh === 135 || nh === 139 || nh === 140) {
      const r = ipv6Ext(ctx, nh, p);
      if (r.stop) {
        ctx.say(`${src} > ${dst}: ${r.stop}`);
        payload(ctx, r.next, end);
        trailer(ctx, off + 40 + plen);
        return;
      }
      nh = r.nh;
      p = r.next;
      continue;
    }
    break;
  }
  if (nh === 59) {
    ctx.say(`${src} > ${dst}: no next header`);
  } else if (nh === 50) {
    ctx.say(`${src} > ${dst}: ESP, length ${end - p}`);
    payload(ctx, p, end);
  } else {
    transport(ctx, nh, p, end, { src, dst, depth, v6: true, wireEnd });
  }
  if (plen !== 0) trailer(ctx, off + 40 + plen);
}

function ipv6Ext(ctx: Ctx, type: number, off: number): { nh: number; next: number; stop?: string } {
  const name = IP_PROTOCOLS[type] ?? `Extension ${type}`;
  const L = ctx.layer('ipv6-ext', name, off);
  const nh = L.u8(off, 'Next Header');
  L.f('Next Header', off, 1, `${IP_PROTOCOLS[nh] ?? 'Unknown'} (${nh})`);
  if (type === 44) {
    L.f('Reserved', off + 1, 1, L.u8(off + 1, 'Reserved'));
    const fo = L.u16(off + 2, 'Offset');
    L.f('Offset', off + 2, 2, (fo >> 3) * 8);
    L.f('More Fragments', off + 3, 1, fo & 1 ? 'Yes' : 'No');
    L.f('Identification', off + 4, 4, hex(ctx.buf, off + 4, off + 8));
    if (fo >> 3 !== 0) return { nh, next: off + 8, stop: `frag (${(fo >> 3) * 8}|${fo & 1 ? 'more' : 'last'})` };
    return { nh, next: off + 8 };
  }
  const hlen = L.u8(off + 1, 'Length');
  const len = type === 51 ? (hlen + 2) * 4 : (hlen + 1) * 8;
  L.f('Length', off + 1, 1, `${hlen} (${len} bytes)`);
  L.need(off, len, name);
  if (type === 0 || type === 60) {
    // The extension header's length bounds its options: a bad one is marked and the decode goes on.
    ctx.stepOver(() => tlvOptions(ctx, L, off + 2, off + len, type === 60));
  } else if (type === 43) {
    L.f('Type', off + 2, 1, L.u8(off + 2, 'Type'));
    L.f('Segments Left', off + 3, 1, L.u8(off + 3, 'Segments Left'));
    if (len > 4) L.f('Data', off + 4, len - 4, hex(ctx.buf, off + 4, off + len));
  } else if (len > 2) {
    L.f('Data', off + 2, len - 2, hex(ctx.buf, off + 2, off + len));
  }
  return { nh, next: off + len };
}

function tlvOptions(ctx: Ctx, L: LayerBuilder, start: number, end: number, isDest: boolean): void {
  let p = start;
  while (p < end) {
    const t = L.u8(p, 'Option Type');
    const name = IPV6_TLV_OPTIONS[t] ?? `Unknown option ${hex8(t)}`;
    if (t === 0) {
      L.f(name, p, 1, '');
      p += 1;
      continue;
    }
    const olen = L.u8(p + 1, 'Option Length');
    if (p + 2 + olen > end) L.bad(name, p + 1, `IPv6 option ${hex8(t)} length ${olen} runs past its header`);
    const g = L.group(name, p, 2 + olen, `(${olen} bytes of data)`);
    const kids = g.children as MutableField[];
    const actions = ['skip', 'discard', 'discard + ICMP', 'discard + ICMP if not multicast'];
    L.f(
      'Type',
      p,
      1,
      `${hex8(t)} (unknown action: ${actions[t >> 6]}, may change en route: ${(t >> 5) & 1 ? 'yes' : 'no'})`,
      kids,
    );
    L.f('Length', p + 1, 1, olen, kids);
    const d = p + 2;
    if (t === DSR.IPV6_OPT_TYPE && isDest && olen >= 18) {
      networkOrderDsr(ctx, L, g, { encoding: 'ipv6-destopt', optStart: p, d, dEnd: d + olen }, 16);
    } else if (t === 0xc2 && olen === 4) {
      L.f('Jumbo Payload Length', d, 4, L.u32(d, 'Jumbo Payload Length'), kids);
    } else if (t === 0x05 && olen === 2) {
      L.f('Router Alert', d, 2, L.u16(d, 'Router Alert'), kids);
    } else if (t === 0x04 && olen === 1) {
      L.f('Tunnel Encapsulation Limit', d, 1, L.u8(d, 'Tunnel Encapsulation Limit'), kids);
    } else if (olen > 0) {
      L.f(t === 1 ? 'Padding' : 'Data', d, olen, hex(ctx.buf, d, d + olen), kids);
    }
    p = d + olen;
  }
}
