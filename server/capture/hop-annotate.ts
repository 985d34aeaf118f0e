// The tracer's hops as packet annotations: when a journey crosses an interface someone is capturing on,
// the frames it matches there (same IPv4 source, destination, protocol and IP id) get a `hop:` comment
// (namespace, direction, the hop's reason, NAT, verdict), shown in the detail view and exported into the
// pcapng.
import type { PacketAnnotation } from '../protocol/capture';
import type { Hop, Journey } from '../protocol/tracer';
import { dropLine, flowLine, natText, protoNumber, verdictText } from '../protocol/vocab';
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
    case LINKTYPE.IPV4:
      off = 0;
      type = 0x0800;
      break;
    default:
      return undefined;
  }
  if (type !== 0x0800 || off + 20 > data.length || (data[off] ?? 0) >> 4 !== 4) return undefined;
  const ip = (o: number) => `${data[o]}.${data[o + 1]}.${data[o + 2]}.${data[o + 3]}`;
  return { src: ip(off + 12), dst: ip(off + 16), proto: data[off + 9] ?? 0, id: u16(off + 4) };
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
    const k = identityKey(h.src, h.dst, protoNumber(h.proto) ?? -1, h.ipId);
    wanted.set(k, [...(wanted.get(k) ?? []), entry]);
  }
  // One pass over the frames, whatever the number of hops.
  const byIndex = new Map<number, PacketAnnotation[]>();
  const found = new Set<string>();
  c.forRecent((index, data, linktype) => {
    const id = ipv4Identity(data, linktype);
    if (!id) return;
    const k = identityKey(id.src, id.dst, id.proto, id.id);
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
