// Protocol decoders. Each adds one layer with byte-ranged fields, a piece of the tcpdump-style summary,
// and hands the rest of the frame to the next protocol. One file because tunnels recurse (VXLAN and
// Geneve carry Ethernet, which carries IP, which carries UDP, ...).
import type { Ctx, LayerBuilder, MutableField } from './ctx';
import { hex, hex16, hex8, ipv4, ipv6, mac } from './ctx';
import {
  ARP_OPS,
  DSR,
  ETHERTYPES,
  GENEVE_PORT,
  ICMP6_TYPES,
  ICMP_TYPES,
  ICMP_UNREACH,
  IP_PROTOCOLS,
  IPV4_OPTIONS,
  IPV6_TLV_OPTIONS,
  SLL_PKTTYPES,
  TCP_OPTIONS,
  VXLAN_PORTS,
} from './names';

/** Tunnels nest; bound the recursion so a crafted frame cannot blow the stack. */
const MAX_DEPTH = 8;

const etherName = (t: number): string => `${ETHERTYPES[t] ?? 'Unknown'} (${hex16(t)})`;

// ---------------------------------------------------------------------------------------------------------
// Link layers

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

function network(ctx: Ctx, type: number, off: number, depth: number): void {
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

// ---------------------------------------------------------------------------------------------------------
// IPv4

function ipv4Checksum(buf: Uint8Array, off: number, hl: number): number {
  let sum = 0;
  for (let i = 0; i < hl; i += 2) {
    if (i === 10) continue;
    sum += ((buf[off + i] as number) << 8) | (buf[off + i + 1] as number);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv4Layer(ctx: Ctx, off: number, depth: number): void {
  const L = ctx.layer('ipv4', 'Internet Protocol Version 4', off);
  const b0 = L.u8(off, 'Version');
  const version = b0 >> 4;
  const ihl = b0 & 0x0f;
  L.f('Version', off, 1, version);
  if (version !== 4) L.bad('Version', off, `IPv4 version field is ${version}, not 4`);
  L.f('Header Length', off, 1, `${ihl * 4} bytes (${ihl})`);
  if (ihl < 5) L.bad('Header Length', off, `IPv4 header length ${ihl * 4} is below the minimum 20`);
  const tos = L.u8(off + 1, 'Differentiated Services');
  const ds = L.group('Differentiated Services', off + 1, 1, hex8(tos));
  L.f('DSCP', off + 1, 1, tos >> 2, ds.children);
  L.f('ECN', off + 1, 1, tos & 3, ds.children);
  const totalLen = L.u16(off + 2, 'Total Length');
  L.f('Total Length', off + 2, 2, totalLen);
  const id = L.u16(off + 4, 'Identification');
  L.f('Identification', off + 4, 2, `${hex16(id)} (${id})`);
  const ff = L.u16(off + 6, 'Flags');
  const df = (ff >> 14) & 1;
  const mf = (ff >> 13) & 1;
  const fragOff = (ff & 0x1fff) * 8;
  const flags = L.group(
    'Flags',
    off + 6,
    1,
    `${hex8(ff >> 13)}${df ? ", Don't fragment" : ''}${mf ? ', More fragments' : ''}`,
  );
  L.f('Reserved bit', off + 6, 1, (ff >> 15) & 1 ? 'Set' : 'Not set', flags.children);
  L.f("Don't fragment", off + 6, 1, df ? 'Set' : 'Not set', flags.children);
  L.f('More fragments', off + 6, 1, mf ? 'Set' : 'Not set', flags.children);
  L.f('Fragment Offset', off + 6, 2, fragOff);
  const ttl = L.u8(off + 8, 'Time to Live');
  L.f('Time to Live', off + 8, 1, ttl);
  const proto = L.u8(off + 9, 'Protocol');
  L.f('Protocol', off + 9, 1, `${IP_PROTOCOLS[proto] ?? 'Unknown'} (${proto})`);
  const hl = ihl * 4;
  const csum = L.u16(off + 10, 'Header Checksum');
  L.need(off, hl, 'Header Checksum');
  const want = ipv4Checksum(ctx.buf, off, hl);
  L.f(
    'Header Checksum',
    off + 10,
    2,
    csum === want ? `${hex16(csum)} [correct]` : `${hex16(csum)} [incorrect, should be ${hex16(want)}]`,
  );
  L.need(off + 12, 8, 'Source Address');
  const src = ipv4(ctx.buf, off + 12);
  const dst = ipv4(ctx.buf, off + 16);
  L.f('Source Address', off + 12, 4, src);
  L.f('Destination Address', off + 16, 4, dst);
  L.title = `Internet Protocol Version 4, Src: ${src}, Dst: ${dst}`;
  if (hl > 20) ipv4Options(ctx, L, off + 20, off + hl);
  if (totalLen < hl) L.bad('Total Length', off + 2, `IPv4 total length ${totalLen} is shorter than its header (${hl})`);
  const end = Math.min(off + totalLen, ctx.buf.length);
  if (fragOff > 0) {
    ctx.summary.push(`${src} > ${dst}: ip-proto-${proto} (frag ${id}:${totalLen - hl}@${fragOff}${mf ? '+' : ''})`);
    payload(ctx, off + hl, end);
    trailer(ctx, off + totalLen);
    return;
  }
  transport(ctx, proto, off + hl, end, { src, dst, depth, v6: false });
  trailer(ctx, off + totalLen);
}

function ipv4Options(ctx: Ctx, L: LayerBuilder, start: number, end: number): void {
  const g = L.group('Options', start, end - start, `(${end - start} bytes)`);
  const into = g.children as MutableField[];
  let p = start;
  while (p < end) {
    const type = L.u8(p, 'Option type');
    const name = IPV4_OPTIONS[type] ?? 'Unknown';
    const typeField = (o: MutableField): void => {
      const t = L.group('Type', p, 1, `${type} (${hex8(type)})`, o.children);
      L.f('Copy on fragmentation', p, 1, type >> 7 ? 'Yes' : 'No', t.children);
      L.f(
        'Class',
        p,
        1,
        ['Control', 'Reserved', 'Debugging and measurement', 'Reserved'][(type >> 5) & 3] ?? '',
        t.children,
      );
      L.f('Number', p, 1, type & 0x1f, t.children);
    };
    if (type === 0) {
      const o = L.group(`IP Option - ${name}`, p, 1, '', into);
      typeField(o);
      if (p + 1 < end) L.f('Padding', p + 1, end - p - 1, hex(ctx.buf, p + 1, end), into);
      return;
    }
    if (type === 1) {
      const o = L.group(`IP Option - ${name}`, p, 1, '', into);
      typeField(o);
      p += 1;
      continue;
    }
    const len = L.u8(p + 1, `${name} length`);
    if (len < 2 || p + len > end) {
      L.bad(
        `IP Option - ${name}`,
        p + 1,
        `IPv4 option ${type} has length ${len}, which does not fit the ${end - p} byte(s) left in the header`,
      );
    }
    const o = L.group(`IP Option - ${name}`, p, len, `(${len} bytes)`, into);
    const kids = o.children as MutableField[];
    typeField(o);
    L.f('Length', p + 1, 1, len, kids);
    const d = p + 2;
    const dEnd = p + len;
    switch (type) {
      case DSR.IPV4_OPT_TYPE: {
        if (len !== DSR.IPV4_OPT_LEN) {
          L.f('Data (unexpected length for Cilium DSR)', d, dEnd - d, hex(ctx.buf, d, dEnd), kids);
          break;
        }
        // Cilium htonl's values already in network order, so on x86 the bytes are little-endian.
        const port = L.u16le(d, 'DSR service port');
        const a = L.u32le(d + 2, 'DSR service address');
        const addr = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
        L.f(
          'Service port (little-endian)',
          d,
          2,
          `${port} (bytes ${hex(ctx.buf, d, d + 2)} read as ${hex16(port)})`,
          kids,
        );
        L.f(
          'Service address (little-endian)',
          d + 2,
          4,
          `${addr} (bytes ${hex(ctx.buf, d + 2, d + 6)} read as 0x${a.toString(16).padStart(8, '0')})`,
          kids,
        );
        o.value = `service ${addr}:${port}`;
        ctx.dsr ??= {
          addr,
          port,
          encoding: 'ipv4-option',
          byteOrder: 'little-endian',
          option: [p, dEnd],
          portRange: [d, d + 2],
          addrRange: [d + 2, d + 6],
          portHex: hex(ctx.buf, d, d + 2),
          addrHex: hex(ctx.buf, d + 2, d + 6),
        };
        break;
      }
      case 7:
      case 131:
      case 137: {
        const ptr = L.u8(d, 'Pointer');
        L.f('Pointer', d, 1, ptr, kids);
        for (let i = d + 1; i + 4 <= dEnd; i += 4) {
          L.f(i - d - 1 + 4 <= ptr - 4 ? 'Recorded Route' : 'Empty Route', i, 4, ipv4(ctx.buf, i), kids);
        }
        break;
      }
      case 68: {
        const ptr = L.u8(d, 'Pointer');
        L.f('Pointer', d, 1, ptr, kids);
        const of = L.u8(d + 1, 'Overflow/Flag');
        L.f('Overflow', d + 1, 1, of >> 4, kids);
        const flag = of & 0x0f;
        L.f(
          'Flag',
          d + 1,
          1,
          ['Time stamps only', 'Time stamp and address', '?', 'Time stamps for prespecified addresses'][flag] ??
            `unknown (${flag})`,
          kids,
        );
        const step = flag === 0 ? 4 : 8;
        for (let i = d + 2; i + step <= dEnd; i += step) {
          if (step === 8) L.f('Address', i, 4, ipv4(ctx.buf, i), kids);
          L.f('Time stamp', i + step - 4, 4, L.u32(i + step - 4, 'Time stamp'), kids);
        }
        break;
      }
      case 148:
        if (len === 4)
          L.f(
            'Router Alert',
            d,
            2,
            L.u16(d, 'Router Alert') === 0 ? 'Router shall examine packet (0)' : L.u16(d, 'Router Alert'),
            kids,
          );
        else L.f('Data', d, dEnd - d, hex(ctx.buf, d, dEnd), kids);
        break;
      case 136:
        if (len === 4) L.f('Stream Identifier', d, 2, L.u16(d, 'Stream Identifier'), kids);
        else L.f('Data', d, dEnd - d, hex(ctx.buf, d, dEnd), kids);
        break;
      default:
        // Unknown or undissected options keep their raw bytes so nothing is hidden.
        if (dEnd > d) L.f('Data', d, dEnd - d, hex(ctx.buf, d, dEnd), kids);
    }
    p += len;
  }
}

// ---------------------------------------------------------------------------------------------------------
// IPv6

function ipv6Layer(ctx: Ctx, off: number, depth: number): void {
  const L = ctx.layer('ipv6', 'Internet Protocol Version 6', off);
  const w = L.u32(off, 'Version');
  const version = w >>> 28;
  L.f('Version', off, 1, version);
  if (version !== 6) L.bad('Version', off, `IPv6 version field is ${version}, not 6`);
  L.f('Traffic Class', off, 2, hex8((w >>> 20) & 0xff));
  L.f('Flow Label', off + 1, 3, `0x${(w & 0xfffff).toString(16).padStart(5, '0')}`);
  const plen = L.u16(off + 4, 'Payload Length');
  L.f('Payload Length', off + 4, 2, plen);
  let nh = L.u8(off + 6, 'Next Header');
  L.f('Next Header', off + 6, 1, `${IP_PROTOCOLS[nh] ?? 'Unknown'} (${nh})`);
  L.f('Hop Limit', off + 7, 1, L.u8(off + 7, 'Hop Limit'));
  L.need(off + 8, 32, 'Source Address');
  const src = ipv6(ctx.buf, off + 8);
  const dst = ipv6(ctx.buf, off + 24);
  L.f('Source Address', off + 8, 16, src);
  L.f('Destination Address', off + 24, 16, dst);
  L.title = `Internet Protocol Version 6, Src: ${src}, Dst: ${dst}`;
  // Payload length 0 with a Jumbo option is legal; then we trust the capture length.
  const end = plen === 0 ? ctx.buf.length : Math.min(off + 40 + plen, ctx.buf.length);
  let p = off + 40;
  for (let n = 0; n < 16; n++) {
    if (nh === 0 || nh === 60 || nh === 43 || nh === 44 || nh === 51 || nh === 135 || nh === 139 || nh === 140) {
      const r = ipv6Ext(ctx, nh, p);
      if (r.stop) {
        ctx.summary.push(`${src} > ${dst}: ${r.stop}`);
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
    ctx.summary.push(`${src} > ${dst}: no next header`);
  } else if (nh === 50) {
    ctx.summary.push(`${src} > ${dst}: ESP, length ${end - p}`);
    payload(ctx, p, end);
  } else {
    transport(ctx, nh, p, end, { src, dst, depth, v6: true });
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
    tlvOptions(ctx, L, off + 2, off + len, type === 60);
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
      const addr = ipv6(ctx.buf, d);
      const port = L.u16(d + 16, 'DSR service port');
      L.f('Service address', d, 16, addr, kids);
      L.f('Service port (network order)', d + 16, 2, port, kids);
      if (olen > 18) L.f('Padding', d + 18, olen - 18, hex(ctx.buf, d + 18, d + olen), kids);
      g.value = `service [${addr}]:${port}`;
      ctx.dsr ??= {
        addr,
        port,
        encoding: 'ipv6-destopt',
        byteOrder: 'network',
        option: [p, d + olen],
        portRange: [d + 16, d + 18],
        addrRange: [d, d + 16],
        portHex: hex(ctx.buf, d + 16, d + 18),
        addrHex: hex(ctx.buf, d, d + 16),
      };
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

// ---------------------------------------------------------------------------------------------------------
// Transport

interface IpInfo {
  readonly src: string;
  readonly dst: string;
  readonly depth: number;
  readonly v6: boolean;
}

function transport(ctx: Ctx, proto: number, off: number, end: number, ip: IpInfo): void {
  switch (proto) {
    case 6:
      return tcp(ctx, off, end, ip);
    case 17:
      return udp(ctx, off, end, ip);
    case 1:
      return icmp(ctx, off, end, ip);
    case 58:
      return icmp6(ctx, off, end, ip);
    case 4:
      ctx.summary.push(`${ip.src} > ${ip.dst}: IPIP: `);
      return ipv4Layer(ctx, off, ip.depth + 1);
    case 41:
      ctx.summary.push(`${ip.src} > ${ip.dst}: IP6 in IP: `);
      return ipv6Layer(ctx, off, ip.depth + 1);
    default:
      ctx.summary.push(`${ip.src} > ${ip.dst}: ${IP_PROTOCOLS[proto] ?? `ip-proto-${proto}`} ${end - off}`);
      return payload(ctx, off, end);
  }
}

const ep = (addr: string, port: number): string => `${addr}.${port}`;

function tcp(ctx: Ctx, off: number, end: number, ip: IpInfo): void {
  const L = ctx.layer('tcp', 'Transmission Control Protocol', off);
  const sport = L.u16(off, 'Source Port');
  L.f('Source Port', off, 2, sport);
  const dport = L.u16(off + 2, 'Destination Port');
  L.f('Destination Port', off + 2, 2, dport);
  const seq = L.u32(off + 4, 'Sequence Number');
  L.f('Sequence Number', off + 4, 4, seq);
  const ack = L.u32(off + 8, 'Acknowledgment Number');
  L.f('Acknowledgment Number', off + 8, 4, ack);
  const w = L.u16(off + 12, 'Flags');
  const doff = (w >> 12) * 4;
  L.f('Header Length', off + 12, 1, `${doff} bytes (${doff / 4})`);
  if (doff < 20) L.bad('Header Length', off + 12, `TCP header length ${doff} is below the minimum 20`);
  const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'AE'] as const;
  const set = names.filter((_, i) => (w >> i) & 1);
  const fg = L.group('Flags', off + 12, 2, `${hex16(w & 0x1ff)} (${set.join(', ') || 'none'})`);
  for (let i = names.length - 1; i >= 0; i--)
    L.f(names[i] as string, off + 12, 2, (w >> i) & 1 ? 'Set' : 'Not set', fg.children);
  const win = L.u16(off + 14, 'Window');
  L.f('Window', off + 14, 2, win);
  L.f('Checksum', off + 16, 2, hex16(L.u16(off + 16, 'Checksum')));
  const urg = L.u16(off + 18, 'Urgent Pointer');
  L.f('Urgent Pointer', off + 18, 2, urg);
  const opts: string[] = [];
  if (doff > 20) {
    L.need(off + 20, doff - 20, 'Options');
    tcpOptions(ctx, L, off + 20, off + doff, opts);
  }
  const dataLen = Math.max(0, end - off - doff);
  L.title = `Transmission Control Protocol, Src Port: ${sport}, Dst Port: ${dport}, Seq: ${seq}${(w >> 4) & 1 ? `, Ack: ${ack}` : ''}, Len: ${dataLen}`;
  // tcpdump's flag letters and order.
  const letters: [number, string][] = [
    [0, 'F'],
    [1, 'S'],
    [2, 'R'],
    [3, 'P'],
    [5, 'U'],
    [6, 'E'],
    [7, 'W'],
    [8, 'e'],
    [4, '.'],
  ];
  const fl =
    letters
      .filter(([b]) => (w >> b) & 1)
      .map(([, s]) => s)
      .join('') || 'none';
  let s = `${ep(ip.src, sport)} > ${ep(ip.dst, dport)}: Flags [${fl}], `;
  s += dataLen > 0 ? `seq ${seq}:${(seq + dataLen) >>> 0}` : `seq ${seq}`;
  if ((w >> 4) & 1) s += `, ack ${ack}`;
  s += `, win ${win}`;
  if (opts.length) s += `, options [${opts.join(',')}]`;
  s += `, length ${dataLen}`;
  ctx.summary.push(s);
  payload(ctx, off + doff, end);
}

function tcpOptions(ctx: Ctx, L: LayerBuilder, start: number, end: number, out: string[]): void {
  const g = L.group('Options', start, end - start, `(${end - start} bytes)`);
  const into = g.children as MutableField[];
  let p = start;
  while (p < end) {
    const kind = L.u8(p, 'Option kind');
    const name = TCP_OPTIONS[kind] ?? `Unknown (${kind})`;
    if (kind === 0) {
      L.f(`TCP Option - ${name}`, p, end - p, '', into);
      out.push('eol');
      return;
    }
    if (kind === 1) {
      L.f(`TCP Option - ${name}`, p, 1, '', into);
      out.push('nop');
      p++;
      continue;
    }
    const len = L.u8(p + 1, `${name} length`);
    if (len < 2 || p + len > end)
      L.bad(
        `TCP Option - ${name}`,
        p + 1,
        `TCP option ${kind} has length ${len}, which does not fit the ${end - p} byte(s) left`,
      );
    const d = p + 2;
    let v = '';
    if (kind === 2 && len === 4) {
      v = String(L.u16(d, 'MSS'));
      out.push(`mss ${v}`);
    } else if (kind === 3 && len === 3) {
      const sh = L.u8(d, 'Shift count');
      v = `shift ${sh} (multiply by ${2 ** sh})`;
      out.push(`wscale ${sh}`);
    } else if (kind === 4 && len === 2) {
      out.push('sackOK');
    } else if (kind === 8 && len === 10) {
      const tv = L.u32(d, 'TSval');
      const te = L.u32(d + 4, 'TSecr');
      v = `TSval ${tv}, TSecr ${te}`;
      out.push(`TS val ${tv} ecr ${te}`);
    } else if (kind === 5) {
      const blocks: string[] = [];
      for (let i = d; i + 8 <= p + len; i += 8) blocks.push(`{${L.u32(i, 'SACK left')}:${L.u32(i + 4, 'SACK right')}}`);
      v = blocks.join(' ');
      out.push(`sack ${blocks.length} ${blocks.join('')}`);
    } else {
      v = hex(ctx.buf, d, p + len);
      out.push(kind === 30 ? 'mptcp' : kind === 34 ? 'tfo' : kind === 19 ? 'md5' : `unknown-${kind} 0x${v}`);
    }
    L.f(`TCP Option - ${name}`, p, len, v, into);
    p += len;
  }
}

function udp(ctx: Ctx, off: number, end: number, ip: IpInfo): void {
  const L = ctx.layer('udp', 'User Datagram Protocol', off);
  const sport = L.u16(off, 'Source Port');
  L.f('Source Port', off, 2, sport);
  const dport = L.u16(off + 2, 'Destination Port');
  L.f('Destination Port', off + 2, 2, dport);
  const ulen = L.u16(off + 4, 'Length');
  L.f('Length', off + 4, 2, ulen);
  L.f('Checksum', off + 6, 2, hex16(L.u16(off + 6, 'Checksum')));
  L.title = `User Datagram Protocol, Src Port: ${sport}, Dst Port: ${dport}`;
  if (ulen < 8) L.bad('Length', off + 4, `UDP length ${ulen} is below the minimum 8`);
  const uend = Math.min(end, off + ulen);
  const head = `${ep(ip.src, sport)} > ${ep(ip.dst, dport)}: `;
  if (ip.depth < MAX_DEPTH && (VXLAN_PORTS.has(dport) || VXLAN_PORTS.has(sport)) && uend - off >= 16) {
    ctx.summary.push(head);
    return vxlan(ctx, off + 8, uend, ip.depth);
  }
  if (ip.depth < MAX_DEPTH && (dport === GENEVE_PORT || sport === GENEVE_PORT) && uend - off >= 16) {
    ctx.summary.push(head);
    return geneve(ctx, off + 8, uend, ip.depth);
  }
  ctx.summary.push(`${head}UDP, length ${ulen - 8}`);
  payload(ctx, off + 8, uend);
}

function vxlan(ctx: Ctx, off: number, end: number, depth: number): void {
  const L = ctx.layer('vxlan', 'Virtual eXtensible Local Area Network', off);
  const flags = L.u8(off, 'Flags');
  L.f('Flags', off, 1, `${hex8(flags)}${flags & 0x08 ? ' (VNI valid)' : ''}`);
  L.f('Reserved', off + 1, 3, hex(ctx.buf, off + 1, off + 4));
  const vni = L.u24(off + 4, 'VNI');
  L.f('VXLAN Network Identifier (VNI)', off + 4, 3, vni);
  L.f('Reserved', off + 7, 1, hex8(L.u8(off + 7, 'Reserved')));
  L.title = `Virtual eXtensible Local Area Network, VNI: ${vni}`;
  ctx.summary.push(`VXLAN, flags [${flags & 0x08 ? 'I' : '.'}] (${hex8(flags)}), vni ${vni}: `);
  ethernet(ctx, off + 8, depth + 1, end - off - 8);
}

function geneve(ctx: Ctx, off: number, end: number, depth: number): void {
  const L = ctx.layer('geneve', 'Generic Network Virtualization Encapsulation', off);
  const b0 = L.u8(off, 'Version');
  const optLen = (b0 & 0x3f) * 4;
  L.f('Version', off, 1, b0 >> 6);
  L.f('Options Length', off, 1, `${optLen} bytes`);
  const b1 = L.u8(off + 1, 'Flags');
  L.f('Flags', off + 1, 1, `${hex8(b1)}${b1 & 0x80 ? ' (OAM)' : ''}${b1 & 0x40 ? ' (critical options present)' : ''}`);
  const proto = L.u16(off + 2, 'Protocol Type');
  L.f('Protocol Type', off + 2, 2, etherName(proto));
  const vni = L.u24(off + 4, 'VNI');
  L.f('Virtual Network Identifier (VNI)', off + 4, 3, vni);
  L.f('Reserved', off + 7, 1, hex8(L.u8(off + 7, 'Reserved')));
  L.title = `Generic Network Virtualization Encapsulation, VNI: ${vni}`;
  const oEnd = off + 8 + optLen;
  if (oEnd > end) L.bad('Options Length', off, `Geneve options (${optLen} bytes) run past the UDP payload`);
  let p = off + 8;
  while (p < oEnd) {
    const cls = L.u16(p, 'Option Class');
    const type = L.u8(p + 2, 'Option Type');
    const olen = (L.u8(p + 3, 'Option Length') & 0x1f) * 4;
    if (p + 4 + olen > oEnd) L.bad('Option Length', p + 3, `Geneve option length ${olen} runs past the options`);
    const isDsr = cls === DSR.GENEVE_CLASS && type === DSR.GENEVE_TYPE;
    const g = L.group(
      isDsr ? 'Option - Cilium DSR' : `Option - class ${hex16(cls)} type ${hex8(type)}`,
      p,
      4 + olen,
      `(${olen} bytes of data)`,
    );
    const kids = g.children as MutableField[];
    L.f('Class', p, 2, `${hex16(cls)}${cls === DSR.GENEVE_CLASS ? ' (Cilium)' : ''}`, kids);
    L.f('Type', p + 2, 1, `${hex8(type)}${type & 0x80 ? ' (critical)' : ''}`, kids);
    L.f('Length', p + 3, 1, `${olen} bytes`, kids);
    const d = p + 4;
    if (isDsr && (olen === 8 || olen === 20)) {
      const v6 = olen === 20;
      const alen = v6 ? 16 : 4;
      const addr = v6 ? ipv6(ctx.buf, d) : ipv4(ctx.buf, d);
      const port = L.u16(d + alen, 'DSR service port');
      L.f('Service address', d, alen, addr, kids);
      L.f('Service port (network order)', d + alen, 2, port, kids);
      L.f('Padding', d + alen + 2, 2, hex(ctx.buf, d + alen + 2, d + alen + 4), kids);
      g.value = v6 ? `service [${addr}]:${port}` : `service ${addr}:${port}`;
      ctx.dsr ??= {
        addr,
        port,
        encoding: 'geneve-option',
        byteOrder: 'network',
        option: [p, d + olen],
        portRange: [d + alen, d + alen + 2],
        addrRange: [d, d + alen],
        portHex: hex(ctx.buf, d + alen, d + alen + 2),
        addrHex: hex(ctx.buf, d, d + alen),
      };
    } else if (olen > 0) {
      L.f('Data', d, olen, hex(ctx.buf, d, d + olen), kids);
    }
    p = d + olen;
  }
  ctx.summary.push(
    `Geneve, flags [${b1 & 0x40 ? 'C' : 'none'}], vni ${vni}, proto ${etherName(proto)}, options [${optLen} bytes]: `,
  );
  if (proto === 0x6558) ethernet(ctx, oEnd, depth + 1, end - oEnd);
  else network(ctx, proto, oEnd, depth + 1);
}

function icmp(ctx: Ctx, off: number, end: number, ip: IpInfo): void {
  const L = ctx.layer('icmp', 'Internet Control Message Protocol', off);
  const type = L.u8(off, 'Type');
  const code = L.u8(off + 1, 'Code');
  const tname = ICMP_TYPES[type] ?? `type-#${type}`;
  L.f('Type', off, 1, `${type} (${tname})`);
  L.f('Code', off + 1, 1, type === 3 ? `${code} (${ICMP_UNREACH[code] ?? 'unknown'})` : code);
  L.f('Checksum', off + 2, 2, hex16(L.u16(off + 2, 'Checksum')));
  const len = end - off;
  let s = `${ip.src} > ${ip.dst}: ICMP ${tname}`;
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
    if (end - q >= 20) {
      const ihl = ((ctx.buf[q] as number) & 15) * 4;
      const g = L.group('Original datagram', q, end - q, `${ipv4(ctx.buf, q + 12)} > ${ipv4(ctx.buf, q + 16)}`);
      const kids = g.children as MutableField[];
      const p = L.u8(q + 9, 'Original protocol');
      L.f('Protocol', q + 9, 1, `${IP_PROTOCOLS[p] ?? 'Unknown'} (${p})`, kids);
      L.f('Source Address', q + 12, 4, ipv4(ctx.buf, q + 12), kids);
      L.f('Destination Address', q + 16, 4, ipv4(ctx.buf, q + 16), kids);
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
  ctx.summary.push(s);
}

function icmp6(ctx: Ctx, off: number, end: number, ip: IpInfo): void {
  const L = ctx.layer('icmpv6', 'Internet Control Message Protocol v6', off);
  const type = L.u8(off, 'Type');
  const tname = ICMP6_TYPES[type] ?? `type ${type}`;
  L.f('Type', off, 1, `${type} (${tname})`);
  L.f('Code', off + 1, 1, L.u8(off + 1, 'Code'));
  L.f('Checksum', off + 2, 2, hex16(L.u16(off + 2, 'Checksum')));
  const len = end - off;
  let s = `${ip.src} > ${ip.dst}: ICMP6, ${tname}`;
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
  ctx.summary.push(`${s}, length ${len}`);
}

// ---------------------------------------------------------------------------------------------------------

function payload(ctx: Ctx, off: number, end: number): void {
  const e = Math.min(end, ctx.buf.length);
  if (e <= off) return;
  const L = ctx.layer('payload', `Data (${e - off} bytes)`, off);
  // The hex view shows every byte; the field shows a prefix (this runs for every packet).
  L.f('Data', off, e - off, hex(ctx.buf, off, Math.min(e, off + 16)) + (e - off > 16 ? '…' : ''));
}

/** Ethernet padding after the IP datagram (short frames are padded to 60 bytes). */
function trailer(ctx: Ctx, from: number): void {
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
