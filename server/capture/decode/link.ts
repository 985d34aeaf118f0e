// Link layers (Ethernet with 802.1Q tags, Linux cooked captures, raw IP), the ethertype dispatch, and ARP.
// Each decoder adds one layer with byte-ranged fields and a piece of the tcpdump-style summary, then hands
// the rest to the next protocol. The protocol files import each other in a cycle because tunnels recurse
// (VXLAN and Geneve carry Ethernet, which carries IP, which carries UDP, ...); nothing runs at import time.
import type { Ctx } from './ctx';
import { hex, hex16, ipv4, mac } from './ctx';
import { etherName, MAX_DEPTH, payload, trailer } from './common';
import { ipv4Layer } from './ipv4';
import { ipv6Layer } from './ipv6';
import { ARP_OPS, SLL_PKTTYPES } from './names';

export function ethernet(ctx: Ctx, off: number, depth: number, wireLen: number): void {
  const L = ctx.layer('eth', 'Ethernet II', off);
  L.need(off, 6, 'Destination');
  const dst = mac(ctx.buf, off);
  L.f('Destination', off, 6, dst);
  L.need(off + 6, 6, 'Source');
  const src = mac(ctx.buf, off + 6);
  L.f('Source', off + 6, 6, src);
  let type = L.u16(off + 12, 'Type');
  let p = off + 12;
  let head = `${src} > ${dst}, `;
  if (type < 0x0600) {
    L.f('Length', p, 2, type);
    ctx.summary.push(`${head}802.3, length ${wireLen}`);
    payload(ctx, p + 2, ctx.buf.length);
    return;
  }
  L.f('Type', p, 2, etherName(type));
  p += 2;
  L.title = `Ethernet II, Src: ${src}, Dst: ${dst}`;
  // 802.1Q / QinQ tags: each 4 bytes (TCI, then the next ethertype).
  let tags = 0;
  while ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && tags < 4) {
    const V = ctx.layer('vlan', '802.1Q Virtual LAN', p);
    const tci = V.u16(p, 'TCI');
    const g = V.group('TCI', p, 2, hex16(tci));
    V.f('Priority (PCP)', p, 2, tci >> 13, g.children);
    V.f('Drop eligible (DEI)', p, 2, (tci >> 12) & 1, g.children);
    V.f('VLAN ID', p, 2, tci & 0xfff, g.children);
    const inner = V.u16(p + 2, 'Type');
    V.f('Type', p + 2, 2, etherName(inner));
    V.title = `802.1Q Virtual LAN, PRI: ${tci >> 13}, DEI: ${(tci >> 12) & 1}, ID: ${tci & 0xfff}`;
    head += `ethertype ${etherName(type)}, length ${wireLen}: vlan ${tci & 0xfff}, p ${tci >> 13}, `;
    type = inner;
    p += 4;
    tags++;
  }
  ctx.summary.push(`${head}ethertype ${etherName(type)}, length ${wireLen}: `);
  network(ctx, type, p, depth);
}

/** Linux cooked capture v1 (`tcpdump -i any`, DLT 113). */
export function sll(ctx: Ctx, off: number, depth: number): void {
  const L = ctx.layer('sll', 'Linux cooked capture v1', off);
  const pt = L.u16(off, 'Packet type');
  L.f('Packet type', off, 2, `${SLL_PKTTYPES[pt] ?? 'unknown'} (${pt})`);
  L.f('Link-layer address type', off + 2, 2, L.u16(off + 2, 'Link-layer address type'));
  const alen = L.u16(off + 4, 'Link-layer address length');
  L.f('Link-layer address length', off + 4, 2, alen);
  L.f('Source', off + 6, 8, alen === 6 ? mac(ctx.buf, off + 6) : hex(ctx.buf, off + 6, off + 6 + Math.min(alen, 8)));
  const proto = L.u16(off + 14, 'Protocol');
  L.f('Protocol', off + 14, 2, etherName(proto));
  ctx.summary.push(
    `${SLL_PKTTYPES[pt]?.split(' ')[0] ?? '?'} ${alen === 6 ? mac(ctx.buf, off + 6) : ''} ethertype ${etherName(proto)}, length ${ctx.buf.length - off}: `,
  );
  network(ctx, proto, off + 16, depth);
}

/** Linux cooked capture v2 (DLT 276). */
export function sll2(ctx: Ctx, off: number, depth: number): void {
  const L = ctx.layer('sll', 'Linux cooked capture v2', off);
  const proto = L.u16(off, 'Protocol');
  L.f('Protocol', off, 2, etherName(proto));
  L.f('Reserved', off + 2, 2, hex16(L.u16(off + 2, 'Reserved')));
  L.f('Interface index', off + 4, 4, L.u32(off + 4, 'Interface index'));
  L.f('Link-layer address type', off + 8, 2, L.u16(off + 8, 'Link-layer address type'));
  const pt = L.u8(off + 10, 'Packet type');
  L.f('Packet type', off + 10, 1, `${SLL_PKTTYPES[pt] ?? 'unknown'} (${pt})`);
  const alen = L.u8(off + 11, 'Link-layer address length');
  L.f('Link-layer address length', off + 11, 1, alen);
  L.f(
    'Source',
    off + 12,
    8,
    alen === 6 ? mac(ctx.buf, off + 12) : hex(ctx.buf, off + 12, off + 12 + Math.min(alen, 8)),
  );
  ctx.summary.push(
    `ifindex ${L.u32(off + 4, 'Interface index')} ${SLL_PKTTYPES[pt]?.split(' ')[0] ?? '?'} ethertype ${etherName(proto)}, length ${ctx.buf.length - off}: `,
  );
  network(ctx, proto, off + 20, depth);
}

/** Raw IP (DLT_RAW): the version nibble says which. */
export function rawIp(ctx: Ctx, off: number, depth: number): void {
  const v = (ctx.buf[off] ?? 0) >> 4;
  network(ctx, v === 6 ? 0x86dd : 0x0800, off, depth);
}

export function network(ctx: Ctx, type: number, off: number, depth: number): void {
  if (depth > MAX_DEPTH) return payload(ctx, off, ctx.buf.length);
  switch (type) {
    case 0x0800:
      return ipv4Layer(ctx, off, depth);
    case 0x86dd:
      return ipv6Layer(ctx, off, depth);
    case 0x0806:
      return arp(ctx, off);
    default:
      ctx.summary.push(`ethertype ${etherName(type)}`);
      return payload(ctx, off, ctx.buf.length);
  }
}

function arp(ctx: Ctx, off: number): void {
  const L = ctx.layer('arp', 'Address Resolution Protocol', off);
  const htype = L.u16(off, 'Hardware type');
  L.f('Hardware type', off, 2, htype === 1 ? 'Ethernet (1)' : htype);
  const ptype = L.u16(off + 2, 'Protocol type');
  L.f('Protocol type', off + 2, 2, etherName(ptype));
  const hlen = L.u8(off + 4, 'Hardware size');
  L.f('Hardware size', off + 4, 1, hlen);
  const plen = L.u8(off + 5, 'Protocol size');
  L.f('Protocol size', off + 5, 1, plen);
  const op = L.u16(off + 6, 'Opcode');
  L.f('Opcode', off + 6, 2, `${ARP_OPS[op] ?? 'unknown'} (${op})`);
  let p = off + 8;
  const addr = (name: string, len: number, isHw: boolean): string => {
    L.need(p, len, name);
    const v = isHw && len === 6 ? mac(ctx.buf, p) : !isHw && len === 4 ? ipv4(ctx.buf, p) : hex(ctx.buf, p, p + len);
    L.f(name, p, len, v);
    p += len;
    return v;
  };
  const sha = addr('Sender MAC address', hlen, true);
  const spa = addr('Sender IP address', plen, false);
  addr('Target MAC address', hlen, true);
  const tpa = addr('Target IP address', plen, false);
  L.title = `Address Resolution Protocol (${(ARP_OPS[op] ?? 'unknown').toLowerCase()})`;
  const len = p - off;
  if (op === 1) ctx.summary.push(`Request who-has ${tpa} tell ${spa}, length ${len}`);
  else if (op === 2) ctx.summary.push(`Reply ${spa} is-at ${sha}, length ${len}`);
  else ctx.summary.push(`ARP op ${op}, length ${len}`);
  trailer(ctx, p);
}
