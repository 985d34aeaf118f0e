// The pure half of the explainer: a finished journey plus facts -> a reason on every hop, verdicts on the
// programs at each hop, and a diagnosis when it did not arrive. Also says which facts it needs (plan*),
// so the reader (index.ts) looks up exactly the routes and tables these functions will read.
import { en } from '../../protocol/i18n/render';
import type { Msg } from '../../protocol/i18n/msg';
import type { Hop, HopProgram, Journey } from '../../protocol/tracer';
import { firstDrop } from '../../protocol/vocab';
import { ipv4DsrService } from '../../capture/decode/dsr';
import { culpritOf, dropKind, progsAt } from './drop';
import { routeKey, type Facts, type NsFacts, type RouteQuery } from './facts';
import * as w from './words';

const link = (f: NsFacts | undefined, name: string) => f?.links?.find((l) => l.ifname === name);
const isBridge = (f: NsFacts | undefined, name: string): boolean => link(f, name)?.kind === 'bridge';

/** The bridge a device is a port of, when it is one. */
export function bridgeOf(f: NsFacts | undefined, name: string): string | undefined {
  const m = link(f, name)?.master;
  return m && isBridge(f, m) ? m : undefined;
}

/** The hops of the namespace visit that hop `i` belongs to (consecutive hops in one namespace). */
export function segmentOf(hops: readonly Hop[], i: number): Hop[] {
  const ns = hops[i]?.netnsInode;
  let a = i;
  let b = i;
  while (a > 0 && hops[a - 1]?.netnsInode === ns) a--;
  while (b + 1 < hops.length && hops[b + 1]?.netnsInode === ns) b++;
  return hops.slice(a, b + 1);
}

/** The last ingress before hop `i` in the same namespace visit: where a forwarded packet came in. */
function ingressBefore(hops: readonly Hop[], i: number): Hop | undefined {
  const ns = hops[i]?.netnsInode;
  for (let k = i - 1; k >= 0 && hops[k]?.netnsInode === ns; k--) if (hops[k]?.dir === 'ingress') return hops[k];
  return undefined;
}

/**
 * The route look-up an egress hop was decided by: DST from SRC, with the in-interface when the packet was
 * forwarded (a bridge port's bridge stands for the port). Undefined for a bridged hop (the FDB decides).
 */
export function routeQueryFor(hops: readonly Hop[], i: number, f: NsFacts | undefined): RouteQuery | undefined {
  const h = hops[i];
  if (!h || h.dir !== 'egress' || bridgeOf(f, h.ifname)) return undefined;
  const inHop = ingressBefore(hops, i);
  if (!inHop) return { dst: h.dst, src: h.src };
  return { dst: h.dst, src: inHop.src, iif: bridgeOf(f, inHop.ifname) ?? inHop.ifname };
}

/** Bridges whose FDB the journey's bridged hops need. */
export function bridgesNeeded(hops: readonly Hop[], ns: string, f: NsFacts | undefined): string[] {
  const out = new Set<string>();
  for (const h of hops) {
    const br = h.netns === ns && h.dir === 'egress' ? bridgeOf(f, h.ifname) : undefined;
    if (br) out.add(br);
  }
  return [...out];
}

function routedReason(hops: readonly Hop[], i: number, f: NsFacts | undefined): Msg {
  const h = hops[i] as Hop;
  const q = routeQueryFor(hops, i, f);
  const r = q && f?.routes?.get(routeKey(q));
  if (!r) return w.routedUnknownText(h.netns);
  if ('error' in r) return w.routedUnknownText(h.netns, r.error);
  // The route names another device: a program or a policy rule moved it (said, not guessed at).
  return w.routedText(h.netns, r.dev === h.ifname ? w.routeMsg(r) : w.routeLeftMsg(r, h.ifname));
}

function bridgedReason(h: Hop, br: string, f: NsFacts | undefined): Msg {
  const e = f?.fdb?.find((x) => x.mac.toLowerCase() === h.dstMac.toLowerCase() && (x.master ?? br) === br);
  return w.bridgedText(br, h.dstMac, e?.ifname, h.ifname);
}

function endReason(hops: readonly Hop[], i: number, f: NsFacts | undefined): Msg {
  const h = hops[i] as Hop;
  const d = h.drop;
  if (!d) return w.endedText(h.netns);
  if (d.copy) return w.copyEndText(d.reason);
  if (!d.isRealDrop)
    return d.reason === 'CONSUMED' ? w.deliveredText(h.netns, d.reason) : w.endedText(h.netns, d.reason);
  return w.droppedText(h.netns, d.reason, culpritOf(h, segmentOf(hops, i), f).what);
}

function ingressReason(hops: readonly Hop[], i: number, f: NsFacts | undefined): Msg {
  const h = hops[i] as Hop;
  if (h.inferred) return w.inferredText(h.inferred.from);
  const p = hops[i - 1];
  if (!p) return w.receivedText(h.ifname);
  if (p.netnsInode !== h.netnsInode) return w.receivedFromText(p.netns, p.ifname);
  if (isBridge(f, h.ifname) && bridgeOf(f, p.ifname) === h.ifname) return w.upFromPortText(h.ifname, p.ifname);
  return w.receivedText(h.ifname);
}

/** The NAT rule traced in this namespace (follow --rules puts the lines on its first hop). */
function natRule(seg: readonly Hop[]): string | undefined {
  return seg.flatMap((h) => h.rules ?? []).find((l) => /\b(DNAT|SNAT|MASQUERADE|REDIRECT)\b/.test(l));
}

/** The one line of why hop `i` went where it did: its base (route, bridge, arrival, end), then NAT and verdicts. */
export function hopReasonParts(hops: readonly Hop[], i: number, f: NsFacts | undefined, progs?: HopProgram[]): Msg[] {
  const h = hops[i] as Hop;
  let base: Msg;
  if (h.dir === 'end') base = endReason(hops, i, f);
  else if (h.dir === 'ingress') base = ingressReason(hops, i, f);
  else {
    const br = bridgeOf(f, h.ifname);
    base = br ? bridgedReason(h, br, f) : routedReason(hops, i, f);
  }
  const parts = [base];
  if (h.nat) parts.push(w.natedText(h.nat, natRule(segmentOf(hops, i))));
  for (const p of progs ?? []) if (p.verdict) parts.push(w.verdictNote(p, h.drop?.inferred));
  return parts;
}

export const hopReason = (hops: readonly Hop[], i: number, f: NsFacts | undefined, progs?: HopProgram[]): Msg =>
  w.joined(hopReasonParts(hops, i, f, progs));

/** Whether going from `a` to the next hop `b` in one namespace is the stack's own path. */
function stackPath(a: Hop, b: Hop, f: NsFacts | undefined): boolean {
  if (b.ifname === a.ifname) return true;
  if (bridgeOf(f, a.ifname) === b.ifname || bridgeOf(f, b.ifname) === a.ifname) return true;
  // Netfilter saw it between: routed by the stack (the follow links netfilter everywhere).
  return (a.netfilter?.length ?? 0) > 0 || (b.netfilter?.length ?? 0) > 0;
}

function verdictOf(hops: readonly Hop[], i: number, p: HopProgram, f: NsFacts | undefined): HopProgram {
  const h = hops[i] as Hop;
  const next = hops[i + 1];
  if (!next) return p;
  if (next.dir === 'end' && next.drop?.isRealDrop) {
    const k = dropKind(next.drop);
    const mine = p.hook === 'xdp' ? k === 'xdp' : k === (p.hook.endsWith('ingress') ? 'tc-ingress' : 'tc-egress');
    return mine ? { ...p, verdict: 'dropped' } : { ...p, verdict: 'passed' };
  }
  const to = { netns: next.netns, ifname: next.ifname };
  if (next.inferred?.via === 'peer-redirect') return { ...p, verdict: 'redirected', redirect: { ...to, how: 'peer' } };
  if (next.netnsInode === h.netnsInode && next.dir !== 'end' && !stackPath(h, next, f)) {
    const how = next.dir === 'ingress' ? 'ingress' : 'egress';
    return { ...p, verdict: 'redirected', redirect: { ...to, how } };
  }
  return { ...p, verdict: 'passed' };
}

/** The programs at a hop's device and direction, with what they did when the journey tells. */
export function hopPrograms(hops: readonly Hop[], i: number, f: NsFacts | undefined): HopProgram[] | undefined {
  const h = hops[i] as Hop;
  if (h.dir === 'end') {
    // Native XDP runs where no tracepoint fires: its drop is the end hop itself (inferred, see hops.ts).
    if (!h.drop?.isRealDrop || !h.drop.inferred || dropKind(h.drop) !== 'xdp') return undefined;
    const xdp = progsAt(f, h.ifname, 'xdp').map(({ ifname: _d, pref: _p, ...p }) => ({
      ...p,
      verdict: 'dropped' as const,
    }));
    return xdp.length ? xdp : undefined;
  }
  const at = [...(h.dir === 'ingress' ? progsAt(f, h.ifname, 'xdp') : []), ...progsAt(f, h.ifname, h.dir)];
  if (at.length === 0) return undefined;
  return at.map(({ ifname: _dev, pref: _pref, ...p }) => verdictOf(hops, i, p, f));
}

/** A program at an earlier hop of this namespace visit that redirected the packet to hop `i`'s device. */
function redirectedBy(hops: readonly Hop[], i: number, progs: readonly (HopProgram[] | undefined)[]) {
  const h = hops[i] as Hop;
  for (let k = i - 1; k >= 0 && hops[k]?.netnsInode === h.netnsInode; k--) {
    const p = progs[k]?.find((x) => x.verdict === 'redirected' && x.redirect?.ifname === h.ifname);
    if (p) return { prog: p, at: (hops[k] as Hop).ifname };
  }
  return undefined;
}

/** Option types in the first bytes of an IPv4 option list (EOL ends it, NOP is one byte). */
function optionTypes(b: Uint8Array): number[] {
  const types: number[] = [];
  for (let i = 0; i < b.length;) {
    const t = b[i] as number;
    types.push(t);
    if (t === 0) break;
    const len = t === 1 ? 1 : (b[i + 1] ?? 0);
    if (len < 1) break;
    i += len;
  }
  return types;
}

/**
 * The header gained or lost IPv4 options between the previous IP sighting and this one (e.g. Cilium's
 * DSR option inserted by a tc program). The probe reads the options' first 8 bytes: their types, and a
 * DSR option's service, come from those. A program at the previous hop is named as the likely writer.
 */
function optionChange(hops: readonly Hop[], i: number, progs: readonly (HopProgram[] | undefined)[]) {
  const h = hops[i] as Hop;
  if (!h.src || h.dir === 'end') return undefined;
  let k = i - 1;
  while (k >= 0 && (!hops[k]?.src || hops[k]?.dir === 'end')) k--;
  const prev = hops[k];
  if (prev && (h.ipv6 || prev.ipv6)) return dsr6Change(prev, h, progs[k]);
  if (!prev || prev.ipOptions === h.ipOptions) return undefined;
  const change = h.ipOptions ? ('added' as const) : ('removed' as const);
  const hex = change === 'added' ? h.ipOptionBytes : prev.ipOptionBytes;
  const bytes = hex ? Uint8Array.from(Buffer.from(hex, 'hex')) : undefined;
  const dsr = bytes && ipv4DsrService(bytes);
  const by = progs[k]?.find((p) => p.verdict !== 'dropped');
  return {
    options: { change, types: bytes ? optionTypes(bytes) : [], ...(dsr && { dsr }) },
    msg: w.optionsText(change, prev, by, dsr),
  };
}

/** IPv6: Cilium's DSR option (0x1b, in a Destination Options header) gained or lost since the previous hop. */
function dsr6Change(prev: Hop, h: Hop, progs: readonly HopProgram[] | undefined) {
  const was = prev.ipv6?.dsr;
  const now = h.ipv6?.dsr;
  if (!was === !now && (!was || !now || (was.addr === now.addr && was.port === now.port))) return undefined;
  const change = !was ? ('added' as const) : !now ? ('removed' as const) : ('changed' as const);
  const dsr = now ?? was;
  const by = progs?.find((p) => p.verdict !== 'dropped');
  return {
    options: { change, types: [0x1b], ...(dsr && { dsr }) },
    // The message reads `service {addr}:{port}`: bracketed, an IPv6 address stays readable.
    msg: w.optionsText(change === 'changed' ? 'added' : change, prev, by, dsr && { ...dsr, addr: `[${dsr.addr}]` }),
  };
}

function explainSide(hops: readonly Hop[], facts: Facts): Hop[] {
  const progs = hops.map((h, i) => h.programs ?? hopPrograms(hops, i, facts.get(h.netns)));
  return hops.map((h, i) => {
    const f = facts.get(h.netns);
    const programs = progs[i];
    const parts = hopReasonParts(hops, i, f, programs);
    let reasonMsg = w.joined(parts);
    // A program sent it here, not the stack: say so first, with the route the stack would have used.
    const by = h.dir === 'egress' ? redirectedBy(hops, i, progs) : undefined;
    if (by) reasonMsg = w.redirectedHereText(by.prog, by.at, stackRoute(parts));
    const opt = optionChange(hops, i, progs);
    if (opt) reasonMsg = w.joined([reasonMsg, opt.msg]);
    const options = opt && { options: opt.options };
    return { ...h, ...(programs && { programs }), ...options, reason: en(reasonMsg), reasonMsg };
  });
}

/** What a redirect says the stack's route was: a routed reason without its `routed by <ns>: `, and the rest. */
function stackRoute(parts: readonly Msg[]): Msg | undefined {
  const [base, ...rest] = parts;
  if (!base || !w.isRouted(base)) return undefined;
  return w.joined([w.routePartOf(base) ?? base, ...rest]);
}

function hopAt(hops: readonly Hop[], target: Hop): number {
  return hops.indexOf(target);
}

/** Where a journey that did not arrive stopped, what stopped it, and a fix hint. */
export function diagnosis(j: Journey, facts: Facts, dst?: string): Msg | undefined {
  if (j.delivered) return undefined;
  const drop = firstDrop(j);
  if (drop) {
    const onReply = j.reply?.hops.includes(drop) === true;
    const hops = onReply ? (j.reply?.hops ?? []) : j.hops;
    const c = culpritOf(drop, segmentOf(hops, hopAt(hops, drop)), facts.get(drop.netns));
    const lead = (onReply ? w.replyStoppedAt : w.stoppedAt)(drop.netns, drop.ifname);
    return w.dropDiagnosis(lead, drop.drop.reason, c.what, c.fix);
  }
  if (j.interrupted) return w.interruptedDiagnosis(j.interrupted);
  if (j.hops.length === 0) return neverLeft(j, facts.get(j.from), dst);
  const last = j.reply?.hops[j.reply.hops.length - 1] ?? j.hops[j.hops.length - 1];
  if (!last) return undefined;
  const progs = facts.get(last.netns)?.progs?.filter((p) => p.ifname === last.ifname) ?? [];
  const prog = progs[0] && w.progText(progs[0], last.netns, last.ifname);
  return w.lastSeenDiagnosis(w.lastSeenText(last.netns, last.ifname, last.dir), j.reply !== undefined, prog);
}

/** No hop at all: the source's route or its neighbour stopped it before any device saw it. */
function neverLeft(j: Journey, f: NsFacts | undefined, dst: string | undefined): Msg {
  const lead = w.neverLeftText(j.from);
  const r = dst ? f?.routes?.get(routeKey({ dst })) : undefined;
  if (dst && r && 'error' in r)
    return w.neverLeftDiagnosis(lead, w.noRouteText(dst, j.from, r.error), w.noRouteFix(dst, j.from));
  if (dst && r && !('error' in r)) {
    const addr = r.gateway ?? dst;
    const n = f?.neigh?.find((x) => x.dst === addr && x.dev === r.dev);
    if (n && n.state.some((s) => s === 'FAILED' || s === 'INCOMPLETE')) {
      // A program on the veth's other end, where the ARP requests arrive, is the likeliest cause.
      const peer = f?.peers?.find((p) => p.dev === r.dev);
      const prog = peer?.progs.find((p) => p.hook === 'xdp' || p.hook.endsWith('ingress'));
      const neigh = w.neighText(addr, r.dev, n.state.join(','), j.from);
      if (peer && prog) {
        const there = w.peerProgText(w.progText(prog, peer.netns, peer.ifname), r.dev);
        return w.neverLeftDiagnosis(lead, w.joined([neigh, there]), w.progFix(prog.hook, peer.ifname, peer.netns));
      }
      return w.neverLeftDiagnosis(lead, neigh, w.neighFix(addr, r.dev));
    }
  }
  return w.neverLeftNoHop(lead);
}

/** The journey with reasons, program verdicts and (if it did not arrive) a diagnosis. */
export function explainJourney(j: Journey, facts: Facts, dst?: string): Journey {
  const d = diagnosis(j, facts, dst);
  return {
    ...j,
    hops: explainSide(j.hops, facts),
    ...(j.reply && { reply: { hops: explainSide(j.reply.hops, facts) } }),
    ...(d && { diagnosis: en(d), diagnosisMsg: d }),
  };
}
