// The packet decoder: pure TypeScript, no shell-outs. `decodeFrame` never throws: a truncated or
// malformed frame comes back with `malformed` set and the layers decoded up to the bad field.
// One file per layer family: link.ts (Ethernet, VLAN, SLL, ARP), ipv4.ts (with options), ipv6.ts (with
// extension headers), transport.ts (TCP, UDP), tunnels.ts (VXLAN, Geneve), icmp.ts, dsr.ts (Cilium's DSR
// option in all three encodings), common.ts (what they share: payload, padding, IP addresses, ports);
// ctx.ts has the bounds-checked reads, names.ts the field tables.
import type { DecodedPacket, PacketAnnotation, PacketLayer } from '../../protocol/capture';
import { Ctx, Truncated } from './ctx';
import { ethernet, rawIp, sll, sll2 } from './link';

/** pcap/pcapng link types we decode (others are shown as raw data). */
export const LINKTYPE = { ETHERNET: 1, RAW: 101, LINUX_SLL: 113, LINUX_SLL2: 276, IPV4: 228, IPV6: 229 } as const;

export interface FrameMeta {
  readonly index: number;
  readonly linktype: number;
  readonly tsSec: number;
  readonly tsNsec: number;
  /** Original length on the wire (>= captured bytes when the snaplen cut the frame). */
  readonly len: number;
}

/** `light`: no field tree (layers keep their titles and ranges), for the live list at packet rate. */
export function decodeFrame(data: Uint8Array, meta: FrameMeta, opts: { light?: boolean } = {}): DecodedPacket {
  const ctx = new Ctx(data, opts.light ?? false);
  let malformed: DecodedPacket['malformed'] = null;
  try {
    switch (meta.linktype) {
      case LINKTYPE.ETHERNET:
        ethernet(ctx, 0, 0, meta.len);
        break;
      case LINKTYPE.LINUX_SLL:
        sll(ctx, 0, 0);
        break;
      case LINKTYPE.LINUX_SLL2:
        sll2(ctx, 0, 0);
        break;
      case LINKTYPE.RAW:
      case LINKTYPE.IPV4:
      case LINKTYPE.IPV6:
      case 12:
        rawIp(ctx, 0, 0);
        break;
      default: {
        const L = ctx.layer('payload', `Link type ${meta.linktype} (not decoded)`, 0);
        if (data.length) L.f('Data', 0, data.length, `${data.length} bytes`);
        ctx.summary.push(`linktype ${meta.linktype}, length ${meta.len}`);
      }
    }
  } catch (e) {
    if (e instanceof Truncated) {
      malformed = { layer: e.layer, field: e.field, offset: e.offset, reason: e.reason };
    } else {
      // A decoder bug must not take the capture down; the fuzz test asserts this branch never runs.
      malformed = {
        layer: ctx.layers.at(-1)?.title ?? 'frame',
        field: '',
        offset: 0,
        reason: `internal decoder error: ${e instanceof Error ? e.message : String(e)}`,
      };
    }
  }
  const layers: PacketLayer[] = ctx.layers.map((l) => l.build());
  let summary = ctx.summary.join('');
  if (malformed) summary += ` [malformed: ${malformed.reason}]`;
  else if (data.length < meta.len) summary += ` [|capture cut at ${data.length} of ${meta.len} bytes]`;
  return {
    index: meta.index,
    tsSec: meta.tsSec,
    tsNsec: meta.tsNsec,
    caplen: data.length,
    len: meta.len,
    layers,
    summary,
    dsr: ctx.dsr,
    malformed,
  };
}

/** The annotations every exported packet carries from the decode itself (DSR, malformed). */
export function decodeAnnotations(p: DecodedPacket): PacketAnnotation[] {
  const out: PacketAnnotation[] = [];
  if (p.dsr) {
    const d = p.dsr;
    const how =
      d.encoding === 'ipv4-option'
        ? `Cilium IPv4 option 0x9a, port bytes ${d.portHex} and address bytes ${d.addrHex} read little-endian (host order)`
        : d.encoding === 'ipv6-destopt'
          ? 'Cilium IPv6 Destination Option 0x1b, network order'
          : 'Cilium Geneve option class 0x014b type 0x81, network order';
    const svc = d.addr.includes(':') ? `[${d.addr}]:${d.port}` : `${d.addr}:${d.port}`;
    out.push({ source: 'dsr', text: `service ${svc} (${how})` });
  }
  if (p.malformed)
    out.push({
      source: 'decoder',
      text: `malformed at ${p.malformed.layer} / ${p.malformed.field}: ${p.malformed.reason}`,
    });
  return out;
}

export function toHex(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
}
