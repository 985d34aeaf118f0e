// ICMP (with the quoted datagram of errors) and ICMPv6 (with neighbour discovery options).
import type { Ctx, MutableField } from './ctx';
import { hex, hex16, ipv4, ipv6, mac } from './ctx';
import type { IpInfo } from './common';
import { payload } from './common';
import { ICMP6_TYPES, ICMP_TYPES, ICMP_UNREACH, IP_PROTOCOLS } from './names';

export function icmp(ctx: Ctx, off: number, end: number, ip: IpInfo): void {
  const L = ctx.layer('icmp', 'Internet Control Message Protocol', off);
  const type = L.u8(off, 'Type');
  const code = L.u8(off + 1, 'Code');
  const tname = ICMP_TYPES[type] ?? `type-#${type}`;
  L.f('Type', off, 1, `${type} (${tname})`);
  L.f('Code', off + 1, 1, type === 3 ? `${code} (${ICMP_UNREACH[code] ?? 'unknown'})` : code);
  L.f('Checksum', off + 2, 2, hex16(L.u16(off + 2, 'Checksum')));
  const len = end - off;
  let s = `${ip.src} > ${ip.dst}: ICMP ${tname}`;
  ctx.partial = `${s}, `;
  if (type === 0 || type === 8 || type === 13 || type === 14) {
    const id = L.u16(off + 4, 'Identifier');
    const seq = L.u16(off + 6, 'Sequence Number');
    L.f('Identifier', off + 4, 2, `${id} (${hex16(id)})`);
    L.f('Sequence Number', off + 6, 2, seq);
    s += `, id ${id}, seq ${seq}, length ${len}`;
    payload(ctx, off + 8, end);
  } else if (type === 3 || type === 11 || type === 12 || type === 5 || type === 4) {
    L.f(
      type === 5 ? 'Gateway' : 'Unused',
      off + 4,
      4,
      type === 5 ? ipv4(ctx.buf, off + 4) : hex(ctx.buf, off + 4, off + 8),
    );
    // The offending datagram: header + 8 bytes, enough to name the flow.
    const q = off + 8;
    const qb = ctx.buf[q] ?? 0;
    const ihl = (qb & 15) * 4;
    // Only an IPv4 header is dissected as one (a corrupted type would otherwise quote garbage); a quote
    // cut short keeps the fields it holds.
    if (end - q >= 10 && qb >> 4 === 4 && ihl >= 20) {
      const whole = end - q >= 20;
      const g = L.group(
        'Original datagram',
        q,
        end - q,
        whole ? `${ipv4(ctx.buf, q + 12)} > ${ipv4(ctx.buf, q + 16)}` : 'cut short',
      );
      const kids = g.children as MutableField[];
      const p = L.u8(q + 9, 'Original protocol');
      L.f('Protocol', q + 9, 1, `${IP_PROTOCOLS[p] ?? 'Unknown'} (${p})`, kids);
      if (end - q >= 16) L.f('Source Address', q + 12, 4, ipv4(ctx.buf, q + 12), kids);
      if (whole) L.f('Destination Address', q + 16, 4, ipv4(ctx.buf, q + 16), kids);
      if ((p === 6 || p === 17) && end - q >= ihl + 4) {
        L.f('Source Port', q + ihl, 2, L.u16(q + ihl, 'Original source port'), kids);
        L.f('Destination Port', q + ihl + 2, 2, L.u16(q + ihl + 2, 'Original destination port'), kids);
        if (type === 3 && code === 3) {
          s = `${ip.src} > ${ip.dst}: ICMP ${ipv4(ctx.buf, q + 16)} ${p === 6 ? 'tcp' : 'udp'} port ${L.u16(q + ihl + 2, 'port')} unreachable`;
        }
      }
      if (!(type === 3 && code === 3)) s += ` (${ICMP_UNREACH[code] ?? `code ${code}`})`;
    }
    s += `, length ${len}`;
  } else {
    s += `, length ${len}`;
    payload(ctx, off + 4, end);
  }
  ctx.say(s);
}

export function icmp6(ctx: Ctx, off: number, end: number, ip: IpInfo): void {
  const L = ctx.layer('icmpv6', 'Internet Control Message Protocol v6', off);
  const type = L.u8(off, 'Type');
  const tname = ICMP6_TYPES[type] ?? `type ${type}`;
  L.f('Type', off, 1, `${type} (${tname})`);
  L.f('Code', off + 1, 1, L.u8(off + 1, 'Code'));
  L.f('Checksum', off + 2, 2, hex16(L.u16(off + 2, 'Checksum')));
  const len = end - off;
  let s = `${ip.src} > ${ip.dst}: ICMP6, ${tname}`;
  ctx.partial = `${s}, `;
  if (type === 128 || type === 129) {
    const id = L.u16(off + 4, 'Identifier');
    const seq = L.u16(off + 6, 'Sequence');
    L.f('Identifier', off + 4, 2, `${id} (${hex16(id)})`);
    L.f('Sequence', off + 6, 2, seq);
    s += `, id ${id}, seq ${seq}`;
    payload(ctx, off + 8, end);
  } else if (type === 135 || type === 136) {
    L.f(type === 136 ? 'Flags' : 'Reserved', off + 4, 4, hex(ctx.buf, off + 4, off + 8));
    L.need(off + 8, 16, 'Target Address');
    const tgt = ipv6(ctx.buf, off + 8);
    L.f('Target Address', off + 8, 16, tgt);
    s += type === 135 ? `, who has ${tgt}` : `, tgt is ${tgt}`;
    let p = off + 24;
    while (p + 2 <= end) {
      const ot = L.u8(p, 'Option type');
      const ol = L.u8(p + 1, 'Option length') * 8;
      if (ol === 0 || p + ol > end) L.bad('ND option', p + 1, `ND option length ${ol} is invalid`);
      const name = ot === 1 ? 'Source link-layer address' : ot === 2 ? 'Target link-layer address' : `ND option ${ot}`;
      L.f(name, p, ol, ol === 8 && (ot === 1 || ot === 2) ? mac(ctx.buf, p + 2) : hex(ctx.buf, p + 2, p + ol));
      p += ol;
    }
  } else if (end > off + 4) {
    L.f('Message body', off + 4, end - off - 4, `${end - off - 4} bytes`);
  }
  L.title = `Internet Control Message Protocol v6 (${tname})`;
  ctx.say(`${s}, length ${len}`);
}
