// The embedded lab's fixed topology (DESIGN.md): a 2-node KinD look-alike without Docker. Names and
// addresses are part of the product's contract: tests, docs and students rely on them.

export interface PodSpec {
  readonly name: string;
  readonly node: string;
  readonly ip: string;
  /** The pod's IPv6 address, in its node's fd00:10:244:N::/64 (dual-stack; IPv4 stays the default). */
  readonly ip6: string;
  readonly mac: string;
  /** Host-side veth, on the node's cni0. */
  readonly veth: string;
  readonly echo: boolean;
}

export interface NodeSpec {
  readonly name: string;
  readonly ip: string;
  /** In fd00:172:18::/64, kind0's IPv6 subnet. */
  readonly ip6: string;
  readonly mac: string;
  /** Host-side veth, on kind0. */
  readonly veth: string;
  readonly podCidr: string;
  readonly gateway: string;
  readonly podCidr6: string;
  readonly gateway6: string;
}

export const BRIDGE = {
  name: 'kind0',
  cidr: '172.18.0.1/16',
  cidr6: 'fd00:172:18::1/64',
  mac: '02:42:ac:12:00:01',
} as const;
export const CLUSTER_CIDR = '10.244.0.0/16';
/** Every node's pod /64 (fd00:10:244:N::/64) is in it, as KinD's dual-stack default fd00:10:244::/56 is. */
export const CLUSTER_CIDR6 = 'fd00:10:244::/56';

// MACs follow docker's 02:42:<ip> for nodes (as in seed 000) and the CNI bridge plugin's 0a:58:<ip> for pods,
// so a student can read the IP back from a MAC.
export const NODES: readonly NodeSpec[] = [
  {
    name: 'node1',
    ip: '172.18.0.2',
    ip6: 'fd00:172:18::2',
    mac: '02:42:ac:12:00:02',
    veth: 'veth-node1',
    podCidr: '10.244.1.0/24',
    gateway: '10.244.1.1',
    podCidr6: 'fd00:10:244:1::/64',
    gateway6: 'fd00:10:244:1::1',
  },
  {
    name: 'node2',
    ip: '172.18.0.3',
    ip6: 'fd00:172:18::3',
    mac: '02:42:ac:12:00:03',
    veth: 'veth-node2',
    podCidr: '10.244.2.0/24',
    gateway: '10.244.2.1',
    podCidr6: 'fd00:10:244:2::/64',
    gateway6: 'fd00:10:244:2::1',
  },
];

export const PODS: readonly PodSpec[] = [
  {
    name: 'pod-a',
    node: 'node1',
    ip: '10.244.1.2',
    ip6: 'fd00:10:244:1::2',
    mac: '0a:58:0a:f4:01:02',
    veth: 'veth-pod-a',
    echo: false,
  },
  {
    name: 'pod-b',
    node: 'node1',
    ip: '10.244.1.3',
    ip6: 'fd00:10:244:1::3',
    mac: '0a:58:0a:f4:01:03',
    veth: 'veth-pod-b',
    echo: false,
  },
  {
    name: 'pod-c',
    node: 'node2',
    ip: '10.244.2.2',
    ip6: 'fd00:10:244:2::2',
    mac: '0a:58:0a:f4:02:02',
    veth: 'veth-pod-c',
    echo: true,
  },
  {
    name: 'pod-d',
    node: 'node2',
    ip: '10.244.2.3',
    ip6: 'fd00:10:244:2::3',
    mac: '0a:58:0a:f4:02:03',
    veth: 'veth-pod-d',
    echo: true,
  },
];

export const ECHO_PORT = 8080;

export const SERVICE = {
  name: 'echo',
  namespace: 'default',
  clusterIP: '10.96.0.10',
  /** The same service's IPv6 ClusterIP (dual-stack), DNATed by ip6tables in the same kube-proxy style. */
  clusterIP6: 'fd00:10:96::10',
  port: 80,
  nodePort: 31400,
  // kube-proxy names chains with a hash of the service/endpoint; these are fixed so docs can quote them.
  svcChain: 'KUBE-SVC-DEFAULTECHOTCP80',
  extChain: 'KUBE-EXT-DEFAULTECHOTCP80',
  endpoints: [
    {
      pod: 'pod-c',
      ip: '10.244.2.2',
      ip6: 'fd00:10:244:2::2',
      port: ECHO_PORT,
      sepChain: 'KUBE-SEP-PODC10244220808',
      sepChain6: 'KUBE-SEP-PODCFD0010244208080',
    },
    {
      pod: 'pod-d',
      ip: '10.244.2.3',
      ip6: 'fd00:10:244:2::3',
      port: ECHO_PORT,
      sepChain: 'KUBE-SEP-PODD10244230808',
      sepChain6: 'KUBE-SEP-PODDFD0010244308080',
    },
  ],
} as const;

export const NAMESPACES: readonly string[] = [...NODES.map((n) => n.name), ...PODS.map((p) => p.name)];
export const HOST_LINKS: readonly string[] = [BRIDGE.name, ...NODES.map((n) => n.veth)];

/** Every rule the lab adds to the host's iptables (br_netfilter sends bridged kind0 traffic through FORWARD,
 * and Docker may have set FORWARD's policy to DROP). Tagged so `down` removes exactly these. */
export const HOST_RULE_COMMENT = 'packet-journey-lab';
export const HOST_FORWARD_RULE = [
  'FORWARD',
  '-i',
  BRIDGE.name,
  '-o',
  BRIDGE.name,
  '-m',
  'comment',
  '--comment',
  HOST_RULE_COMMENT,
  '-j',
  'ACCEPT',
] as const;
/** The same rule for ip6tables: bridged IPv6 on kind0 goes through the host's ip6tables FORWARD too. */
export const HOST_FORWARD_RULE6 = HOST_FORWARD_RULE;

/** Which parts of kube-proxy's rules a scenario keeps (eBPF scenarios take over the rest). */
export interface KubeProxyParts {
  readonly clusterIP: boolean;
  readonly nodePort: boolean;
}

/** kube-proxy (iptables mode) rules for the echo service, as `iptables-restore --noflush` input for one node.
 * Empty when the scenario keeps none of them. */
export function kubeProxyRules(parts: KubeProxyParts = { clusterIP: true, nodePort: true }, family: 4 | 6 = 4): string {
  if (!parts.clusterIP && !parts.nodePort) return '';
  const s = SERVICE;
  const svc = `${s.namespace}/${s.name}`;
  // kube-proxy writes the same chains for each family (ip6tables gets its own copy, with [addr]:port DNATs).
  const v6 = family === 6;
  const clusterIP = v6 ? `${s.clusterIP6}/128` : `${s.clusterIP}/32`;
  const clusterCidr = v6 ? CLUSTER_CIDR6 : CLUSTER_CIDR;
  const sep = s.endpoints.map((e) => ({
    sepChain: v6 ? e.sepChain6 : e.sepChain,
    to: v6 ? `[${e.ip6}]:${e.port}` : `${e.ip}:${e.port}`,
    host: v6 ? `${e.ip6}/128` : `${e.ip}/32`,
  }));
  const lines = [
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    `:${s.svcChain} - [0:0]`,
    `:${s.extChain} - [0:0]`,
    ...sep.map((e) => `:${e.sepChain} - [0:0]`),
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ...(parts.clusterIP
      ? [
          `-A KUBE-SERVICES -d ${clusterIP} -p tcp -m comment --comment "${svc} cluster IP" -m tcp --dport ${s.port} -j ${s.svcChain}`,
        ]
      : []),
    ...(parts.nodePort
      ? [
          '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
          `-A KUBE-NODEPORTS -p tcp -m comment --comment "${svc}" -m tcp --dport ${s.nodePort} -j ${s.extChain}`,
          // externalTrafficPolicy=Cluster: NodePort traffic is masqueraded, so the backend sees the node, not the client.
          `-A ${s.extChain} -m comment --comment "masquerade traffic for ${svc} external destinations" -j KUBE-MARK-MASQ`,
          `-A ${s.extChain} -j ${s.svcChain}`,
        ]
      : []),
    `-A ${s.svcChain} ! -s ${clusterCidr} -d ${clusterIP} -p tcp -m comment --comment "${svc} cluster IP" -m tcp --dport ${s.port} -j KUBE-MARK-MASQ`,
    ...sep.map((e, i) => {
      const last = i === sep.length - 1;
      const prob = last ? '' : ` -m statistic --mode random --probability ${(1 / (sep.length - i)).toFixed(11)}`;
      return `-A ${s.svcChain} -m comment --comment "${svc} -> ${e.to}"${prob} -j ${e.sepChain}`;
    }),
    ...sep.flatMap((e) => [
      `-A ${e.sepChain} -s ${e.host} -m comment --comment "${svc}" -j KUBE-MARK-MASQ`,
      `-A ${e.sepChain} -p tcp -m comment --comment "${svc}" -m tcp -j DNAT --to-destination ${e.to}`,
    ]),
    'COMMIT',
    '*filter',
    ':KUBE-FORWARD - [0:0]',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    'COMMIT',
    '',
  ];
  return lines.join('\n');
}
