// The packet decoder: pure TypeScript, no shell-outs. `decodeFrame` never throws: a truncated or
// malformed frame comes back with `malformed` set and the layers decoded up to the bad field.
// One file per layer family: link.ts (Ethernet, VLAN, SLL, BSD loopback, NFLOG, ARP), ipv4.ts (with
// options), ipv6.ts (with extension headers), transport.ts (TCP, UDP, IPIP, 6in4), tunnels.ts (VXLAN,
// Geneve, VXLAN-GPE, WireGuard), gre.ts (GRE, ERSPAN), shims.ts (MPLS, NSH, MACsec), icmp.ts, dsr.ts
// (Cilium's DSR option in all three encodings), common.ts (what they share: payload, padding, IP
// addresses, ports); ctx.ts has the bounds-checked reads, names.ts the field tables.
import type { DecodedPacket, PacketAnnotation, PacketLayer } from '../../protocol/capture';
import { Ctx, Truncated } from './ctx';
import { ethernet, loopback, nflog, rawIp, sll, sll2 } from './link';

/** pcap/pcapng link types we decode (others are shown as raw data). */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  LINUX_SLL2: 276,
} as const;

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
  const ctx = new Ctx(data, opts.light ?? false, Math.max(meta.len, data.length));
  let malformed: DecodedPacket['malformed'] = null;
  let hard = false;
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
      case LINKTYPE.NULL:
      case LINKTYPE.LOOP:
        loopback(ctx, 0, meta.linktype === LINKTYPE.LOOP);
        break;
      case LINKTYPE.NFLOG:
        nflog(ctx, 0);
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
        ctx.say(`linktype ${meta.linktype}, length ${meta.len}`);
      }
    }
  } catch (e) {
    hard = true;
    if (e instanceof Truncated) {
      malformed = { layer: e.layer, field: e.field, offset: e.offset, reason: e.reason };
      markMalformed(ctx, e);
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
  const s = ctx.stepped;
  if (!malformed && s) malformed = { layer: s.layer, field: s.field, offset: s.offset, reason: s.reason };
  const layers: PacketLayer[] = ctx.layers.map((l) => l.build());
  let summary = ctx.summary.join('');
  // What the bad layer had read (addresses, ports) stays, then tcpdump's `[|proto]`.
  if (hard) summary += `${ctx.partial ?? ''}[|${ctx.layers.at(-1)?.proto ?? 'frame'}]`;
  for (const n of ctx.notes) summary += ` [${n}]`;
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

/** The bad layer keeps its fields; the bytes from the bad one on are one `Malformed` field. */
function markMalformed(ctx: Ctx, e: Truncated): void {
  const L = ctx.layers.at(-1);
  if (!L || ctx.light) return;
  const end = ctx.buf.length;
  const start = Math.min(Math.max(e.offset, L.start), end);
  L.fields.push({ name: 'Malformed', value: e.reason, start, end });
  L.end = Math.max(L.end, end);
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
