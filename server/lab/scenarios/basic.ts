import type { Scenario } from './types';
import { scenarioText } from './text';

export const basic: Scenario = {
  info: {
    name: 'basic',
    ...scenarioText('basic'),
    tryCommands: [
      'ip netns exec pod-a curl -s 10.96.0.10',
      'curl -s 172.18.0.2:31400',
      'ip netns exec node1 iptables -t nat -S KUBE-SERVICES',
      'packet-journey follow --from pod-a --to 10.96.0.10 --proto tcp --port 80',
      // Dual-stack: the same service by its IPv6 ClusterIP (ip6tables), and a pod by its IPv6 address.
      "ip netns exec pod-a curl -s 'http://[fd00:10:96::10]/'",
      'packet-journey follow --from pod-a --to pod-c -6',
    ],
    settings: [],
  },
  kubeProxy: { clusterIP: true, nodePort: true },
  up: async () => undefined,
};
