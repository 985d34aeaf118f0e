// The UDP encapsulations: VXLAN and Geneve as Cilium uses them (Geneve's option may carry the DSR
// address), VXLAN-GPE, and WireGuard's message header.
import type { Ctx, LayerBuilder, MutableField } from './ctx';
import { hex, hex16, hex8 } from './ctx';
import { etherName, payload } from './common';
import { networkOrderDsr } from './dsr';
import { ethernet, network } from './link';
import { DSR } from './names';
import { nextProtocol, nextProtocolName } from './shims';

export function vxlan(ctx: Ctx, off: number, end: number, depth: number): void {
  const L = ctx.layer('vxlan', 'Virtual eXtensible Local Area Network', off);
  const flags = L.u8(off, 'Flags');
  L.f('Flags', off, 1, `${hex8(flags)}${flags & 0x08 ? ' (VNI valid)' : ''}`);
  L.f('Reserved', off + 1, 3, hex(ctx.buf, off + 1, off + 4));
  const vni = L.u24(off + 4, 'VNI');
  L.f('VXLAN Network Identifier (VNI)', off + 4, 3, vni);
  L.f('Reserved', off + 7, 1, hex8(L.u8(off + 7, 'Reserved')));
  L.title = `Virtual eXtensible Local Area Network, VNI: ${vni}`;
  ctx.say(`VXLAN, flags [${flags & 0x08 ? 'I' : '.'}] (${hex8(flags)}), vni ${vni}: `);
  ethernet(ctx, off + 8, depth + 1, end - off - 8);
}

export function geneve(ctx: Ctx, off: number, end: number, depth: number): void {
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
  while (p < oEnd) p = geneveOption(ctx, L, p, oEnd);
  ctx.say(
    `Geneve, flags [${b1 & 0x40 ? 'C' : 'none'}], vni ${vni}, proto ${etherName(proto)}, options [${optLen} bytes]: `,
  );
  if (proto === 0x6558) ethernet(ctx, oEnd, depth + 1, end - oEnd);
  else network(ctx, proto, oEnd, depth + 1);
}

/** One Geneve option at `p`; returns where the next one starts. */
function geneveOption(ctx: Ctx, L: LayerBuilder, p: number, oEnd: number): number {
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
    networkOrderDsr(ctx, L, g, { encoding: 'geneve-option', optStart: p, d, dEnd: d + olen }, olen === 20 ? 16 : 4);
  } else if (olen > 0) {
    L.f('Data', d, olen, hex(ctx.buf, d, d + olen), kids);
  }
  return d + olen;
}

/** VXLAN-GPE (UDP 4790): VXLAN with a next-protocol byte, often carrying NSH. */
export function vxlanGpe(ctx: Ctx, off: number, end: number, depth: number): void {
  const L = ctx.layer('vxlan', 'Virtual eXtensible Local Area Network (Generic Protocol Extension)', off);
  const flags = L.u8(off, 'Flags');
  L.f('Flags', off, 1, hex8(flags));
  const np = L.u8(off + 3, 'Next Protocol');
  L.f('Next Protocol', off + 3, 1, nextProtocolName(np));
  const vni = L.u24(off + 4, 'VNI');
  L.f('VXLAN Network Identifier (VNI)', off + 4, 3, vni);
  L.title = `Virtual eXtensible Local Area Network (GPE), VNI: ${vni}`;
  ctx.say(`VXLAN-GPE, flags [${hex8(flags)}], vni ${vni}, next-protocol ${hex8(np)}: `);
  nextProtocol(ctx, np, off + 8, end, depth);
}

const WG_TYPES: Readonly<Record<number, string>> = {
  1: 'Handshake Initiation',
  2: 'Handshake Response',
  3: 'Cookie Reply',
  4: 'Transport Data',
};

/** WireGuard's message header (little-endian fields); the rest is ciphertext and stays opaque. */
export function wireguard(ctx: Ctx, off: number, end: number): void {
  const L = ctx.layer('wireguard', 'WireGuard Protocol', off);
  const type = L.u8(off, 'Type');
  const name = WG_TYPES[type] ?? `unknown (${type})`;
  L.f('Type', off, 1, `${name} (${type})`);
  L.f('Reserved', off + 1, 3, hex(ctx.buf, off + 1, off + 4));
  const idx = (at: number, field: string): string => {
    const v = `0x${L.u32le(at, field).toString(16).padStart(8, '0')}`;
    L.f(field, at, 4, v);
    return v;
  };
  let s = `WireGuard ${name.toLowerCase()}`;
  let p = off + 4;
  if (type === 1) {
    s += `, sender ${idx(p, 'Sender')}`;
    p += 4;
  } else if (type === 2) {
    s += `, sender ${idx(p, 'Sender')}, receiver ${idx(p + 4, 'Receiver')}`;
    p += 8;
  } else if (type === 3 || type === 4) {
    s += `, receiver ${idx(p, 'Receiver')}`;
    p += 4;
    if (type === 4) {
      L.need(p, 8, 'Counter');
      const lo = L.u32le(p, 'Counter');
      const hi = L.u32le(p + 4, 'Counter');
      const counter = (BigInt(hi) << 32n) | BigInt(lo);
      L.f('Counter', p, 8, counter.toString());
      s += `, counter ${counter}`;
      p += 8;
    }
  }
  L.title = `WireGuard Protocol, ${name}`;
  ctx.say(`${s}, length ${end - off}`);
  payload(ctx, p, end);
}
