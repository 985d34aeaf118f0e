// GRE (RFC 2784/2890: checksum, key, sequence number; version 1 is PPTP's) and the ERSPAN mirrors it
// carries (type I bare, II and III with their headers). The inner frame goes back to the ethertype dispatch.
import type { Ctx } from './ctx';
import { hex16, hex8 } from './ctx';
import type { IpInfo } from './common';
import { etherName, MAX_DEPTH, payload } from './common';
import { ethernet, network } from './link';

const ERSPAN_II = 0x88be;
const ERSPAN_III = 0x22eb;

export function gre(ctx: Ctx, off: number, end: number, ip: IpInfo): void {
  const L = ctx.layer('gre', 'Generic Routing Encapsulation', off);
  const w = L.u16(off, 'Flags and Version');
  const c = (w >> 15) & 1;
  const r = (w >> 14) & 1;
  const k = (w >> 13) & 1;
  const s = (w >> 12) & 1;
  const ver = w & 7;
  const ack = ver === 1 && (w >> 7) & 1;
  const fg = L.group('Flags and Version', off, 2, hex16(w));
  L.f('Checksum Bit', off, 1, c ? 'Yes' : 'No', fg.children);
  L.f('Routing Bit', off, 1, r ? 'Yes' : 'No', fg.children);
  L.f('Key Bit', off, 1, k ? 'Yes' : 'No', fg.children);
  L.f('Sequence Number Bit', off, 1, s ? 'Yes' : 'No', fg.children);
  if (ver === 1) L.f('Acknowledgment Present', off + 1, 1, ack ? 'Yes' : 'No', fg.children);
  L.f('Version', off + 1, 1, ver, fg.children);
  const proto = L.u16(off + 2, 'Protocol Type');
  L.f('Protocol Type', off + 2, 2, etherName(proto));
  let p = off + 4;
  const parts: string[] = [];
  if (c || r) {
    L.f('Checksum', p, 2, hex16(L.u16(p, 'Checksum')));
    L.f('Offset', p + 2, 2, L.u16(p + 2, 'Offset'));
    p += 4;
  }
  if (k) {
    if (ver === 1) {
      L.f('Payload Length', p, 2, L.u16(p, 'Payload Length'));
      const call = L.u16(p + 2, 'Call ID');
      L.f('Call ID', p + 2, 2, call);
      parts.push(`call ${call}`);
    } else {
      const key = L.u32(p, 'Key');
      L.f('Key', p, 4, `0x${key.toString(16).padStart(8, '0')}`);
      parts.push(`key=0x${key.toString(16)}`);
    }
    p += 4;
  }
  let seq: number | null = null;
  if (s) {
    seq = L.u32(p, 'Sequence Number');
    L.f('Sequence Number', p, 4, seq);
    parts.push(`seq ${seq}`);
    p += 4;
  }
  if (ack) {
    L.f('Acknowledgment Number', p, 4, L.u32(p, 'Acknowledgment Number'));
    p += 4;
  }
  L.title = `Generic Routing Encapsulation (${etherName(proto)})`;
  ctx.say(
    `${ip.src} > ${ip.dst}: GREv${ver}, ${parts.length ? `${parts.join(', ')}, ` : ''}proto ${etherName(proto)}, length ${end - off}: `,
  );
  if (ver !== 0 || ip.depth >= MAX_DEPTH) return payload(ctx, p, end);
  const depth = ip.depth + 1;
  if (proto === 0x6558) return ethernet(ctx, p, depth, end - p);
  // ERSPAN type I has no header and no sequence number; II has both.
  if (proto === ERSPAN_II && seq === null) return ethernet(ctx, p, depth, end - p);
  if (proto === ERSPAN_II || proto === ERSPAN_III) return erspan(ctx, p, end, depth, proto === ERSPAN_III);
  network(ctx, proto, p, depth);
}

function erspan(ctx: Ctx, off: number, end: number, depth: number, v3: boolean): void {
  const L = ctx.layer('erspan', `Encapsulated Remote Switch Packet ANalysis Type ${v3 ? 'III' : 'II'}`, off);
  const w0 = L.u16(off, 'Version');
  const ver = w0 >> 12;
  const vlan = w0 & 0xfff;
  L.f('Version', off, 1, ver);
  L.f('Vlan', off, 2, vlan);
  const w1 = L.u16(off + 2, 'Session ID');
  L.f('COS', off + 2, 1, w1 >> 13);
  L.f(v3 ? 'BSO' : 'Encap', off + 2, 1, (w1 >> 11) & 3);
  L.f('Truncated', off + 2, 1, (w1 >> 10) & 1 ? 'Yes' : 'No');
  const session = w1 & 0x3ff;
  L.f('Session ID', off + 2, 2, session);
  let p = off + 8;
  let ft = 0;
  if (!v3) {
    L.f('Index', off + 4, 4, L.u32(off + 4, 'Index') & 0xfffff);
  } else {
    L.f('Timestamp', off + 4, 4, L.u32(off + 4, 'Timestamp'));
    L.f('Security Group Tag', off + 8, 2, L.u16(off + 8, 'Security Group Tag'));
    const w3 = L.u16(off + 10, 'Flags');
    ft = (w3 >> 10) & 0x1f;
    L.f('Frame Type', off + 10, 1, ft === 0 ? 'Ethernet (0)' : ft === 2 ? 'IP (2)' : ft);
    L.f('Hardware ID', off + 10, 2, hex8((w3 >> 4) & 0x3f));
    L.f('Direction', off + 11, 1, (w3 >> 3) & 1 ? 'Egress' : 'Ingress');
    L.f('Granularity', off + 11, 1, (w3 >> 1) & 3);
    p = off + 12;
    if (w3 & 1) {
      // Optional platform-specific subheader.
      L.f('Platform Specific Subheader', p, 8, hex16(L.u16(p, 'Platform ID')));
      p += 8;
    }
  }
  L.title = `${L.title}, Session: ${session}`;
  ctx.say(`ERSPAN, type ${v3 ? 'III' : 'II'}, session ${session}, vlan ${vlan}: `);
  if (ft === 0) ethernet(ctx, p, depth, end - p);
  else payload(ctx, p, end);
}
