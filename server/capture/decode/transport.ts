// The IP protocol dispatch (IPIP, 6in4, GRE and MPLS-in-IP recurse), TCP (with its options) and UDP
// (which hands the VXLAN, Geneve, VXLAN-GPE, WireGuard and MPLS-over-UDP ports on).
import type { Ctx, LayerBuilder, MutableField } from './ctx';
import { hex, hex16 } from './ctx';
import type { IpInfo } from './common';
import { ep, LENGTH_FROM_CAPTURE, MAX_DEPTH, payload, portFields } from './common';
import { icmp, icmp6 } from './icmp';
import { ipv4Layer } from './ipv4';
import { ipv6Layer } from './ipv6';
import { gre } from './gre';
import {
  GENEVE_PORT,
  IP_PROTOCOLS,
  MPLS_UDP_PORT,
  TCP_OPTIONS,
  VXLAN_GPE_PORT,
  VXLAN_PORTS,
  WIREGUARD_PORT,
} from './names';
import { mpls } from './shims';
import { geneve, vxlan, vxlanGpe, wireguard } from './tunnels';

export function transport(ctx: Ctx, proto: number, off: number, end: number, ip: IpInfo): void {
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
      ctx.say(`${ip.src} > ${ip.dst}: IPIP: `);
      return ipv4Layer(ctx, off, ip.depth + 1);
    case 41:
      ctx.say(`${ip.src} > ${ip.dst}: IP6 in IP: `);
      return ipv6Layer(ctx, off, ip.depth + 1);
    case 47:
      return gre(ctx, off, end, ip);
    case 137:
      ctx.say(`${ip.src} > ${ip.dst}: MPLS in IP: `);
      return mpls(ctx, off, ip.depth + 1);
    default:
      ctx.say(`${ip.src} > ${ip.dst}: ${IP_PROTOCOLS[proto] ?? `ip-proto-${proto}`} ${end - off}`);
      return payload(ctx, off, end);
  }
}

function tcp(ctx: Ctx, off: number, end: number, ip: IpInfo): void {
  const L = ctx.layer('tcp', 'Transmission Control Protocol', off);
  const { sport, dport } = portFields(L, off);
  ctx.partial = `${ep(ip.src, sport)} > ${ep(ip.dst, dport)}: `;
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
  // From the IP length, so a snaplen cut does not shorten it (tcpdump's `length`).
  const dataLen = Math.max(0, Math.max(end, ip.wireEnd) - off - doff);
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
  ctx.say(s);
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
  const { sport, dport } = portFields(L, off);
  ctx.partial = `${ep(ip.src, sport)} > ${ep(ip.dst, dport)}: `;
  const ulen = L.u16(off + 4, 'Length');
  const lf = L.f('Length', off + 4, 2, ulen);
  L.f('Checksum', off + 6, 2, hex16(L.u16(off + 6, 'Checksum')));
  L.title = `User Datagram Protocol, Src Port: ${sport}, Dst Port: ${dport}`;
  // UDP GSO super-packets (and IPv6 jumbograms) carry length 0: the datagram runs to the IP end.
  let uend = Math.min(end, off + ulen);
  let dataLen = ulen - 8;
  if (ulen === 0) {
    uend = end;
    dataLen = Math.max(end, ip.wireEnd) - off - 8;
    ctx.note(LENGTH_FROM_CAPTURE);
    lf.value = `0 (${LENGTH_FROM_CAPTURE}: ${dataLen + 8})`;
  } else if (ulen < 8) L.bad('Length', off + 4, `UDP length ${ulen} is below the minimum 8`);
  const head = `${ep(ip.src, sport)} > ${ep(ip.dst, dport)}: `;
  // By the length on the wire, so a cut capture still shows the tunnel header it holds.
  if (ip.depth < MAX_DEPTH && (VXLAN_PORTS.has(dport) || VXLAN_PORTS.has(sport)) && dataLen + 8 >= 16) {
    ctx.say(head);
    return vxlan(ctx, off + 8, uend, ip.depth);
  }
  if (ip.depth < MAX_DEPTH && (dport === GENEVE_PORT || sport === GENEVE_PORT) && dataLen + 8 >= 16) {
    ctx.say(head);
    return geneve(ctx, off + 8, uend, ip.depth);
  }
  if (ip.depth < MAX_DEPTH && (dport === VXLAN_GPE_PORT || sport === VXLAN_GPE_PORT) && dataLen + 8 >= 16) {
    ctx.say(head);
    return vxlanGpe(ctx, off + 8, uend, ip.depth);
  }
  if (dport === WIREGUARD_PORT || sport === WIREGUARD_PORT) {
    ctx.say(head);
    return wireguard(ctx, off + 8, uend);
  }
  if (ip.depth < MAX_DEPTH && (dport === MPLS_UDP_PORT || sport === MPLS_UDP_PORT)) {
    ctx.say(head);
    return mpls(ctx, off + 8, ip.depth + 1);
  }
  ctx.say(`${head}UDP, length ${dataLen}`);
  payload(ctx, off + 8, uend);
}
