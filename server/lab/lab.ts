// Bring the embedded lab up and down. Everything created is recorded (state.ts); anything of the same
// name that the lab did not create makes `up` refuse before it changes anything.
import { msg } from '../protocol/i18n/msg';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabScenario, LabStatus } from '../protocol/lab';
import { exec, execOk, inNetns } from '../sys/exec';
import { startDetached } from '../sys/proc';
import { parseLinks } from '../topology/iproute';
import { NETNS_DIR, namedInode } from '../topology/namespaces';
import {
  BRIDGE,
  ECHO_PORT,
  HOST_FORWARD_RULE,
  HOST_FORWARD_RULE6,
  HOST_LINKS,
  NAMESPACES,
  NODES,
  PODS,
  SERVICE,
  kubeProxyRules,
  type NodeSpec,
  type PodSpec,
} from './spec';
import { releaseOwned } from './bpf';
import { LabError } from './errors';
import { livePrograms } from './progs';
import { blockedSources } from './progs/blocklist';
import { CATALOG, SCENARIOS, settingsOf } from './scenarios';
import type { Scenario, ScenarioCtx } from './scenarios/types';
import { clearState, emptyOwned, readState, writeState, type LabState } from './state';

const ECHO_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'echo-server.mjs');

export { LabError };

export type Progress = (step: string) => void;

export function assertRoot(): void {
  if (process.getuid?.() !== 0) throw new LabError(msg('err.lab.root'));
}

async function hostLinkIndexes(): Promise<Map<string, number>> {
  const out = await execOk(['ip', '-j', 'link', 'show']);
  return new Map((parseLinks(out)?.interfaces ?? []).map((l) => [l.name, l.ifindex]));
}

/** One host link's ifindex from sysfs (status runs at every `lab status`: no `ip` to spawn), if it exists. */
async function hostIfindex(name: string): Promise<number | undefined> {
  return readFile(`/sys/class/net/${name}/ifindex`, 'utf8').then(
    (s) => Number(s.trim()),
    () => undefined,
  );
}

/** Feeds commands to `ip -batch` (optionally in a netns): one process instead of dozens. */
async function ipBatch(netns: string | undefined, lines: readonly string[]): Promise<void> {
  const argv = netns ? ['ip', '-n', netns, '-batch', '-'] : ['ip', '-batch', '-'];
  await execOk(argv, { input: lines.join('\n') + '\n' });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True only if pid is still one of our echo servers (PIDs get reused). */
async function isEchoProcess(pid: number): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes('echo-server.mjs');
  } catch {
    return false;
  }
}

/** Waits until the process's netns has a TCP listener on port (read from /proc, no traffic needed). */
async function waitListening(pid: number, port: number, timeoutMs: number, table = 'tcp'): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const tcp = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
    if (tcp.split('\n').some((l) => l.includes(hex) && / 0A /.test(l))) return;
    if (!pidAlive(pid)) throw new LabError(`echo server (pid ${pid}) exited before listening on ${port}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new LabError(`echo server (pid ${pid}) did not listen on ${port} within ${timeoutMs} ms`);
}

function startEcho(pod: string): number {
  const argv = inNetns({ kind: 'named', name: pod }, process.execPath, [ECHO_SCRIPT, pod, String(ECHO_PORT)]);
  const pid = startDetached(argv);
  if (pid === undefined) throw new LabError(`could not start the echo server in ${pod}`);
  return pid;
}

/** Names of lab resources that exist but are not ours. Empty means `up` may proceed. */
async function foreignResources(state: LabState | undefined): Promise<string[]> {
  const links = await hostLinkIndexes();
  const foreign: string[] = [];
  for (const ns of NAMESPACES) {
    const ino = await namedInode(ns);
    if (ino !== undefined && state?.namespaces[ns] !== ino) foreign.push(`network namespace "${ns}"`);
  }
  for (const l of HOST_LINKS) {
    const idx = links.get(l);
    if (idx !== undefined && state?.hostLinks[l] !== idx) foreign.push(`link "${l}"`);
  }
  return foreign;
}

async function hostRulePresent(rule: readonly string[], cmd = 'iptables'): Promise<boolean> {
  return (await exec([cmd, '-C', ...rule])).code === 0;
}

/** Dual-stack needs the basic cni0 wiring: a scenario that plugs pods in its own way (ebpf-routing) stays
 * IPv4-only. */
const dualStack = (sc: Scenario): boolean => sc.wireNode === undefined && sc.podRoutes === undefined;

/** IPv6 sysctls for a namespace: addresses usable at once (no duplicate address detection), no router
 * solicitations or autoconfiguration (the lab sets every address and route itself). */
const V6_SYSCTLS = [
  'net.ipv6.conf.all.accept_dad=0',
  'net.ipv6.conf.default.accept_dad=0',
  'net.ipv6.conf.all.accept_ra=0',
  'net.ipv6.conf.default.accept_ra=0',
  'net.ipv6.conf.default.router_solicitations=0',
] as const;

export async function labStatus(): Promise<LabStatus> {
  const state = await readState();
  const v6 = state !== undefined && dualStack(SCENARIOS[state.scenario]);
  const namespaces = await Promise.all(
    [
      { name: 'host', role: 'host' as const, addr: BRIDGE.cidr, addr6: BRIDGE.cidr6, node: undefined },
      ...NODES.map((n) => ({
        name: n.name,
        role: 'node' as const,
        addr: `${n.ip}/16`,
        addr6: `${n.ip6}/64`,
        node: undefined,
      })),
      ...PODS.map((p) => ({
        name: p.name,
        role: 'pod' as const,
        addr: `${p.ip}/24`,
        addr6: `${p.ip6}/64`,
        node: p.node,
      })),
    ].map(async (n) => {
      const present =
        n.role === 'host'
          ? state !== undefined && (await hostIfindex(BRIDGE.name)) === state.hostLinks[BRIDGE.name]
          : state !== undefined && (await namedInode(n.name)) === state.namespaces[n.name];
      return {
        name: n.name,
        role: n.role,
        addr: n.addr,
        ...(v6 && { addr6: n.addr6 }),
        present,
        ...(n.node ? { node: n.node } : {}),
      };
    }),
  );
  const echoServers = await Promise.all(
    (state?.echo ?? []).map(async (e) => ({ pod: e.pod, pid: e.pid, alive: await isEchoProcess(e.pid) })),
  );
  const allPresent = namespaces.every((n) => n.present);
  const anyPresent = namespaces.some((n) => n.present);
  const echoOk = echoServers.length === PODS.filter((p) => p.echo).length && echoServers.every((e) => e.alive);
  return {
    up: state !== undefined && allPresent && echoOk,
    partial: state !== undefined && (!allPresent || !echoOk) && (anyPresent || echoServers.some((e) => e.alive)),
    scenario: state?.scenario ?? null,
    settings: state?.settings ?? {},
    namespaces,
    services: [
      {
        name: SERVICE.name,
        clusterIP: SERVICE.clusterIP,
        ...(v6 && SCENARIOS[state.scenario].kubeProxy.clusterIP && { clusterIP6: SERVICE.clusterIP6 }),
        port: SERVICE.port,
        nodePort: state && SCENARIOS[state.scenario].servesNodePort === false ? null : SERVICE.nodePort,
        backends: SERVICE.endpoints.map((e) => `${e.ip}:${e.port}`),
      },
    ],
    echoServers,
    // Read back from the kernel: a program removed by hand is not listed as attached.
    programs: state ? await livePrograms(state.programs) : [],
    blocklist: state ? await blockedSources().catch(() => []) : [],
    catalog: [...CATALOG],
  };
}

export async function labUp(opts: { scenario?: LabScenario; onProgress?: Progress } = {}): Promise<LabStatus> {
  assertRoot();
  const scenario = opts.scenario ?? 'basic';
  const sc = SCENARIOS[scenario];
  const progress = opts.onProgress ?? (() => undefined);

  const existing = await readState();
  if (existing) {
    const status = await labStatus();
    // A lab an older version built without IPv6 is rebuilt, like a partial one.
    if (status.up && existing.scenario === scenario && (existing.ipv6 === true || !dualStack(sc))) {
      progress('lab already up');
      return status;
    }
    // A partial or different lab of ours: rebuild it from scratch rather than patch it.
    progress('repairing a partial lab');
    await labDown({ onProgress: progress });
  }

  const foreign = await foreignResources(undefined);
  if (foreign.length > 0) {
    throw new LabError(
      `refusing to start: ${foreign.join(', ')} already exist${foreign.length === 1 ? 's' : ''} and the lab did not create ${foreign.length === 1 ? 'it' : 'them'}`,
    );
  }

  const state: LabState = {
    scenario,
    settings: settingsOf(scenario),
    createdAt: new Date().toISOString(),
    namespaces: {},
    hostLinks: {},
    hostRules: [],
    echo: [],
    owned: emptyOwned(),
    programs: [],
  };
  try {
    progress('creating namespaces and the kind0 bridge');
    await createAndRecord(state);
    progress('wiring nodes, pods and routes');
    await wireNodes(sc);
    progress(
      sc.kubeProxy.clusterIP || sc.kubeProxy.nodePort
        ? 'configuring pods, sysctls and kube-proxy rules'
        : 'configuring pods and sysctls',
    );
    await configurePodsAndRules(state, sc);
    if (dualStack(sc)) state.ipv6 = true;
    progress('starting echo servers in pod-c and pod-d');
    await startEchoServers(state, dualStack(sc));
    if (scenario !== 'basic') progress(`setting up scenario ${scenario}: ${sc.info.title}`);
    await sc.up(scenarioCtx(state, progress));
    await writeState(state);
  } catch (e) {
    progress('rolling back');
    await writeState(state);
    await labDown().catch(() => undefined);
    throw e;
  }
  progress('lab up');
  return labStatus();
}

/** Namespaces, kind0 and the node veths; ownership is recorded before anything else can fail. */
async function createAndRecord(state: LabState): Promise<void> {
  await ipBatch(undefined, [
    ...NAMESPACES.map((n) => `netns add ${n}`),
    `link add ${BRIDGE.name} address ${BRIDGE.mac} type bridge`,
    ...NODES.map((n) => `link add ${n.veth} type veth peer name eth0 address ${n.mac} netns ${n.name}`),
  ]);
  // Record ownership before anything else can fail, so `down` can always clean up.
  for (const n of NAMESPACES) {
    const ino = await namedInode(n);
    if (ino !== undefined) state.namespaces[n] = ino;
  }
  const links = await hostLinkIndexes();
  for (const l of HOST_LINKS) {
    const idx = links.get(l);
    if (idx !== undefined) state.hostLinks[l] = idx;
  }
  await writeState(state);
}

function scenarioCtx(state: LabState, progress: Progress): ScenarioCtx {
  return { progress, owned: state.owned, settings: state.settings, save: () => writeState(state) };
}

/** The basic lab's pod wiring: a cni0 bridge holding the gateway address, one veth per pod on it. */
function bridgeWiring(n: NodeSpec, pods: readonly PodSpec[]): string[] {
  return [
    `link add cni0 address 0a:58:${hexIp(n.gateway)} type bridge`,
    `addr add ${n.gateway}/24 dev cni0`,
    'link set cni0 up',
    ...pods.flatMap((p) => [
      `link add ${p.veth} type veth peer name eth0 address ${p.mac} netns ${p.name}`,
      `link set ${p.veth} master cni0`,
      `link set ${p.veth} type bridge_slave hairpin on`,
      `link set ${p.veth} up`,
    ]),
  ];
}

/** kind0 up with the nodes on it; in each node, eth0, the pods (on cni0 unless the scenario wires them
 * otherwise) and routes to the other node. */
async function wireNodes(sc: Scenario): Promise<void> {
  const v6 = dualStack(sc);
  if (v6)
    await Promise.all([
      // Node eth0s exist already (createAndRecord): `default` no longer applies to them.
      ...NAMESPACES.map((ns) =>
        execOk(
          inNetns({ kind: 'named', name: ns }, 'sysctl', [
            '-qw',
            ...V6_SYSCTLS,
            ...(NODES.some((n) => n.name === ns) ? ['net.ipv6.conf.eth0.accept_dad=0'] : []),
          ]),
        ),
      ),
      // Only the lab's own links in the host namespace: its all/default settings are not the lab's to change.
      execOk(['sysctl', '-qw', ...HOST_LINKS.map((l) => `net.ipv6.conf.${l}.accept_dad=0`)]),
    ]);
  await ipBatch(undefined, [
    `addr add ${BRIDGE.cidr} dev ${BRIDGE.name}`,
    ...(v6 ? [`addr add ${BRIDGE.cidr6} dev ${BRIDGE.name} nodad`] : []),
    `link set ${BRIDGE.name} up`,
    ...NODES.flatMap((n) => [`link set ${n.veth} master ${BRIDGE.name}`, `link set ${n.veth} up`]),
  ]);
  await Promise.all(
    NODES.map((n) => {
      const pods = PODS.filter((p) => p.node === n.name);
      const other = NODES.filter((o) => o.name !== n.name);
      return ipBatch(n.name, [
        'link set lo up',
        `addr add ${n.ip}/16 dev eth0`,
        ...(v6 ? [`addr add ${n.ip6}/64 dev eth0 nodad`] : []),
        'link set eth0 up',
        ...(sc.wireNode ?? bridgeWiring)(n, pods),
        ...other.map((o) => `route add ${o.podCidr} via ${o.ip}`),
        ...(v6
          ? [`addr add ${n.gateway6}/64 dev cni0 nodad`, ...other.map((o) => `route add ${o.podCidr6} via ${o.ip6}`)]
          : []),
      ]);
    }),
  );
}

/** Pod addresses and default routes, node sysctls and kube-proxy rules, and the host FORWARD rule. */
async function configurePodsAndRules(state: LabState, sc: Scenario): Promise<void> {
  const rules = kubeProxyRules(sc.kubeProxy);
  const v6 = dualStack(sc);
  const rules6 = v6 ? kubeProxyRules(sc.kubeProxy, 6) : '';
  await Promise.all([
    ...PODS.map((p) => {
      const node = NODES.find((n) => n.name === p.node);
      if (!node) throw new Error(`pod ${p.name} names unknown node ${p.node}`);
      return ipBatch(p.name, [
        'link set lo up',
        `addr add ${p.ip}/24 dev eth0`,
        ...(v6 ? [`addr add ${p.ip6}/64 dev eth0 nodad`] : []),
        'link set eth0 up',
        ...(sc.podRoutes?.(p, node) ?? [`route add default via ${node.gateway}`]),
        ...(v6 ? [`route add default via ${node.gateway6}`] : []),
      ]);
    }),
    ...NODES.map(async (n) => {
      const ns = { kind: 'named', name: n.name } as const;
      await execOk(
        inNetns(ns, 'sysctl', [
          '-qw',
          'net.ipv4.ip_forward=1',
          'net.ipv4.conf.all.rp_filter=0',
          'net.ipv4.conf.default.rp_filter=0',
          ...(v6 ? ['net.ipv6.conf.all.forwarding=1'] : []),
        ]),
      );
      if (rules) await execOk(inNetns(ns, 'iptables-restore', ['--noflush']), { input: rules });
      if (rules6) await execOk(inNetns(ns, 'ip6tables-restore', ['--noflush']), { input: rules6 });
    }),
    (async () => {
      if (!(await hostRulePresent(HOST_FORWARD_RULE))) {
        await execOk(['iptables', '-I', ...HOST_FORWARD_RULE.slice(0, 1), '1', ...HOST_FORWARD_RULE.slice(1)]);
        state.hostRules.push([...HOST_FORWARD_RULE]);
      }
      if (v6) {
        if (!(await hostRulePresent(HOST_FORWARD_RULE6, 'ip6tables')))
          await execOk(['ip6tables', '-I', ...HOST_FORWARD_RULE6.slice(0, 1), '1', ...HOST_FORWARD_RULE6.slice(1)]);
        // Recorded even when it was there already: it carries the lab's tag, and a `down` by a version
        // before IPv6 leaves it behind (it knows no ip6tables), so this `down` must take it.
        (state.hostRules6 ??= []).push([...HOST_FORWARD_RULE6]);
      }
    })(),
  ]);
}

async function startEchoServers(state: LabState, v6: boolean): Promise<void> {
  for (const p of PODS.filter((x) => x.echo)) state.echo.push({ pod: p.name, pid: startEcho(p.name) });
  await writeState(state);
  await Promise.all(
    state.echo.flatMap((e) => [
      waitListening(e.pid, ECHO_PORT, 5000),
      ...(v6 ? [waitListening(e.pid, ECHO_PORT, 5000, 'tcp6')] : []),
    ]),
  );
}

function hexIp(ip: string): string {
  return ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join(':');
}

export interface DownResult {
  readonly removed: boolean;
  readonly message: string;
}

export async function labDown(opts: { onProgress?: Progress } = {}): Promise<DownResult> {
  assertRoot();
  const progress = opts.onProgress ?? (() => undefined);
  const state = await readState();
  if (!state) return { removed: false, message: 'lab is not up; nothing to remove' };

  progress('stopping echo servers');
  for (const e of state.echo) {
    if (await isEchoProcess(e.pid)) process.kill(e.pid, 'SIGKILL');
  }
  progress('removing iptables rules');
  for (const [cmd, rules] of [
    ['iptables', state.hostRules],
    ['ip6tables', state.hostRules6 ?? []],
  ] as const) {
    for (const rule of rules) {
      while ((await exec([cmd, '-D', ...rule])).code === 0) {
        // -D removes one copy per call; repeat in case a crash left duplicates.
      }
    }
  }
  progress('removing BPF attachments and pins');
  const unreleased = await releaseOwned(state.owned);
  progress('removing links and namespaces');
  const links = await hostLinkIndexes();
  const ours = Object.entries(state.hostLinks).filter(([name, idx]) => links.get(name) === idx);
  if (ours.length > 0)
    await ipBatch(
      undefined,
      ours.map(([name]) => `link del ${name}`),
    );
  const nsOurs: string[] = [];
  for (const [name, ino] of Object.entries(state.namespaces)) {
    if ((await namedInode(name)) === ino) nsOurs.push(name);
  }
  if (nsOurs.length > 0)
    await ipBatch(
      undefined,
      nsOurs.map((n) => `netns del ${n}`),
    );
  await clearState();
  await waitGone(state);
  progress('lab down');
  return {
    removed: true,
    message:
      `removed ${nsOurs.length} namespaces, ${ours.length} host links, ${state.hostRules.length + (state.hostRules6?.length ?? 0)} iptables rules` +
      (unreleased.length > 0 ? `; could not remove: ${unreleased.join('; ')}` : ''),
  };
}

/** Namespace teardown is asynchronous: wait until the echo processes and netns files are really gone. */
async function waitGone(state: LabState): Promise<void> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    const files = await readdir(NETNS_DIR).catch(() => [] as string[]);
    const nsLeft = Object.keys(state.namespaces).some((n) => files.includes(n));
    // A killed echo server may linger as a zombie if nobody reaps it; an empty cmdline means it is gone.
    const procLeft = (await Promise.all(state.echo.map((e) => isEchoProcess(e.pid)))).some(Boolean);
    if (!nsLeft && !procLeft) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}
