// How ebpf-routing plugs pods into a node, the way Cilium does (seed 002): no cni0 bridge; each pod's
// veth is `lxc<hash>` on the node with a /32 route to it; a cilium_host/cilium_net veth pair holds the
// pods' gateway address. Pods route everything via that gateway (a /32 onlink next hop, no subnet route), so
// every packet a pod sends meets from-container on its lxc device.
import { createHash } from 'node:crypto';
import type { NodeSpec, PodSpec } from '../spec';

const hash = (s: string): Buffer => createHash('sha256').update(s).digest();

/** `lxc` + 12 hex digits of a stable hash of the pod's name: 15 characters, the kernel's limit. */
export function lxcName(pod: string): string {
  return `lxc${hash(pod).subarray(0, 6).toString('hex')}`;
}

/** A stable, locally administered unicast MAC derived from `seed` (Cilium's are random; stable is easier
 * to read in a lesson and to check in a test). */
export function stableMac(seed: string): string {
  const b = hash(`mac:${seed}`).subarray(0, 6);
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export const lxcMac = (pod: string): string => stableMac(`lxc:${pod}`);

/** cilium_host's MAC on a node. */
export const hostMac = (node: string): string => stableMac(`cilium_host:${node}`);

/** `ip -batch` lines in the node's netns (replacing bridgeWiring). */
export function wireNode(node: NodeSpec, pods: readonly PodSpec[]): string[] {
  return [
    `link add cilium_host address ${hostMac(node.name)} type veth peer name cilium_net address ${stableMac(`cilium_net:${node.name}`)}`,
    `addr add ${node.gateway}/32 dev cilium_host`,
    'link set cilium_net up',
    'link set cilium_host up',
    ...pods.flatMap((p) => [
      `link add ${lxcName(p.name)} address ${lxcMac(p.name)} type veth peer name eth0 address ${p.mac} netns ${p.name}`,
      `link set ${lxcName(p.name)} up`,
      `route add ${p.ip}/32 dev ${lxcName(p.name)}`,
    ]),
    // As on a Cilium node (seed 002's `route -n`): the pod CIDR via cilium_host. The /32 routes above win for
    // real pods; this one only catches addresses with no pod.
    `route add ${node.podCidr} via ${node.gateway} dev cilium_host src ${node.gateway}`,
  ];
}

/** The pod's routes: the gateway as a /32 on eth0 and the default via it; no subnet route, so even a pod on
 * the same node is reached through the gateway. The pod resolves the gateway by ARP on eth0: the node's
 * kernel answers on the lxc device, since 10.244.N.1 is one of its addresses (on cilium_host), with the
 * lxc's MAC, which is what a Cilium pod's `arp -an` shows too. */
export function podRoutes(pod: PodSpec, node: NodeSpec): string[] {
  return [
    `route del ${node.podCidr} dev eth0`,
    `route add ${node.gateway}/32 dev eth0 scope link`,
    `route add default via ${node.gateway} dev eth0`,
  ];
}
