// The tracer's hops as packet annotations: when a journey crosses an interface someone is capturing on,
// the frames it matches there (same IPv4 source, destination, protocol and IP id; for IPv6, which has no
// id, the same addresses, length and ICMPv6 sequence or ports and flags) get a `hop:` comment
// (namespace, direction, the hop's reason, NAT, verdict), shown in the detail view and exported into the
// pcapng.
import type { PacketAnnotation } from '../protocol/capture';
import type { Hop, Journey } from '../protocol/tracer';
import { dropLine, flowLine, ipv6FromBytes, natText, protoNumber, tcpFlagString, verdictText } from '../protocol/vocab';
import { LINKTYPE } from './decode';
import type { Capture, CaptureManager } from './manager';

export interface Ipv4Identity {
  readonly src: string;
  readonly dst: string;
  readonly proto: number;
  readonly id: number;
}

/** The IPv4 header's identity of a frame, or undefined if it carries no IPv4 (never throws). */
export function ipv4Identity(data: Uint8Array, linktype: number): Ipv4Identity | undefined {
  const at = ipHeaderAt(data, linktype);
  if (!at || at.type !== 0x0800) return undefined;
  const { off } = at;
  const u16 = (o: number) => ((data[o] ?? 0) << 8) | (data[o + 1] ?? 0);
  if (off + 20 > data.length || (data[off] ?? 0) >> 4 !== 4) return undefined;
  const ip = (o: number) => `${data[o]}.${data[o + 1]}.${data[o + 2]}.${data[o + 3]}`;
  return { src: ip(off + 12), dst: ip(off + 16), proto: data[off + 9] ?? 0, id: u16(off + 4) };
}

/**
 * IPv6 has no identification field: a frame is told by its addresses, next header, length and what
 * distinguishes one packet of its flow from the next (ICMPv6 type and sequence, ports and TCP flags).
 * The hop side is hopKey. Undefined when the frame carries no IPv6 (never throws).
 */
export function ipv6Key(data: Uint8Array, linktype: number): string | undefined {
  const at = ipHeaderAt(data, linktype);
  if (!at || (at.type !== 0x86dd && at.type !== 0x0800)) return undefined;
  const { off } = at;
  if (off + 40 > data.length || (data[off] ?? 0) >> 4 !== 6) return undefined;
  const u16 = (o: number) => ((data[o] ?? 0) << 8) | (data[o + 1] ?? 0);
  const proto = data[off + 6] ?? 0;
  const l4 = off + 40;
  return v6Key(ipv6FromBytes(data, off + 8), ipv6FromBytes(data, off + 24), proto, u16(off + 4) + 40, {
    icmp: proto === 58 ? [data[l4] ?? 0, u16(l4 + 6)] : undefined,
    ports: proto === 6 || proto === 17 ? [u16(l4), u16(l4 + 2)] : undefined,
    tcpFlags: proto === 6 ? tcpFlagString(data[l4 + 13] ?? 0) : undefined,
  });
}

function v6Key(
  src: string,
  dst: string,
  proto: number,
  len: number,
  o: { icmp?: readonly [number, number]; ports?: readonly [number, number]; tcpFlags?: string },
): string {
  return `${src}>${dst}/${proto}/v6:${len}/${o.icmp?.join('.') ?? ''}/${o.ports?.join('.') ?? ''}/${o.tcpFlags ?? ''}`;
}

/** The same key from a hop (an IPv4 hop's is its header identity). */
function hopKey(h: Hop): string {
  const proto = protoNumber(h.proto) ?? -1;
  if (!h.ipv6) return identityKey(h.src, h.dst, proto, h.ipId);
  return v6Key(h.src, h.dst, proto, h.totLen, {
    icmp: h.icmp && [h.icmp.type, h.icmp.seq],
    ports: h.sport !== undefined && h.dport !== undefined ? [h.sport, h.dport] : undefined,
    tcpFlags: proto === 6 ? (h.tcpFlags ?? '') : undefined,
  });
}

/** Where a frame's IP header starts and the EtherType that announced it. */
function ipHeaderAt(data: Uint8Array, linktype: number): { off: number; type: number } | undefined {
  let off: number;
  let type: number;
  const u16 = (o: number) => ((data[o] ?? 0) << 8) | (data[o + 1] ?? 0);
  switch (linktype) {
    case LINKTYPE.ETHERNET:
      off = 14;
      type = u16(12);
      // 802.1Q / 802.1ad tags, possibly stacked.
      while ((type === 0x8100 || type === 0x88a8) && off + 4 <= data.length) {
        type = u16(off + 2);
        off += 4;
      }
      break;
    case LINKTYPE.LINUX_SLL:
      off = 16;
      type = u16(14);
      break;
    case LINKTYPE.LINUX_SLL2:
      off = 20;
      type = u16(0);
      break;
    case LINKTYPE.RAW:
      // Raw IP: the version nibble says which (ipv6Key also accepts 0x0800 for this reason).
      off = 0;
      type = (data[0] ?? 0) >> 4 === 6 ? 0x86dd : 0x0800;
      break;
    case LINKTYPE.IPV4:
      off = 0;
      type = 0x0800;
      break;
    default:
      return undefined;
  }
  return { off, type };
}

/** One line per hop, as it appears in Wireshark's packet comments; why it went there right after the flow. */
export function hopText(j: Journey, leg: 'request' | 'reply', h: Hop): string {
  const parts = [`${h.netns} ${h.ifname} ${h.dir}`, flowLine(h)];
  if (h.reason) parts.push(`why: ${h.reason}`);
  for (const t of [h.nat && natText(h.nat), verdictText(h), h.drop && dropLine(h.drop)]) if (t) parts.push(t);
  if (h.rules?.length) parts.push(h.rules.join(' | '));
  parts.push(`journey ${j.id} ${j.from} → ${j.to} ${leg} hop ${h.seq}`);
  return parts.join('; ');
}

const identityKey = (src: string, dst: string, proto: number, id: number): string => `${src}>${dst}/${proto}/${id}`;

/** Annotates every frame of `c` that one of these hops saw. Returns the hops that found no frame yet. */
async function annotateCapture(
  c: Capture,
  j: Journey,
  hops: readonly [Hop, 'request' | 'reply'][],
): Promise<typeof hops> {
  const wanted = new Map<string, [Hop, 'request' | 'reply'][]>();
  for (const entry of hops) {
    const [h] = entry;
    const k = hopKey(h);
    wanted.set(k, [...(wanted.get(k) ?? []), entry]);
  }
  // One pass over the frames, whatever the number of hops.
  const byIndex = new Map<number, PacketAnnotation[]>();
  const found = new Set<string>();
  c.forRecent((index, data, linktype) => {
    const id = ipv4Identity(data, linktype);
    const k = id ? identityKey(id.src, id.dst, id.proto, id.id) : ipv6Key(data, linktype);
    if (!k) return;
    const here = wanted.get(k);
    if (!here) return;
    found.add(k);
    byIndex.set(index, [
      ...(byIndex.get(index) ?? []),
      ...here.map(([h, leg]): PacketAnnotation => ({ source: 'hop', text: hopText(j, leg, h) })),
    ]);
  });
  for (const [i, list] of byIndex) await c.addAnnotations(i, list);
  return [...wanted].filter(([k]) => !found.has(k)).flatMap(([, entries]) => entries);
}

/** Frames reach the server through tcpdump's pipe a little after the kernel saw them: one retry. */
const RETRY_MS = 300;

export async function annotateJourney(manager: CaptureManager, j: Journey): Promise<void> {
  const captures = manager.list().filter((c) => c.live);
  if (captures.length === 0) return;
  const legs: [Hop, 'request' | 'reply'][] = [
    ...j.hops.map((h): [Hop, 'request'] => [h, 'request']),
    ...(j.reply?.hops ?? []).map((h): [Hop, 'reply'] => [h, 'reply']),
  ];
  await Promise.all(
    captures.map(async (c) => {
      // Only device hops on this capture's interface: `end` hops and netfilter steps name no frame of their own.
      const here = legs.filter(([h]) => h.dir !== 'end' && h.netns === c.netns && h.ifname === c.iface);
      if (here.length === 0) return;
      const rest = await annotateCapture(c, j, here);
      if (rest.length > 0) {
        await new Promise((r) => setTimeout(r, RETRY_MS));
        await annotateCapture(c, j, rest);
      }
    }),
  );
}
