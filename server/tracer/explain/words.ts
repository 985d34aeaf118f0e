// The explainer's words, defined once: the one-line reason of each kind of hop, what is responsible for
// a drop, and the fix hints of a diagnosis. The CLI, --json and the browser all show these strings.
import type { HopProgram, Nat } from '../../protocol/tracer';
import { natText } from '../../protocol/vocab';
import type { DevProg, IptRule, RouteFact } from './facts';

type Route = Exclude<RouteFact, { error: string }>;

/** `10.244.2.0/24 via 172.18.0.3 dev eth0, table main` */
export const routeText = (r: Route): string =>
  `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev}, table ${r.table ?? 'main'}`;

/** `routed by node1: 10.244.2.0/24 via 172.18.0.3 dev eth0, table main` */
export const routedText = (ns: string, r: Route): string => `routed by ${ns}: ${routeText(r)}`;

/** `routed by node1 (route not read)`: the hop is a routing decision but its route could not be looked up. */
export const routedUnknownText = (ns: string): string => `routed by ${ns} (route not read)`;

/** `bridged by kind0: FDB entry 02:42:ac:12:00:03 on port veth-node2` */
export const bridgedText = (bridge: string, mac: string, port: string | undefined, out: string): string => {
  if (/^ff(:ff){5}$/i.test(mac)) return `bridged by ${bridge}: broadcast ${mac}, flooded to every port`;
  if (port === undefined) return `bridged by ${bridge}: no FDB entry for ${mac}, flooded to ${out}`;
  if (port === out) return `bridged by ${bridge}: FDB entry ${mac} on port ${port}`;
  return `bridged by ${bridge}: FDB entry ${mac} is on port ${port}, yet it left by ${out}`;
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
): string =>
  (dsr ? `DSR option ${change}: service ${dsr.addr}:${dsr.port}, since` : `IPv4 options ${change} since`) +
  ` ${prev.netns}/${prev.ifname} ${prev.dir}` +
  (by ? `, by ${by.hook} ${by.name} (id ${by.id}) there (inferred: no other writer on the way)` : '');

/** `cgroup/connect4 sock_lb_connect (id 812)`: a socket-level program, as bpftool's section names it. */
export const cgroupProgText = (p: { attachType: string; name: string; id: number }): string =>
  `cgroup/${p.attachType} ${p.name || '?'} (id ${p.id})`;

/** `received from node1 veth-pod-a` (the hop before was in another namespace: the veth's other end). */
export const receivedFromText = (ns: string, ifname: string): string => `received from ${ns} ${ifname}`;
/** `redirected here by tc-ingress from_container (id 3) on lxc1, not by the stack (routed by …)` */
export const redirectedHereText = (p: HopProgram, at: string, routed: string | undefined): string =>
  `redirected here by ${p.hook} ${p.name || '?'} (id ${p.id}) on ${at}, not by the stack` +
  (routed ? ` (the stack's route: ${routed.replace(/^routed by [^:]+: /, '')})` : '');
export const receivedText = (ifname: string): string => `received on ${ifname}`;
/** The bridge device's own ingress after a port's: addressed to the bridge, up its stack. */
export const upFromPortText = (bridge: string, port: string): string =>
  `up the stack of bridge ${bridge} from port ${port}`;
export const inferredText = (from: string): string => `not seen here but inferred: redirected from ${from}`;

export const deliveredText = (ns: string, reason: string): string => `delivered to a socket in ${ns} (${reason})`;
export const endedText = (ns: string, reason: string): string => `ended in ${ns}: ${reason}, an ordinary end of path`;
export const copyEndText = (reason: string): string =>
  reason === 'XDP_HANDOFF'
    ? 'handed to native XDP (the veth copied the skb into a page); it came back in a new skb: passed'
    : `a copy's end (${reason}): the packet itself went on`;
export const droppedText = (ns: string, reason: string, culprit: string | undefined): string =>
  `dropped in ${ns} (${reason})${culprit ? `: ${culprit}` : ''}`;

/** `NATed: DNAT 10.96.0.10:80 → 10.244.2.2:8080 by nat KUBE-SEP-X …`, or by conntrack when no rule was traced. */
export const natedText = (n: Nat, rule: string | undefined): string =>
  `NATed: ${natText(n)}${rule ? ` by \`${rule}\`` : ' (rule not traced: follow with --rules)'}`;

// What is responsible for a drop (the `culprit`), and a fix hint for each.

/** `iptables filter FORWARD rule 3 (`-p udp -m udp --dport 9 -j DROP`) in pjx-router` */
/** kube-proxy's rules say what they are for in a comment: `"default/echo has no local endpoints"`. */
const ruleComment = (r: IptRule): string | undefined => /--comment "([^"]*)"/.exec(r.spec)?.[1];
const byKubeProxy = (chain: string): boolean => chain.startsWith('KUBE-');

export const iptRuleText = (chain: string, r: IptRule, ns: string): string => {
  const rule = `iptables filter ${chain} rule ${r.num} (\`${r.spec}\`) in ${ns}`;
  const why = ruleComment(r);
  return byKubeProxy(chain) ? `kube-proxy's rule${why ? ` "${why}"` : ''}: ${rule}` : rule;
};
export const iptTracedText = (line: string, ns: string): string => `iptables \`${line}\` in ${ns}`;
export const iptPolicyText = (chain: string, policy: string, ns: string): string =>
  `the iptables filter ${chain} policy ${policy} in ${ns}`;
export const iptFix = (chain: string, r: IptRule | undefined, ns: string): string =>
  r && byKubeProxy(chain)
    ? `kube-proxy writes it from the Service: change the Service (for "no local endpoints", \`externalTrafficPolicy: Cluster\`, or a backend on this node); a deleted rule comes back at kube-proxy's next sync`
    : r
      ? `remove or narrow it: \`iptables -D ${chain} ${r.num}\` in ${ns}`
      : `find the rule with \`iptables -L ${chain} -v -n --line-numbers\` in ${ns} (or follow with --rules)`;

export const progText = (p: Pick<DevProg, 'hook' | 'name' | 'id'>, ns: string, ifname: string): string =>
  `${p.hook === 'xdp' ? 'XDP' : p.hook} program ${p.name || '?'} (id ${p.id}) on ${ns} ${ifname}`;
export const progUnknownText = (hook: string, ns: string, ifname: string): string =>
  `a ${hook} BPF program on ${ns} ${ifname}`;
export const progFix = (hook: string, ifname: string, ns: string): string =>
  hook === 'xdp'
    ? `detach it: \`ip link set dev ${ifname} xdp off\` in ${ns} (or fix the program)`
    : hook.startsWith('tcx-')
      ? `detach its tcx link: \`bpftool net detach ${hook.replace('-', '_')} dev ${ifname}\` in ${ns} (bpftool ≥ 7.3), or end the program's owner (or fix the program)`
      : `detach it: \`tc filter del dev ${ifname} ${hook.endsWith('egress') ? 'egress' : 'ingress'}\` in ${ns} (or fix the program)`;

/** `rp_filter=1 on node2's eth0 drops packets whose source isn't routed back through eth0` */
export const rpFilterText = (ns: string, iif: string, value: string, src: string, back: string | undefined): string =>
  `rp_filter=${value} on ${ns}'s ${iif}, which drops packets whose source isn't routed back through ${iif}` +
  (back ? ` (${src} is routed via ${back})` : '');
export const rpFilterFix = (iif: string, ns: string): string =>
  `\`sysctl -w net.ipv4.conf.${iif}.rp_filter=2\` in ${ns} (loose), or route the source back through ${iif}`;

export const noRouteText = (dst: string, ns: string, why: string | undefined): string =>
  `no route to ${dst} in ${ns}${why ? ` (${why})` : ''}`;
export const noRouteFix = (dst: string, ns: string): string =>
  `add one: \`ip route add ${dst} via <next hop>\` in ${ns} (or a default route)`;

export const neighText = (addr: string, dev: string, state: string, ns: string): string =>
  `the neighbour ${addr} on ${ns}'s ${dev} is ${state} (no ARP reply)`;
/** `tc-ingress program drop_all (id 7) on node1 veth-pod-a, the other end of eth0, …` */
export const peerProgText = (prog: string, dev: string): string =>
  `${prog}, the other end of ${dev}, is there and sees the ARP requests first (inferred: it may drop them)`;
export const neighFix = (addr: string, dev: string): string =>
  `check that ${addr} is up on ${dev}'s link and answers ARP (a program or filter that drops ARP there stops it too)`;

export const noSocketText = (proto: string, dst: string, port: number, ns: string): string =>
  `no ${proto} socket on ${dst}:${port} in ${ns}`;
export const noSocketFix = (proto: string, port: number, ns: string): string =>
  `start a server on ${proto} port ${port} in ${ns}, or send to a port one listens on`;

/** A drop nothing more is known of: the reason is said already, so only where the kernel freed it. */
export const kernelText = (where: string): string => `freed by the kernel${where ? ` at ${where}` : ''}`;

/** How a program's verdict is known: seen (a drop reason) or inferred from the next sighting. */
export function verdictNote(v: HopProgram, inferredDrop?: string): string {
  const who = `${v.hook} ${v.name || '?'} (id ${v.id})`;
  if (v.verdict === 'dropped')
    return `${who} dropped it (${inferredDrop ? `inferred: ${inferredDrop}` : "observed: freed with its hook's drop reason"})`;
  if (v.verdict === 'redirected' && v.redirect)
    return `${who} redirected it to ${v.redirect.netns} ${v.redirect.ifname} (inferred: seen there next, off the stack's path)`;
  return `${who} passed it (inferred: it went on along the stack's path)`;
}

export const stoppedAt = (ns: string, ifname: string): string => `Stopped in ${ns}${ifname ? ` at ${ifname}` : ''}`;
export const fixText = (fix: string): string => `Fix: ${fix}.`;
export const interruptedDiagnosis = (why: string): string =>
  `The trace was interrupted (${why}): hops were lost, so where the packet stopped is not known. Follow again.`;
export const neverLeftText = (from: string): string => `The packet never left ${from}`;
export const lastSeenText = (ns: string, ifname: string, dir: string): string =>
  `Last seen in ${ns} at ${ifname} (${dir}), nothing after it`;
export const noReplyText = 'the request arrived but no reply came back';
