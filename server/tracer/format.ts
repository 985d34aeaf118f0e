// The tracepkt-style table `packet-journey follow` prints without --json.
import type { Hop, Journey } from '../protocol/tracer';

const ep = (addr: string, port: number | undefined): string => (port !== undefined ? `${addr}:${port}` : addr);

function typeOf(h: Hop): string {
  if (h.icmp) {
    const t = h.icmp.type === 8 ? 'request' : h.icmp.type === 0 ? 'reply' : `icmp ${h.icmp.type}/${h.icmp.code}`;
    return t;
  }
  return h.tcpFlags ? `${h.proto} ${h.tcpFlags}` : h.proto;
}

function iptablesOf(h: Hop): string {
  const parts: string[] = [];
  if (h.nat) parts.push(`${h.nat.kind.toUpperCase()} ${h.nat.from} → ${h.nat.to}`);
  for (const n of h.netfilter ?? []) if (n.verdict !== 'seen') parts.push(`${n.hook} ${n.verdict.toUpperCase()}`);
  if (h.drop) parts.push(h.drop.isRealDrop ? `DROP ${h.drop.reason} at ${h.drop.where}` : `end: ${h.drop.reason}`);
  return parts.join(', ');
}

function rows(hops: readonly Hop[]): string[][] {
  const out: string[][] = [];
  for (const h of hops) {
    const iface =
      h.dir === 'end' ? (h.ifname ? `(${h.ifname})` : '-') : `${h.ifname} ${h.dir === 'egress' ? '→' : '←'}`;
    out.push([
      h.netns,
      iface,
      h.dir === 'end' ? (h.drop?.isRealDrop ? 'DROP' : 'end') : typeOf(h),
      `${ep(h.src, h.sport)} → ${ep(h.dst, h.dport)}`,
      iptablesOf(h),
    ]);
    for (const r of h.rules ?? []) out.push(['', '', '', '', `  ${r}`]);
  }
  return out;
}

export function formatJourney(j: Journey): string {
  const header = ['NETWORK NS', 'INTERFACE', 'TYPE', 'ADDRESSES', 'IPTABLES'];
  const body = [...rows(j.hops), ...(j.reply ? [['', '', '', '', ''], ...rows(j.reply.hops)] : [])];
  const all = [header, ...body];
  const w = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const verdict = j.delivered ? 'delivered' : j.timedOut ? 'NOT delivered (timed out)' : 'NOT delivered';
  const drop = [...j.hops, ...(j.reply?.hops ?? [])].find((h) => h.drop?.isRealDrop);
  const tail = [
    `${j.proto} ${j.from} → ${j.to}: ${verdict}${drop ? `, dropped in ${drop.netns} (${drop.drop?.reason}${drop.drop?.byNetfilter ? ', netfilter' : ''})` : ''}` +
      `${j.generator ? ` [${j.generator}]` : ''} in ${j.durationMs} ms`,
  ];
  return [line(header), ...body.map(line), '', ...tail].join('\n');
}
