// Text shown on and around hops. Pure, so the layout (which sizes boxes by their lines) and the tests
// agree with what the SVG prints. The words themselves (NAT, drop, protocol names) come from the
// shared vocabulary, so the diagram says what the CLI and the pcapng comments say.
import type { Hop, HopProgram, Journey } from '../../../server/protocol/tracer';
import { dropText, firstDrop } from '../../../server/protocol/vocab';
import { tx } from '../../i18n/current';

/** `+40.1 µs`, `+1.23 ms`: kernel deltas are µs-scale, a projector wants 3 significant digits. */
export function fmtDelta(ns: number): string {
  if (ns < 1_000) return `+${Math.round(ns)} ns`;
  if (ns < 1_000_000) return `+${(ns / 1_000).toPrecision(3)} µs`;
  if (ns < 1_000_000_000) return `+${(ns / 1_000_000).toPrecision(3)} ms`;
  return `+${(ns / 1_000_000_000).toPrecision(3)} s`;
}

export const DIR_LABEL = { ingress: '⇢ ingress', egress: 'egress ⇢', end: '■ end' } as const satisfies Record<
  Hop['dir'],
  string
>;

/** Short hook names so a hop's netfilter line fits: PRE ✓ FWD ✓. */
const NF_SHORT = {
  PRE_ROUTING: 'PRE',
  LOCAL_IN: 'IN',
  FORWARD: 'FWD',
  LOCAL_OUT: 'OUT',
  POST_ROUTING: 'POST',
} as const;
const NF_MARK = { accept: '✓', drop: '✗', seen: '·' } as const;

export function nfLine(h: Hop): string | undefined {
  const steps = h.netfilter ?? [];
  const parts = steps.map((s) => `${NF_SHORT[s.hook]} ${NF_MARK[s.verdict]}`);
  if (h.rules && h.rules.length > 0) parts.push(tx('format.ruleCount', { n: h.rules.length }));
  return parts.length > 0 ? `nf ${parts.join('  ')}` : undefined;
}

/** The end-of-life line: `end: CONSUMED` for ordinary ends, `DROP NETFILTER_DROP` for real drops. */
export function endLine(h: Hop): string | undefined {
  if (!h.drop) return h.dir === 'end' ? tx('format.freed') : undefined;
  return dropText(h.drop);
}

export function ellipsize(s: string, maxChars: number): string {
  return s.length <= maxChars ? s : `${s.slice(0, Math.max(1, maxChars - 1))}…`;
}

/** Where the journey ended, in a few words, for the summary line and the live list. */
export function outcome(j: Journey): { label: string; tone: 'ok' | 'drop' | 'pending' | 'lost' } {
  if (j.pending) return { label: tx('format.tracing'), tone: 'pending' };
  const drop = firstDrop(j);
  if (drop) {
    const where = { ns: drop.netns, reason: drop.drop.reason };
    return { label: tx(drop.drop.byNetfilter ? 'format.droppedInNf' : 'format.droppedIn', where), tone: 'drop' };
  }
  if (j.delivered) return { label: tx(j.reply ? 'format.deliveredReply' : 'format.delivered'), tone: 'ok' };
  // lost hops: no drop claimed
  if (j.interrupted) return { label: tx('format.interrupted', { why: j.interrupted }), tone: 'lost' };
  if (j.timedOut) return { label: tx('format.timedOut'), tone: 'lost' };
  return { label: tx('format.notDelivered'), tone: 'lost' };
}

/** `tc-ingress` -> `tc`, `tcx-egress` -> `tcx`, `xdp` -> `xdp`: the direction is the hop's own. */
const hookKind = (hook: string): string => hook.replace(/-(ingress|egress)$/, '');

/**
 * One program badge: `tc from_container → redirected peer to pod-c/eth0`, `xdp xdp_drop ✗ dropped`,
 * `tc drop_all ✓ passed`; just `tc name` when the verdict is not known.
 */
export function programLine(p: HopProgram): string {
  const head = `${hookKind(p.hook)} ${p.name}`;
  if (p.verdict === 'redirected') {
    const r = p.redirect;
    return r
      ? tx('format.redirectedTo', { head, how: r.how, to: `${r.netns}/${r.ifname}` })
      : tx('format.redirected', { head });
  }
  if (p.verdict === 'dropped') return tx('format.dropped', { head });
  if (p.verdict === 'passed') return tx('format.passed', { head });
  return head;
}

/** `inferred: peer redirect`, `from node2/eth0`: two box lines for a hop no tracepoint saw. */
export function inferredLines(h: Hop): string[] {
  if (!h.inferred) return [];
  return [tx('format.inferredPeer'), tx('format.from', { from: h.inferred.from })];
}

export { socketRewriteLine } from '../../../server/protocol/vocab';
