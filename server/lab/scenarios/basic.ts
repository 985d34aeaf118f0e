import type { Scenario } from './types';

export const basic: Scenario = {
  info: {
    name: 'basic',
    title: 'kube-proxy (iptables)',
    description:
      'Two nodes on the kind0 bridge, four pods on cni0 bridges, and the echo service made of iptables rules: ' +
      'KUBE-SERVICES → KUBE-SVC → KUBE-SEP DNAT for the ClusterIP, and a masqueraded NodePort.',
    tryCommands: [
      'ip netns exec pod-a curl -s 10.96.0.10',
      'curl -s 172.18.0.2:31400',
      'ip netns exec node1 iptables -t nat -S KUBE-SERVICES',
      'packet-journey follow --from pod-a --to 10.96.0.10 --proto tcp --port 80',
    ],
    settings: [],
  },
  kubeProxy: { clusterIP: true, nodePort: true },
  up: async () => undefined,
};
