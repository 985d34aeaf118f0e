// What a scenario is: the basic lab, reshaped (which kube-proxy rules stay, how pods are wired) and then
// extended by `up`. Anything a scenario creates outside the lab's namespaces is recorded in `owned`, so
// `lab down` removes it from the state file alone, even after a crash or with another scenario's code.
import type { LabScenario, ScenarioInfo } from '../../protocol/lab';
import type { NodeSpec, PodSpec } from '../spec';
import type { Owned } from '../state';

export type Progress = (step: string) => void;

export interface ScenarioCtx {
  readonly progress: Progress;
  /** Host-global resources; push before creating them, then `save()`. */
  readonly owned: Owned;
  /** The scenario's settings as they will be after this call. */
  readonly settings: Readonly<Record<string, string>>;
  save(): Promise<void>;
}

/** How a node's pods are plugged in: `ip -batch` lines run in the node's netns after its eth0 is up. */
export type NodeWiring = (node: NodeSpec, pods: readonly PodSpec[]) => string[];

export interface Scenario {
  readonly info: ScenarioInfo & { readonly name: LabScenario };
  /** Which of kube-proxy's iptables rules for the echo service the nodes keep. */
  readonly kubeProxy: { readonly clusterIP: boolean; readonly nodePort: boolean };
  /** false when nothing serves the echo NodePort (default true: kube-proxy or the scenario's own datapath). */
  readonly servesNodePort?: boolean;
  /** Replaces the cni0 bridge wiring (the pods' eth0 must still be created here with their PodSpec MAC). */
  readonly wireNode?: NodeWiring;
  /** `ip -batch` lines in the pod's netns after its address is set; default: `route add default via gw`. */
  readonly podRoutes?: (pod: PodSpec, node: NodeSpec) => string[];
  /** Runs once the basic parts are up and the echo servers listen. */
  up(ctx: ScenarioCtx): Promise<void>;
  /** Applies one setting while the scenario is up (already validated against info.settings). */
  set?(ctx: ScenarioCtx, name: string, value: string): Promise<void>;
}
