// The tracepkt-style table `packet-journey follow` prints without --json.
import type { Hop, Journey } from '../protocol/tracer';
import {
  dropLine,
  droppedInText,
  firstDrop,
  flowLine,
  interruptedText,
  isEchoReply,
  isEchoRequest,
  natText,
  socketRewriteLine,
  verdictText,
} from '../protocol/vocab';

function typeOf(h: Hop): string {
  if (h.icmp) {
    if (isEchoRequest(h.proto, h.icmp.type)) return 'request';
    if (isEchoReply(h.proto, h.icmp.type)) return 'reply';
    return `${h.proto} ${h.icmp.type}/${h.icmp.code}`;
  }
  return h.tcpFlags ? `${h.proto} ${h.tcpFlags}` : h.proto;
}

function iptablesOf(h: Hop): string {
  const parts = [
    // Not a tracepoint's sighting: say so where a reader compares the table with tcpdump.
    h.inferred && `inferred: peer redirect from ${h.inferred.from}`,
    h.nat && natText(h.nat),
    verdictText(h),
    h.drop && dropLine(h.drop),
  ];
  return parts.filter(Boolean).join(', ');
}

/** A table row, or a line of its own under the hop it explains (not counted in the column widths). */
type Row = string[] | { readonly text: string };

function rows(hops: readonly Hop[]): Row[] {
  const out: Row[] = [];
  for (const h of hops) {
    const iface =
      h.dir === 'end' ? (h.ifname ? `(${h.ifname})` : '-') : `${h.ifname} ${h.dir === 'egress' ? '→' : '←'}`;
    out.push([
      h.netns,
      iface,
      h.dir === 'end' ? (h.drop?.isRealDrop ? 'DROP' : 'end') : typeOf(h),
      flowLine(h),
      iptablesOf(h),
    ]);
    for (const r of h.rules ?? []) out.push(['', '', '', '', `  ${r}`]);
    if (h.reason) out.push({ text: `    ↳ ${h.reason}` });
  }
  return out;
}

export function formatJourney(j: Journey): string {
  const header = ['NETWORK NS', 'INTERFACE', 'TYPE', 'ADDRESSES', 'IPTABLES'];
  const body = [...rows(j.hops), ...(j.reply ? [['', '', '', '', ''], ...rows(j.reply.hops)] : [])];
  const all = [header, ...body].filter((r): r is string[] => Array.isArray(r));
  const w = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: Row): string =>
    'text' in r
      ? r.text
      : r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i] ?? 0)))
          .join('  ')
          .trimEnd();
  const drop = firstDrop(j);
  // Hops were lost: not seen delivered is not a drop, unless one was seen.
  const verdict = j.delivered
    ? 'delivered'
    : j.interrupted && !drop
      ? `${interruptedText(j.interrupted)}, delivery unknown`
      : j.timedOut
        ? 'NOT delivered (timed out)'
        : 'NOT delivered';
  const tail = [
    `${j.proto} ${j.from} → ${j.to}: ${verdict}${drop ? `, ${droppedInText(drop)}` : ''}` +
      `${j.generator ? ` [${j.generator}]` : ''} in ${j.durationMs} ms`,
  ];
  if (j.diagnosis) tail.push(`why: ${j.diagnosis}`);
  // The socket-level rewrite came before any packet: it heads the table, as it heads the journey.
  const head = [
    ...(j.socketRewrite ? [`socket: ${socketRewriteLine(j.socketRewrite)}`] : []),
    ...(j.socketPrograms ? [`socket programs: ${j.socketPrograms.join(', ')}`] : []),
  ];
  if (head.length) head.push('');
  return [...head, line(header), ...body.map(line), '', ...tail].join('\n');
}
