// Seed 001: externalTrafficPolicy Local against Cluster, and what happens to the client IP. The echo service
// becomes a LoadBalancer at 10.111.111.129:80 that the host (the "outside world") reaches through a host
// route via one node, the way seed 001 emulates its external load balancer with `ip route add … via NODE`.
// kube-proxy's ClusterIP rules stay (spec.ts); the NodePort and LoadBalancer rules are ours, per policy.
import { z } from 'zod';
import { execOk, inNetns } from '../../sys/exec';
import { LabError } from '../errors';
import { BRIDGE, NODES, SERVICE } from '../spec';
import type { Owned } from '../state';
import { ETP_VALUES, EXT_SERVICES_CHAIN, LB_IP, LB_PREFIX, SVL_CHAIN, policyRestore } from './etp-local-rules';
import type { Scenario, ScenarioCtx } from './types';
import { scenarioText, settingHelp } from './text';

const NODE_NAMES = NODES.map((n) => n.name);
const Settings = z.object({
  etp: z.enum(ETP_VALUES).default('Local'),
  'lb-via': z.enum(NODE_NAMES as [string, ...string[]]).default('node2'),
});
type Settings = z.infer<typeof Settings>;

function parseSettings(given: Readonly<Record<string, string>>): Settings {
  const r = Settings.safeParse(given);
  if (!r.success) throw new LabError(`etp-local: bad settings ${JSON.stringify(given)}`);
  return r.data;
}

/** The host's gateway on kind0: like a kind node's default route to the docker network's gateway. */
const HOST_GW = BRIDGE.cidr.split('/')[0] as string;

function nodeIp(name: string): string {
  const n = NODES.find((x) => x.name === name);
  if (!n) throw new LabError(`etp-local: no node "${name}"`);
  return n.ip;
}

/** `ip route` arguments of the host route to the LB IP via one node; also what `down` deletes. */
const lbRoute = (via: string): string[] => [LB_PREFIX, 'via', nodeIp(via), 'dev', BRIDGE.name];
const isLbRoute = (r: readonly string[]): boolean => r[0] === LB_PREFIX;

async function restore(node: string, text: string): Promise<void> {
  await execOk(inNetns({ kind: 'named', name: node }, 'iptables-restore', ['--noflush']), { input: text });
}

/** Rewrites every node's policy chains; each node's change is one iptables-restore transaction. */
async function applyPolicy(etp: Settings['etp']): Promise<void> {
  await Promise.all(NODE_NAMES.map((n) => restore(n, policyRestore(n, etp))));
}

/** A route to the LB IP that the lab did not record is someone else's: refuse rather than take it over. */
async function assertNoForeignLbRoute(owned: Owned): Promise<void> {
  const out = await execOk(['ip', '-j', 'route', 'show', 'exact', LB_PREFIX]);
  const routes = z.array(z.object({ dst: z.string() }).passthrough()).parse(JSON.parse(out || '[]'));
  if (routes.length > 0 && !owned.hostRoutes.some(isLbRoute))
    throw new LabError(`refusing to start: the host already has a route to ${LB_IP} and the lab did not create it`);
}

/** Points the host route at `via`: recorded before it exists, the old record dropped only once it is gone. */
async function routeVia(ctx: ScenarioCtx, via: string): Promise<void> {
  const want = lbRoute(via);
  const same = (r: readonly string[]): boolean => r.join(' ') === want.join(' ');
  const routes = ctx.owned.hostRoutes;
  const ours = routes.filter(isLbRoute);
  if (ours.length === 1 && ours.every(same)) return;
  if (!routes.some(same)) {
    routes.push(want);
    await ctx.save();
  }
  // `replace` swaps the route to the LB IP in place, so there is no moment without one.
  await execOk(['ip', 'route', 'replace', ...want]);
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i];
    if (r && isLbRoute(r) && !same(r)) routes.splice(i, 1);
  }
  await ctx.save();
}

async function up(ctx: ScenarioCtx): Promise<void> {
  const s = parseSettings(ctx.settings);
  await assertNoForeignLbRoute(ctx.owned);
  ctx.progress(`kube-proxy NodePort and LoadBalancer ${LB_IP} rules, externalTrafficPolicy=${s.etp}`);
  await Promise.all(
    NODE_NAMES.map(async (n) => {
      // Node-originated traffic to the LB IP needs a route before OUTPUT's DNAT can apply (kind nodes have one).
      await execOk(['ip', '-n', n, 'route', 'replace', 'default', 'via', HOST_GW]);
      await restore(n, policyRestore(n, s.etp, true));
    }),
  );
  ctx.progress(`host route ${LB_IP} via ${s['lb-via']} (${nodeIp(s['lb-via'])})`);
  await routeVia(ctx, s['lb-via']);
}

async function set(ctx: ScenarioCtx, name: string, value: string): Promise<void> {
  const s = parseSettings(ctx.settings);
  if (name === 'etp') {
    ctx.progress(`rewriting KUBE-EXT/KUBE-SVL/${EXT_SERVICES_CHAIN} for externalTrafficPolicy=${s.etp}`);
    await applyPolicy(s.etp);
  } else if (name === 'lb-via') {
    ctx.progress(`host route ${LB_IP} via ${s['lb-via']} (${nodeIp(s['lb-via'])})`);
    await routeVia(ctx, s['lb-via']);
  } else {
    throw new LabError(`etp-local has no setting "${name}"=${value}`);
  }
}

export const etpLocal: Scenario = {
  info: {
    name: 'etp-local',
    ...scenarioText('etp-local', {
      lbIp: LB_IP,
      port: SERVICE.port,
      nodePort: SERVICE.nodePort,
      extChain: EXT_SERVICES_CHAIN,
    }),
    seed: 'seed 001',
    tryCommands: [
      `ip route get ${LB_IP}`,
      `curl -s ${LB_IP}`,
      'packet-journey lab set lb-via=node1',
      `curl -sv -m 3 ${LB_IP}`,
      `ip netns exec node1 iptables -t filter -L ${EXT_SERVICES_CHAIN} -v -n`,
      `ip netns exec node1 iptables -t nat -S ${SERVICE.extChain}`,
      `ip netns exec node2 iptables -t nat -S ${SVL_CHAIN}`,
      `ip netns exec node1 curl -s ${LB_IP}`,
      'packet-journey lab set etp=Cluster',
      `curl -s ${LB_IP}`,
      `curl -s 172.18.0.2:${SERVICE.nodePort}`,
      'packet-journey lab set etp=Local',
      `curl -s 172.18.0.3:${SERVICE.nodePort}`,
      'packet-journey lab set lb-via=node2',
    ],
    settings: [
      {
        name: 'etp',
        values: [...ETP_VALUES],
        default: 'Local',
        ...settingHelp('etp-local', 'etp'),
      },
      {
        name: 'lb-via',
        values: [...NODE_NAMES],
        default: 'node2',
        ...settingHelp('etp-local', 'lb-via', { lbIp: LB_IP }),
      },
    ],
  },
  kubeProxy: { clusterIP: true, nodePort: false },
  up,
  set,
};

/** The exact `ip route` arguments recorded for a given lb-via (tests compare with `ip route show`). */
export const lbRouteArgs = lbRoute;
