// kube-proxy's iptables rules for the echo service as a LoadBalancer with externalTrafficPolicy Local or
// Cluster, in the shape today's proxier (pkg/proxy/iptables/proxier.go, 1.24 and later) writes them: the
// LoadBalancer IP and the NodePort both jump to KUBE-EXT-…; with Local, KUBE-EXT-… short-circuits pod and
// node-originated traffic to KUBE-SVC-… and sends the rest to KUBE-SVL-… (this node's endpoints only); a
// node without local endpoints has no KUBE-SVL-… and drops external traffic in filter KUBE-EXTERNAL-SERVICES
// ("has no local endpoints"). spec.ts keeps the ClusterIP part (KUBE-SVC-…, KUBE-SEP-…); this file owns the
// rest. Pure text: nothing here touches the kernel.
import { CLUSTER_CIDR, PODS, SERVICE } from '../spec';

export const ETP_VALUES = ['Local', 'Cluster'] as const;
export type Etp = (typeof ETP_VALUES)[number];

/** The address seed 001's fake LoadBalancer controller handed out (from 10.111.111.0/24). */
export const LB_IP = '10.111.111.129';
export const LB_PREFIX = `${LB_IP}/32`;

/** Fixed like spec.ts's chain names (kube-proxy would use a hash of "default/echo" + "tcp"). */
export const SVL_CHAIN = 'KUBE-SVL-DEFAULTECHOTCP80';
export const EXT_SERVICES_CHAIN = 'KUBE-EXTERNAL-SERVICES';

const SVC = `${SERVICE.namespace}/${SERVICE.name}`;
const PORTALS = 'kubernetes externally-visible service portals';

/** The endpoints running on this node (kube-proxy's "local endpoints"). */
export function localEndpoints(node: string): (typeof SERVICE.endpoints)[number][] {
  return SERVICE.endpoints.filter((e) => PODS.find((p) => p.name === e.pod)?.node === node);
}

/** The rules of the chains this scenario owns, for one node under one policy (iptables-save form). */
export function policyRuleLines(node: string, etp: Etp): { nat: string[]; filter: string[] } {
  const ext = SERVICE.extChain;
  const svc = SERVICE.svcChain;
  const local = localEndpoints(node);
  const nat = [`-A KUBE-NODEPORTS -p tcp -m comment --comment "${SVC}" -m tcp --dport ${SERVICE.nodePort} -j ${ext}`];
  const filter: string[] = [];
  if (etp === 'Cluster') {
    // Any endpoint, possibly on another node: SNAT so the reply comes back through this node.
    nat.push(
      `-A ${ext} -m comment --comment "masquerade traffic for ${SVC} external destinations" -j KUBE-MARK-MASQ`,
      `-A ${ext} -j ${svc}`,
    );
    return { nat, filter };
  }
  nat.push(
    // Pods and the node itself are inside the cluster: for them the external address acts like the ClusterIP.
    `-A ${ext} -s ${CLUSTER_CIDR} -m comment --comment "pod traffic for ${SVC} external destinations" -j ${svc}`,
    `-A ${ext} -m comment --comment "masquerade LOCAL traffic for ${SVC} external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
    `-A ${ext} -m comment --comment "route LOCAL traffic for ${SVC} external destinations" -m addrtype --src-type LOCAL -j ${svc}`,
  );
  if (local.length > 0) {
    nat.push(`-A ${ext} -j ${SVL_CHAIN}`);
    nat.push(
      ...local.map((e, i) => {
        const left = local.length - i;
        const prob = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : '';
        return `-A ${SVL_CHAIN} -m comment --comment "${SVC} -> ${e.ip}:${e.port}"${prob} -j ${e.sepChain}`;
      }),
    );
  } else {
    // Nothing DNATed external traffic, so it still carries the LB IP or the node's IP: drop it in filter.
    const why = `${SVC} has no local endpoints`;
    filter.push(
      `-A ${EXT_SERVICES_CHAIN} -d ${LB_PREFIX} -p tcp -m comment --comment "${why}" -m tcp --dport ${SERVICE.port} -j DROP`,
      `-A ${EXT_SERVICES_CHAIN} -p tcp -m comment --comment "${why}" -m addrtype --dst-type LOCAL -m tcp --dport ${SERVICE.nodePort} -j DROP`,
    );
  }
  return { nat, filter };
}

/**
 * Rules added once when the scenario comes up and the same under both policies: the LoadBalancer IP and the
 * NodePort captured in KUBE-SERVICES (nodeports last, as kube-proxy insists) and the filter hooks for
 * KUBE-EXTERNAL-SERVICES. Appended after spec.ts's rules, so the ClusterIP rule stays first.
 */
function staticRuleLines(): { nat: string[]; filter: string[] } {
  return {
    nat: [
      `-A KUBE-SERVICES -d ${LB_PREFIX} -p tcp -m comment --comment "${SVC} loadbalancer IP" -m tcp --dport ${SERVICE.port} -j ${SERVICE.extChain}`,
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    ],
    filter: [
      `-A INPUT -m conntrack --ctstate NEW -m comment --comment "${PORTALS}" -j ${EXT_SERVICES_CHAIN}`,
      `-A FORWARD -m conntrack --ctstate NEW -m comment --comment "${PORTALS}" -j ${EXT_SERVICES_CHAIN}`,
    ],
  };
}

/**
 * `iptables-restore --noflush` input that flushes this scenario's chains and rewrites them for `etp`, in one
 * transaction per table, so a switch leaves nothing of the previous policy (KUBE-SVL-… is deleted when unused,
 * as kube-proxy deletes stale chains). With `withStatic` (once, at up) it also adds the jumps into them.
 */
export function policyRestore(node: string, etp: Etp, withStatic = false): string {
  const { nat, filter } = policyRuleLines(node, etp);
  const fixed = withStatic ? staticRuleLines() : { nat: [], filter: [] };
  const usesSvl = nat.some((l) => l.startsWith(`-A ${SVL_CHAIN} `));
  return [
    '*nat',
    ':KUBE-NODEPORTS - [0:0]',
    `:${SERVICE.extChain} - [0:0]`,
    `:${SVL_CHAIN} - [0:0]`,
    ...fixed.nat,
    ...nat,
    ...(usesSvl ? [] : [`-X ${SVL_CHAIN}`]),
    'COMMIT',
    '*filter',
    `:${EXT_SERVICES_CHAIN} - [0:0]`,
    ...fixed.filter,
    ...filter,
    'COMMIT',
    '',
  ].join('\n');
}
