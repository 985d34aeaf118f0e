// "Follow this" on a scenario's card: the follow that shows what the scenario is about, run on the
// Follow tab. The addresses are the scenarios' own (server/lab/scenarios/*.ts); the card offers the
// button only while that scenario runs.
import { createContext } from 'react';
import type { LabScenario } from '../../../server/protocol/lab';
import type { FollowRequest } from '../../../server/protocol/tracer';

export interface FollowPreset {
  /** The button's words, e.g. `pod-a → pod-c (icmp)`. */
  readonly label: string;
  /** Whether `to` is a namespace (the form's pod buttons) or an address (its text field). */
  readonly toKind: 'ns' | 'ip';
  readonly request: Omit<FollowRequest, 'id'> & { from: string; to: string };
}

const preset = (from: string, to: string, toKind: 'ns' | 'ip', proto: 'icmp' | 'tcp', port?: number): FollowPreset => ({
  label: `${from} → ${to}${port ? `:${port}` : ''} (${proto})`,
  toKind,
  request: { from, to, proto, ...(port !== undefined && { port }) },
});

export const FOLLOW_PRESETS: Readonly<Record<LabScenario, FollowPreset>> = {
  basic: preset('pod-a', 'pod-c', 'ns', 'icmp'),
  // The host is the outside client; node1 takes the NodePort and node2 answers it directly.
  dsr: preset('host', '172.18.0.2', 'ip', 'tcp', 31400),
  // The LoadBalancer address (etp-local-rules.ts LB_IP), routed by the host to one node.
  'etp-local': preset('host', '10.111.111.129', 'ip', 'tcp', 80),
  // connect() to the ClusterIP is rewritten at the socket: no hop carries the service address.
  'sock-lb': preset('pod-a', '10.96.0.10', 'ip', 'tcp', 80),
  // bpf_redirect_peer hides the arrival on pod-c's eth0 (an inferred hop).
  'ebpf-routing': preset('pod-a', 'pod-c', 'ns', 'icmp'),
};

/** Set by the page: switch to the Follow tab and run this follow. Absent outside the page (tests). */
export const FollowThisContext = createContext<((p: FollowPreset) => void) | undefined>(undefined);

/** data-testid of the card's button (kept here, next to the presets it runs). */
export const followThisId = 'lab-follow-this';
