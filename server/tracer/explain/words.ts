// The explainer's words, defined once: the one-line reason of each kind of hop, what is responsible for
// a drop, and the fix hints of a diagnosis. Each is a Msg (a key of the `explain` catalog and its values);
// the CLI, --json and `reason`/`diagnosis` show its English rendering, the browser renders it in the
// user's language. Names, addresses, rule text and kernel names are values, never translated.
import { isMsg, msg, type Msg } from '../../protocol/i18n/msg';
import type { HopProgram, Nat } from '../../protocol/tracer';
import { natText } from '../../protocol/vocab';
import type { DevProg, IptRule, RouteFact } from './facts';

type Route = Exclude<RouteFact, { error: string }>;
const m = (key: string, values?: Msg['values']): Msg => msg(`explain.${key}`, values);

/** `10.244.2.0/24 via 172.18.0.3 dev eth0, table main` */
export const routeMsg = (r: Route): Msg =>
  m('route', {
    dst: r.dst,
    via: r.gateway ? m('via', { gateway: r.gateway }) : '',
    dev: r.dev,
    table: r.table ?? 'main',
  });
/** The route, and the device it left by when the route names another one (a program or a rule moved it). */
export const routeLeftMsg = (r: Route, out: string): Msg => m('routeLeft', { route: routeMsg(r), out });

/** `routed by node1: 10.244.2.0/24 via 172.18.0.3 dev eth0, table main` */
export const routedText = (ns: string, route: Msg): Msg => m('routed', { ns, route });

/** `routed by node1 (route not read)`: the hop is a routing decision but its route could not be looked up. */
export const routedUnknownText = (ns: string, error?: string): Msg =>
  error === undefined ? m('routedUnknown', { ns }) : m('routedError', { ns, says: m('lookupSays', { error }) });

/** The route part of a routed reason (what a redirect says the stack would have used), if it is one. */
export const routePartOf = (reason: Msg): Msg | undefined => {
  const part = reason.key === 'explain.routedError' ? reason.values?.says : reason.values?.route;
  return reason.key.startsWith('explain.routed') && isMsg(part) ? part : undefined;
};
export const isRouted = (reason: Msg): boolean => /^explain\.routed/.test(reason.key);

/** `bridged by kind0: FDB entry 02:42:ac:12:00:03 on port veth-node2` */
export const bridgedText = (bridge: string, mac: string, port: string | undefined, out: string): Msg => {
  if (/^ff(:ff){5}$/i.test(mac)) return m('bridgedBroadcast', { bridge, mac });
  if (port === undefined) return m('bridgedFlood', { bridge, mac, out });
  if (port === out) return m('bridgedFdb', { bridge, mac, port });
  return m('bridgedElsewhere', { bridge, mac, port, out });
};

/**
 * `DSR option added: service 172.18.0.2:31400, since node1/eth0 ingress, by tc-ingress dsr_from_netdev
 * (id 9) there (inferred: …)`; `IPv4 options removed since …` for any other option.
 */
export const optionsText = (
  change: 'added' | 'removed',
  prev: { netns: string; ifname: string; dir: string },
  by: HopProgram | undefined,
  dsr?: { addr: string; port: number },
): Msg => {
  const where = {
    change,
    ns: prev.netns,
    ifname: prev.ifname,
    dir: prev.dir,
    by: by ? m('optionsBy', { hook: by.hook, name: by.name, id: by.id }) : '',
  };
  return dsr ? m('optionsDsr', { ...where, addr: dsr.addr, port: dsr.port }) : m('optionsIp', where);
};

/** `cgroup/connect4 sock_lb_connect (id 812)`: a socket-level program, as bpftool's section names it (a name, not words). */
export const cgroupProgText = (p: { attachType: string; name: string; id: number }): string =>
  `cgroup/${p.attachType} ${p.name || '?'} (id ${p.id})`;

/** `received from node1 veth-pod-a` (the hop before was in another namespace: the veth's other end). */
export const receivedFromText = (ns: string, ifname: string): Msg => m('receivedFrom', { ns, ifname });
/** `redirected here by tc-ingress from_container (id 3) on lxc1, not by the stack (the stack's route: …)` */
export const redirectedHereText = (p: HopProgram, at: string, route: Msg | undefined): Msg => {
  const who = { hook: p.hook, name: p.name || '?', id: p.id, at };
  return route === undefined ? m('redirectedHere', who) : m('redirectedHereRoute', { ...who, route });
};
export const receivedText = (ifname: string): Msg => m('received', { ifname });
/** The bridge device's own ingress after a port's: addressed to the bridge, up its stack. */
export const upFromPortText = (bridge: string, port: string): Msg => m('upFromPort', { bridge, port });
export const inferredText = (from: string): Msg => m('inferred', { from });

export const deliveredText = (ns: string, reason: string): Msg => m('delivered', { ns, reason });
export const endedText = (ns: string, reason?: string): Msg =>
  reason === undefined ? m('endedFreed', { ns }) : m('ended', { ns, reason });
export const copyEndText = (reason: string): Msg =>
  reason === 'XDP_HANDOFF' ? m('xdpHandoff') : m('copyEnd', { reason });
export const droppedText = (ns: string, reason: string, culprit: Msg | undefined): Msg =>
  culprit ? m('droppedBy', { ns, reason, culprit }) : m('dropped', { ns, reason });

/** `NATed: DNAT 10.96.0.10:80 → 10.244.2.2:8080 by nat KUBE-SEP-X …`, or by conntrack when no rule was traced. */
export const natedText = (n: Nat, rule: string | undefined): Msg =>
  rule ? m('nated', { nat: natText(n), rule }) : m('natedUntraced', { nat: natText(n) });

/** `a; b; c`: the parts of one reason, in order. */
export const joined = (parts: readonly Msg[]): Msg =>
  parts.slice(1).reduce((a, b) => m('join', { a, b }), parts[0] as Msg);

// What is responsible for a drop (the `culprit`), and a fix hint for each.

/** kube-proxy's rules say what they are for in a comment: `"default/echo has no local endpoints"`. */
const ruleComment = (r: IptRule): string | undefined => /--comment "([^"]*)"/.exec(r.spec)?.[1];
const byKubeProxy = (chain: string): boolean => chain.startsWith('KUBE-');

/** `iptables filter FORWARD rule 3 (`-p udp -m udp --dport 9 -j DROP`) in pjx-router` */
/** Which command shows and changes the rules: IPv6 packets meet ip6tables' tables. */
export type IptTool = 'iptables' | 'ip6tables';

export const iptRuleText = (chain: string, r: IptRule, ns: string, tool: IptTool = 'iptables'): Msg => {
  const rule = m('iptRule', { tool, chain, num: r.num, spec: r.spec, ns });
  const why = ruleComment(r);
  if (!byKubeProxy(chain)) return rule;
  return why ? m('kubeRuleWhy', { why, rule }) : m('kubeRule', { rule });
};
export const iptTracedText = (line: string, ns: string): Msg => m('iptTraced', { line, ns });
export const iptPolicyText = (chain: string, policy: string, ns: string, tool: IptTool = 'iptables'): Msg =>
  m('iptPolicy', { tool, chain, policy, ns });
export const netfilterInText = (ns: string): Msg => m('netfilterIn', { ns });
export const iptFix = (chain: string, r: IptRule | undefined, ns: string, tool: IptTool = 'iptables'): Msg =>
  r && byKubeProxy(chain)
    ? m('iptFixKube')
    : r
      ? m('iptFixRule', { tool, chain, num: r.num, ns })
      : m('iptFixFind', { tool, chain, ns });

export const progText = (p: Pick<DevProg, 'hook' | 'name' | 'id'>, ns: string, ifname: string): Msg =>
  m('prog', { hook: p.hook === 'xdp' ? 'XDP' : p.hook, name: p.name || '?', id: p.id, ns, ifname });
export const progUnknownText = (hook: string, ns: string, ifname: string): Msg =>
  m('progUnknown', { hook, ns, ifname });
export const progFix = (hook: string, ifname: string, ns: string): Msg =>
  hook === 'xdp'
    ? m('progFixXdp', { ifname, ns })
    : hook.startsWith('tcx-')
      ? m('progFixTcx', { attach: hook.replace('-', '_'), ifname, ns })
      : m('progFixTc', { ifname, dir: hook.endsWith('egress') ? 'egress' : 'ingress', ns });

/** `rp_filter=1 on node2's eth0 drops packets whose source isn't routed back through eth0` */
export const rpFilterText = (ns: string, iif: string, value: string, src: string, back: string | undefined): Msg =>
  back ? m('rpFilterBack', { value, ns, iif, src, back }) : m('rpFilter', { value, ns, iif });
export const rpFilterFix = (iif: string, ns: string): Msg => m('rpFilterFix', { iif, ns });

export const noRouteText = (dst: string, ns: string, why: string | undefined): Msg =>
  why ? m('noRouteWhy', { dst, ns, why }) : m('noRoute', { dst, ns });
export const noRouteFix = (dst: string, ns: string): Msg => m('noRouteFix', { dst, ns });

export const neighText = (addr: string, dev: string, state: string, ns: string): Msg =>
  m('neigh', { addr, ns, dev, state });
/** `tc-ingress program drop_all (id 7) on node1 veth-pod-a, the other end of eth0, …` */
export const peerProgText = (prog: Msg, dev: string): Msg => m('peerProg', { prog, dev });
export const neighFix = (addr: string, dev: string): Msg => m('neighFix', { addr, dev });

export const noSocketText = (proto: string, dst: string, port: number, ns: string): Msg =>
  m('noSocket', { proto, dst, port, ns });
export const noSocketFix = (proto: string, port: number, ns: string): Msg => m('noSocketFix', { proto, port, ns });

/** A drop nothing more is known of: the reason is said already, so only where the kernel freed it. */
export const kernelText = (where: string): Msg => (where ? m('kernelAt', { where }) : m('kernel'));

/** How a program's verdict is known: seen (a drop reason) or inferred from the next sighting. */
export function verdictNote(v: HopProgram, inferredDrop?: string): Msg {
  const who = { hook: v.hook, name: v.name || '?', id: v.id };
  if (v.verdict === 'dropped')
    return inferredDrop ? m('verdictDroppedInferred', { ...who, why: inferredDrop }) : m('verdictDropped', who);
  if (v.verdict === 'redirected' && v.redirect)
    return m('verdictRedirected', { ...who, ns: v.redirect.netns, ifname: v.redirect.ifname });
  return m('verdictPassed', who);
}

export const stoppedAt = (ns: string, ifname: string): Msg =>
  ifname ? m('stoppedAt', { ns, ifname }) : m('stopped', { ns });
export const replyStoppedAt = (ns: string, ifname: string): Msg =>
  ifname ? m('replyStoppedAt', { ns, ifname }) : m('replyStopped', { ns });
export const fixText = (fix: Msg): Msg => m('fix', { fix });
/** `Stopped in node1 at eth0 (NETFILTER_DROP): <culprit>. Fix: <fix>.` */
export const dropDiagnosis = (lead: Msg, reason: string, what: Msg, fix: Msg | undefined): Msg =>
  fix ? m('diagDropFix', { lead, reason, what, fix: fixText(fix) }) : m('diagDrop', { lead, reason, what });
export const interruptedDiagnosis = (why: string): Msg => m('interrupted', { why });
export const neverLeftText = (from: string): Msg => m('neverLeft', { from });
export const neverLeftDiagnosis = (lead: Msg, what: Msg, fix: Msg): Msg =>
  m('neverLeftWhy', { lead, what, fix: fixText(fix) });
export const neverLeftNoHop = (lead: Msg): Msg => m('neverLeftNoHop', { lead });
export const lastSeenText = (ns: string, ifname: string, dir: string): Msg => m('lastSeen', { ns, ifname, dir });
/** `Last seen in … (the request arrived but no reply came back); <program> is there.` */
export const lastSeenDiagnosis = (last: Msg, replied: boolean, prog: Msg | undefined): Msg =>
  m('diagLast', { last, reply: replied ? 'yes' : 'no', hint: prog ? m('progThere', { prog }) : '' });
