// Link layers (Ethernet with 802.1Q tags, Linux cooked captures, raw IP), the ethertype dispatch, and ARP.
// Each decoder adds one layer with byte-ranged fields and a piece of the tcpdump-style summary, then hands
// the rest to the next protocol. The protocol files import each other in a cycle because tunnels recurse
// (VXLAN and Geneve carry Ethernet, which carries IP, which carries UDP, ...); nothing runs at import time.
import type { Ctx } from './ctx';
import { hex, hex16, ipv4, mac } from './ctx';
import { etherName, MAX_DEPTH, payload, trailer } from './common';
import { ipv4Layer } from './ipv4';
import { ipv6Layer } from './ipv6';
import { AF_INET6S, ARP_OPS, SLL_PKTTYPES } from './names';
import { macsec, mpls, nsh } from './shims';

export function ethernet(ctx: Ctx, off: number, depth: number, wireLen: number): void {
  const L = ctx.layer('eth', 'Ethernet II', off);
  L.need(off, 6, 'Destination');
  const dst = mac(ctx.buf, off);
  L.f('Destination', off, 6, dst);
  L.need(off + 6, 6, 'Source');
  const src = mac(ctx.buf, off + 6);
  L.f('Source', off + 6, 6, src);
  ctx.partial = `${src} > ${dst}, `;
  let type = L.u16(off + 12, 'Type');
  let p = off + 12;
  let head = `${src} > ${dst}, `;
  if (type < 0x0600) {
    L.f('Length', p, 2, type);
    ctx.say(`${head}802.3, length ${wireLen}`);
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
  ctx.say(`${head}ethertype ${etherName(type)}, length ${wireLen}: `);
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
  ctx.say(
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
  const ifindex = L.u32(off + 4, 'Interface index');
  const dir = SLL_PKTTYPES[pt]?.split(' ')[0] ?? '?';
  L.title = `Linux cooked capture v2, ifindex ${ifindex}, ${dir}`;
  ctx.say(`ifindex ${ifindex} ${dir} ethertype ${etherName(proto)}, length ${ctx.buf.length - off}: `);
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
    case 0x8847:
    case 0x8848:
      return mpls(ctx, off, depth);
    case 0x88e5:
      return macsec(ctx, off, depth);
    case 0x894f:
      return nsh(ctx, off, ctx.buf.length, depth);
    case 0x6558:
      return ethernet(ctx, off, depth + 1, ctx.buf.length - off);
    default:
      ctx.say(`ethertype ${etherName(type)}`);
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
  if (op === 1) ctx.say(`Request who-has ${tpa} tell ${spa}, length ${len}`);
  else if (op === 2) ctx.say(`Reply ${spa} is-at ${sha}, length ${len}`);
  else ctx.say(`ARP op ${op}, length ${len}`);
  trailer(ctx, p);
}

/**
 * BSD loopback: DLT_NULL's 4-byte address family is in the capturing host's byte order, DLT_LOOP's in
 * network order. A DLT_NULL value above 0xffff is the other byte order, as libpcap reads it.
 */
export function loopback(ctx: Ctx, off: number, networkOrder: boolean): void {
  const L = ctx.layer('loopback', networkOrder ? 'OpenBSD loopback (DLT_LOOP)' : 'Null/Loopback (DLT_NULL)', off);
  let fam = networkOrder ? L.u32(off, 'Family') : L.u32le(off, 'Family');
  if (!networkOrder && fam > 0xffff) fam = L.u32(off, 'Family');
  const v6 = AF_INET6S.has(fam);
  L.f('Family', off, 4, fam === 2 ? 'IP (2)' : v6 ? `IPv6 (${fam})` : `unknown (${fam})`);
  ctx.say(`AF ${fam === 2 ? 'IPv4' : v6 ? 'IPv6' : fam} (${fam}), length ${ctx.wireLen - off}: `);
  if (fam === 2) return network(ctx, 0x0800, off + 4, 0);
  if (v6) return network(ctx, 0x86dd, off + 4, 0);
  payload(ctx, off + 4, ctx.buf.length);
}

const NFLOG_TLVS: Readonly<Record<number, string>> = {
  1: 'Packet header',
  2: 'Mark',
  3: 'Timestamp',
  4: 'Input interface index',
  5: 'Output interface index',
  6: 'Physical input interface index',
  7: 'Physical output interface index',
  8: 'Hardware address',
  9: 'Payload',
  10: 'Prefix',
  11: 'UID',
  12: 'Sequence',
  13: 'Global sequence',
  14: 'GID',
  15: 'Hardware type',
  16: 'Hardware header',
  17: 'Hardware header length',
  18: 'Conntrack',
  19: 'Conntrack info',
  20: 'VLAN',
  21: 'L2 header',
};

/**
 * NFLOG (DLT 239, `tcpdump -i nflog:N`): family, version and group, then netlink TLVs whose length and
 * type are in the capturing host's byte order (little-endian here; big-endian is tried if that does not fit).
 */
export function nflog(ctx: Ctx, off: number): void {
  const L = ctx.layer('nflog', 'Linux Netfilter NFLOG', off);
  const fam = L.u8(off, 'Family');
  L.f('Family', off, 1, fam === 2 ? 'IPv4 (2)' : fam === 10 ? 'IPv6 (10)' : fam);
  L.f('Version', off + 1, 1, L.u8(off + 1, 'Version'));
  const group = L.u16(off + 2, 'Resource ID');
  L.f('Resource ID', off + 2, 2, group);
  let le = true;
  const first = L.u16le(off + 4, 'TLV Length');
  if (first < 4 || off + 4 + first > ctx.buf.length) le = false;
  let p = off + 4;
  let data: [number, number] | null = null;
  let prefix = '';
  const parts: string[] = [];
  while (p + 4 <= ctx.buf.length) {
    const len = le ? L.u16le(p, 'TLV Length') : L.u16(p, 'TLV Length');
    const type = (le ? L.u16le(p + 2, 'TLV Type') : L.u16(p + 2, 'TLV Type')) & 0x7fff;
    if (len < 4) L.bad('TLV Length', p, `NFLOG TLV length ${len} is below its own 4 bytes`);
    L.need(p, len, NFLOG_TLVS[type] ?? `TLV ${type}`);
    const d = p + 4;
    const dl = len - 4;
    const name = NFLOG_TLVS[type] ?? `TLV ${type}`;
    if (type === 9) {
      data = [d, d + dl];
      L.f(name, p, len, `${dl} bytes`);
    } else if (type === 10) {
      prefix = new TextDecoder().decode(ctx.buf.subarray(d, d + dl)).replace(/\0.*$/s, '');
      L.f(name, p, len, prefix);
    } else if ((type === 4 || type === 5 || type === 2 || type === 11 || type === 14) && dl === 4) {
      const v = L.u32(d, name);
      L.f(name, p, len, v);
      if (type === 4) parts.push(`in ${v}`);
      if (type === 5) parts.push(`out ${v}`);
    } else if (type === 1 && dl >= 4) {
      L.f(name, p, len, `protocol ${etherName(L.u16(d, 'Hardware protocol'))}, hook ${L.u8(d + 2, 'Hook')}`);
    } else {
      L.f(name, p, len, hex(ctx.buf, d, d + dl));
    }
    p += (len + 3) & ~3;
  }
  L.title = `Linux Netfilter NFLOG, group ${group}${prefix ? `, prefix "${prefix}"` : ''}`;
  ctx.say(`NFLOG group ${group}${prefix ? ` "${prefix}"` : ''}${parts.length ? ` ${parts.join(' ')}` : ''}: `);
  if (!data) return;
  if (fam === 2 || fam === 10) {
    // The payload TLV holds the IP datagram; decode it as if it were the frame from there on.
    network(ctx, fam === 2 ? 0x0800 : 0x86dd, data[0], 0);
  } else payload(ctx, data[0], data[1]);
}
