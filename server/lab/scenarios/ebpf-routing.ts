// ebpf-routing (seed 002): the life of a packet in Cilium. Pods hang off `lxc…` veths (no cni0), the
// gateway lives on cilium_host, and tc programs route pod-to-pod traffic in BPF: from-container on each
// lxc ingress, from-netdev on eth0 ingress. The ClusterIP is translated in from-container, since its
// redirect skips the iptables DNAT (DESIGN.md, "A tc redirect at lxc ingress skips iptables").
import { execOk, inNetns } from '../../sys/exec';
import { NODES, PODS } from '../spec';
import { tcAttach, type TcAttach } from '../bpf';
import { bpftoolBatch, endpointLines, endpointMaps, ifindexes, recordPins, sharedMapLines } from './ebpf-routing-bpf';
import { lxcName, podRoutes, wireNode } from './ebpf-routing-wiring';
import type { Scenario, ScenarioCtx } from './types';
import { scenarioText } from './text';

const pa = lxcName('pod-a');

async function up(ctx: ScenarioCtx): Promise<void> {
  await recordPins(ctx.owned);
  await ctx.save();
  ctx.progress('loading from-container on each lxc device and from-netdev on eth0');
  const jobs = NODES.flatMap((n): (TcAttach & { netns: string })[] => [
    ...PODS.filter((p) => p.node === n.name).map((p) => ({
      netns: n.name,
      dev: lxcName(p.name),
      dir: 'ingress' as const,
      object: 'bpf_lxc',
      shownAs: 'bpf_lxc.o',
      section: 'from-container',
    })),
    { netns: n.name, dev: 'eth0', dir: 'ingress', object: 'bpf_host', shownAs: 'bpf_host.o', section: 'from-netdev' },
  ]);
  const [first, ...rest] = jobs;
  if (!first) return;
  // The first load creates the pinned maps; the others only reuse them, so they may run side by side.
  const attach = (j: TcAttach & { netns: string }) => tcAttach(ctx.owned, j);
  const loaded = [{ node: first.netns, prog: await attach(first) }];
  const [others] = await Promise.all([
    Promise.all(rest.map(async (j) => ({ node: j.netns, prog: await attach(j) }))),
    // Packets for an address with no pod end up on cilium_net; don't route them back out of cilium_host.
    ...NODES.map((n) =>
      execOk(inNetns({ kind: 'named', name: n.name }, 'sysctl', ['-qw', 'net.ipv4.conf.cilium_net.forwarding=0'])),
    ),
  ]);
  loaded.push(...others);
  ctx.progress('filling the endpoint and service maps');
  const maps = await endpointMaps(loaded.map((l) => l.prog));
  const links = new Map(await Promise.all(NODES.map(async (n) => [n.name, await ifindexes(n.name)] as const)));
  const lines = loaded.flatMap((l) =>
    endpointLines(
      maps.get(l.prog) ?? 0,
      PODS.filter((p) => p.node === l.node),
      links.get(l.node) ?? new Map(),
    ),
  );
  await bpftoolBatch([...lines, ...sharedMapLines()]);
}

export const ebpfRouting: Scenario = {
  info: {
    name: 'ebpf-routing',
    ...scenarioText('ebpf-routing', { lxc: pa }),
    seed: 'seed 002',
    tryCommands: [
      'ip -n node1 link',
      `ip netns exec node1 tc filter show dev ${pa} ingress`,
      'ip netns exec node1 tc filter show dev eth0 ingress',
      'ip netns exec node1 ifconfig cilium_host',
      'ip netns exec node1 route -n',
      'ip netns exec pod-a route -n',
      'ip netns exec pod-a ping -c 2 10.244.1.3',
      'ip netns exec pod-a ping -c 2 10.244.2.2',
      'ip netns exec pod-a curl -s 10.96.0.10',
      'ip netns exec node1 iptables -L FORWARD -v -n',
      'bpftool prog show name from_container',
      'bpftool map dump pinned /sys/fs/bpf/tc/globals/pj_er_revnat',
    ],
    settings: [],
  },
  // Kept for traffic that starts on a node or outside (like Cilium beside kube-proxy); pods' ClusterIP
  // traffic is translated in BPF before iptables could see it.
  kubeProxy: { clusterIP: true, nodePort: true },
  wireNode,
  podRoutes,
  up,
};
