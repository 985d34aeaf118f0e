// IPv4 and its options (every kind named, the common ones dissected, Cilium's DSR option in dsr.ts).
import type { Ctx, LayerBuilder, MutableField } from './ctx';
import { hex, hex16, hex8, ipv4 } from './ctx';
import { ipAddresses, LENGTH_FROM_CAPTURE, payload, trailer } from './common';
import { ipv4DsrOption } from './dsr';
import { DSR, IP_PROTOCOLS, IPV4_OPTIONS } from './names';
import { transport } from './transport';

function ipv4Checksum(buf: Uint8Array, off: number, hl: number): number {
  let sum = 0;
  for (let i = 0; i < hl; i += 2) {
    if (i === 10) continue;
    sum += ((buf[off + i] as number) << 8) | (buf[off + i + 1] as number);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function ipv4Layer(ctx: Ctx, off: number, depth: number): void {
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
  const tl = L.f('Total Length', off + 2, 2, totalLen);
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
  // A header cut short still shows the addresses it holds (as tshark does); its checksum cannot be checked.
  const want = off + hl <= ctx.buf.length ? ipv4Checksum(ctx.buf, off, hl) : null;
  L.f(
    'Header Checksum',
    off + 10,
    2,
    want === null
      ? `${hex16(csum)} [unverified: header cut]`
      : csum === want
        ? `${hex16(csum)} [correct]`
        : `${hex16(csum)} [incorrect, should be ${hex16(want)}]`,
  );
  const { src, dst } = ipAddresses(ctx, L, off + 12, 4);
  ctx.partial = `${src} > ${dst}: `;
  L.need(off, hl, 'Options');
  // IHL bounds the options: a bad one is marked and the datagram decoded on.
  if (hl > 20) ctx.stepOver(() => ipv4Options(ctx, L, off + 20, off + hl));
  // A GSO/GRO super-packet over 64 KiB (BIG TCP, Linux >= 6.3) has total length 0: its length is the
  // frame's, as tshark reads it.
  let ipLen = totalLen;
  if (totalLen === 0) {
    ipLen = Math.max(hl, ctx.wireLen - off);
    tl.value = `0 (${LENGTH_FROM_CAPTURE}: ${ipLen})`;
    ctx.note(LENGTH_FROM_CAPTURE);
  } else if (totalLen < hl) {
    L.bad('Total Length', off + 2, `IPv4 total length ${totalLen} is shorter than its header (${hl})`);
  }
  const end = Math.min(off + ipLen, ctx.buf.length);
  const ip = { src, dst, depth, v6: false, wireEnd: off + ipLen };
  if (fragOff > 0) {
    ctx.say(`${src} > ${dst}: ip-proto-${proto} (frag ${id}:${ipLen - hl}@${fragOff}${mf ? '+' : ''})`);
    payload(ctx, off + hl, end);
    trailer(ctx, off + ipLen);
    return;
  }
  transport(ctx, proto, off + hl, end, ip);
  trailer(ctx, off + ipLen);
}

function ipv4Options(ctx: Ctx, L: LayerBuilder, start: number, end: number): void {
  const g = L.group('Options', start, end - start, `(${end - start} bytes)`);
  const into = g.children as MutableField[];
  let p = start;
  while (p < end) {
    const type = L.u8(p, 'Option type');
    const name = IPV4_OPTIONS[type] ?? 'Unknown';
    if (type === 0 || type === 1) {
      // End of list and No-op are a lone type byte; after the end, the rest of the header is padding.
      const o = L.group(`IP Option - ${name}`, p, 1, '', into);
      optionType(L, p, type, o);
      if (type === 1) {
        p += 1;
        continue;
      }
      if (p + 1 < end) L.f('Padding', p + 1, end - p - 1, hex(ctx.buf, p + 1, end), into);
      return;
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
    optionType(L, p, type, o);
    L.f('Length', p + 1, 1, len, o.children);
    optionData(ctx, L, o, type, p, len);
    p += len;
  }
}

/** The option type byte, split into its copy, class and number bits. */
function optionType(L: LayerBuilder, p: number, type: number, o: MutableField): void {
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
}

/** The data after type and length of option `o` at [p, p+len). */
function optionData(ctx: Ctx, L: LayerBuilder, o: MutableField, type: number, p: number, len: number): void {
  const kids = o.children as MutableField[];
  const d = p + 2;
  const dEnd = p + len;
  switch (type) {
    case DSR.IPV4_OPT_TYPE:
      return ipv4DsrOption(ctx, L, o, p, len);
    case 7:
    case 131:
    case 137:
      return routeOption(ctx, L, kids, d, dEnd);
    case 68:
      return timestampOption(ctx, L, kids, d, dEnd);
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
      return;
    case 136:
      if (len === 4) L.f('Stream Identifier', d, 2, L.u16(d, 'Stream Identifier'), kids);
      else L.f('Data', d, dEnd - d, hex(ctx.buf, d, dEnd), kids);
      return;
    default:
      // Unknown or undissected options keep their raw bytes so nothing is hidden.
      if (dEnd > d) L.f('Data', d, dEnd - d, hex(ctx.buf, d, dEnd), kids);
  }
}

/** Record Route, Loose and Strict Source Route: a pointer, then addresses. */
function routeOption(ctx: Ctx, L: LayerBuilder, kids: MutableField[], d: number, dEnd: number): void {
  const ptr = L.u8(d, 'Pointer');
  L.f('Pointer', d, 1, ptr, kids);
  for (let i = d + 1; i + 4 <= dEnd; i += 4) {
    L.f(i - d - 1 + 4 <= ptr - 4 ? 'Recorded Route' : 'Empty Route', i, 4, ipv4(ctx.buf, i), kids);
  }
}

/** Time Stamp: pointer, overflow and flag, then time stamps (with addresses for flags 1 and 3). */
function timestampOption(ctx: Ctx, L: LayerBuilder, kids: MutableField[], d: number, dEnd: number): void {
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
}
