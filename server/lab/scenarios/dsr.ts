// Seed 000: NodePort 31400 served by a tc BPF datapath with Direct Server Return, Cilium's DSR_ENCAP_NONE.
// probes/lab/dsr.bpf.c does the work on each node's eth0; this file loads it and fills its service and
// backend maps. kube-proxy keeps only its ClusterIP rules.
import { access, rm } from 'node:fs/promises';
import { execOk } from '../../sys/exec';
import { TC_GLOBALS, labObject, tcAttach } from '../bpf';
import { LabError } from '../errors';
import { NODES, SERVICE } from '../spec';
import type { Scenario, ScenarioCtx } from './types';
import { scenarioText } from './text';

// tc's loader pins the `LIBBPF_PIN_BY_NAME` maps in TC_GLOBALS, so both programs on both nodes share them.
export { TC_GLOBALS };
export const DSR_MAPS = ['pj_dsr_svc', 'pj_dsr_backends', 'pj_dsr_lb_flows', 'pj_dsr_rev_nat'] as const;
export const DSR_OBJECT = 'dsr';
export const DSR_SECTIONS = { ingress: 'from-netdev', egress: 'to-netdev' } as const;
const PROTOS = { tcp: 6, udp: 17 } as const;

const hex = (bytes: readonly number[]): string[] => bytes.map((b) => b.toString(16).padStart(2, '0'));
const ipBytes = (ip: string): number[] => ip.split('.').map(Number);
/** Host order (dsr.h keeps ports and counts so) on the little-endian machines the lab runs on (x86, arm64). */
const le16 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff];
const le32 = (n: number): number[] => [...le16(n & 0xffff), ...le16(n >>> 16)];

/** `bpftool batch` lines filling pj_dsr_backends and pj_dsr_svc (layouts in probes/lab/dsr.h). */
export function mapFill(): string[] {
  const backends = SERVICE.endpoints.map(
    (e, i) =>
      `map update pinned ${TC_GLOBALS}/pj_dsr_backends key hex ${hex(le32(i)).join(' ')} ` +
      `value hex ${hex([...ipBytes(e.ip), ...le16(e.port), 0, 0]).join(' ')}`,
  );
  const services = Object.values(PROTOS).map(
    (proto) =>
      `map update pinned ${TC_GLOBALS}/pj_dsr_svc key hex ${hex([...le16(SERVICE.nodePort), proto, 0]).join(' ')} ` +
      `value hex ${hex([...le16(0), ...le16(SERVICE.endpoints.length)]).join(' ')}`,
  );
  return [...backends, ...services];
}

async function up(ctx: ScenarioCtx): Promise<void> {
  const object = labObject(DSR_OBJECT);
  await access(object).catch(() => {
    throw new LabError(`${object} is missing: build the lab's BPF objects with \`make -C probes\``);
  });
  const pins = DSR_MAPS.map((m) => `${TC_GLOBALS}/${m}`);
  // Recorded before tc creates them, so `down` removes them even if a load below fails. Leftovers of a
  // crashed run would be reused by tc with their old flows, so they go first (the pj_dsr_ names are ours).
  for (const p of pins) if (!ctx.owned.pins.includes(p)) ctx.owned.pins.push(p);
  await ctx.save();
  await Promise.all(pins.map((p) => rm(p, { force: true })));

  ctx.progress('loading dsr.bpf.o on node1 eth0 (from-netdev, ingress); it creates the pj_dsr_* maps');
  const [first, ...rest] = NODES.flatMap((n) =>
    (['ingress', 'egress'] as const).map((dir) => ({ netns: n.name, dev: 'eth0', dir })),
  );
  if (!first) throw new LabError('the lab has no nodes');
  const attach = (a: typeof first): Promise<number> =>
    tcAttach(ctx.owned, { ...a, object: DSR_OBJECT, section: DSR_SECTIONS[a.dir] });
  // The first load creates and pins the maps; the others find them pinned and reuse them.
  await attach(first);
  ctx.progress('loading it on the other eth0 hooks, and filling the service and backend maps');
  await Promise.all([
    ...rest.map(attach),
    execOk(['bpftool', 'batch', 'file', '-'], { input: mapFill().join('\n') + '\n' }),
  ]);
}

export const dsr: Scenario = {
  info: {
    name: 'dsr',
    ...scenarioText('dsr'),
    seed: 'seed 000',
    tryCommands: [
      'curl -s 172.18.0.2:31400',
      'curl -s 172.18.0.3:31400',
      'echo hello | socat -t1 - UDP:172.18.0.2:31400',
      "tcpdump -n -e -c 6 -i kind0 'tcp port 31400 or tcp port 8080'",
      "ip netns exec node2 tcpdump -n -e -vv -X -c 4 -i eth0 'tcp port 8080 or tcp port 31400'",
      'ip netns exec node1 ethtool -K eth0 tx off',
      'ip netns exec node2 ethtool -K eth0 tx off',
      "ip netns exec node2 tcpdump -n -i eth0 -c 1 -w /tmp/dsr-syn.pcap 'tcp[tcpflags] == tcp-syn'",
      'packet-journey decode /tmp/dsr-syn.pcap',
      'ip netns exec node1 tc filter show dev eth0 ingress',
      'ip netns exec node2 tc filter show dev eth0 egress',
      'bpftool map dump pinned /sys/fs/bpf/tc/globals/pj_dsr_backends',
      'bpftool map dump pinned /sys/fs/bpf/tc/globals/pj_dsr_lb_flows',
      'bpftool map dump pinned /sys/fs/bpf/tc/globals/pj_dsr_rev_nat',
      'ip netns exec node1 iptables -t nat -S KUBE-NODEPORTS',
    ],
    settings: [],
  },
  kubeProxy: { clusterIP: true, nodePort: false },
  up,
};
