// Seed 001 against the real kernel: the LoadBalancer IP and the NodePort under externalTrafficPolicy Local
// and Cluster, through either node, with the client address read back from the echo reply.
// Run as: flock /tmp/pj-lab.lock npx vitest run server/lab/scenarios/etp-local.test.ts
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../../test/cli';
import { labDown, labSet, labStatus, labUp } from '..';
import { SERVICE } from '../spec';
import { ETP_VALUES, EXT_SERVICES_CHAIN, LB_IP, SVL_CHAIN, policyRuleLines, type Etp } from './etp-local-rules';
import { lbRouteArgs } from './etp-local';

const sh = (argv: string[]): string => execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
const inNs = (ns: string, argv: string[]): string[] => ['nsenter', `--net=/var/run/netns/${ns}`, '--', ...argv];
const NP = SERVICE.nodePort;

interface Reply {
  readonly code: number;
  readonly pod?: string;
  readonly client?: string;
}

/** curl from the host (or a netns); the echo body names the pod and the client ip it saw. */
function curl(url: string, opts: { ns?: string; timeoutS?: number } = {}): Reply {
  const argv = ['curl', '-sS', '-m', String(opts.timeoutS ?? 5), url];
  const full = opts.ns ? inNs(opts.ns, argv) : argv;
  const r = spawnSync(full[0] as string, full.slice(1), { encoding: 'utf8', timeout: 15_000 });
  const pod = /^pod=(\S+)$/m.exec(r.stdout)?.[1];
  const client = /^client=([\d.]+):\d+$/m.exec(r.stdout)?.[1];
  return { code: r.status ?? -1, ...(pod ? { pod } : {}), ...(client ? { client } : {}) };
}

/** Rules grouped by chain, order kept within each (iptables-save sorts the chains themselves). */
const byChain = (lines: readonly string[]): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const l of lines) (out[l.split(' ')[1] ?? ''] ??= []).push(l);
  return out;
};

/** The rules of the chains the scenario owns on a node, as iptables-save prints them. */
function ownedRules(node: string): { nat: string[]; filter: string[]; svlDeclared: boolean } {
  const save = (table: string): string[] => sh(inNs(node, ['iptables-save', '-t', table])).split('\n');
  const mine = (l: string, chains: string[]): boolean => chains.some((c) => l.startsWith(`-A ${c} `));
  const nat = save('nat');
  return {
    nat: nat.filter((l) => mine(l, ['KUBE-NODEPORTS', SERVICE.extChain, SVL_CHAIN])),
    filter: save('filter').filter((l) => mine(l, [EXT_SERVICES_CHAIN])),
    svlDeclared: nat.some((l) => l.startsWith(`:${SVL_CHAIN} `)),
  };
}

/** Packets counted by node1's "has no local endpoints" rule for the given port. */
function dropCount(port: number): number {
  const line = sh(inNs('node1', ['iptables-save', '-c', '-t', 'filter']))
    .split('\n')
    .find((l) => l.includes('has no local endpoints') && l.includes(`--dport ${port} `));
  return Number(/^\[(\d+):/.exec(line ?? '')?.[1] ?? -1);
}

/** Host iptables lines that could be ours (the host's own rules may change under us; these must not). */
const hostLabLines = (): string[] =>
  sh(['iptables-save'])
    .split('\n')
    .filter((l) => /KUBE-|10\.111\.111\.|packet-journey/.test(l))
    .map((l) => l.replace(/\[\d+:\d+\]/g, ''));

/** Everything a set must not change when it is refused. */
function snapshot(): string {
  const strip = (s: string): string =>
    s
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .map((l) => l.replace(/\[\d+:\d+\]/g, ''))
      .join('\n');
  return [
    hostLabLines().join('\n'),
    strip(sh(inNs('node1', ['iptables-save']))),
    strip(sh(inNs('node2', ['iptables-save']))),
    sh(['ip', 'route', 'show', 'exact', `${LB_IP}/32`]),
  ].join('\n---\n');
}

describe('etp-local scenario (real kernel, seed 001)', () => {
  let hostBefore: string[] = [];
  beforeAll(async () => {
    await labDown();
    hostBefore = hostLabLines();
    const s = await labUp({ scenario: 'etp-local' });
    expect(s.up).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await labDown();
  });

  it("comes up as seed 001 starts: etp=Local, the LB IP routed via node2 (the backends' node)", async () => {
    const s = await labStatus();
    expect(s.scenario).toBe('etp-local');
    expect(s.settings).toEqual({ etp: 'Local', 'lb-via': 'node2' });
    expect(sh(['ip', 'route', 'get', LB_IP])).toMatch(/via 172\.18\.0\.3 dev kind0/);
    expect(ownedRules('node1').filter).toHaveLength(2);
    expect(ownedRules('node2').svlDeclared).toBe(true);
  });

  // What the host sees through the LB IP, per policy and route (node2 runs pod-c and pod-d, node1 nothing).
  const LB_EXPECT: Record<Etp, Record<'node1' | 'node2', string | 'dropped'>> = {
    Local: { node2: '172.18.0.1', node1: 'dropped' },
    // Masqueraded to the address of the interface towards the backend: node1's eth0, node2's cni0.
    Cluster: { node1: '172.18.0.2', node2: '10.244.2.1' },
  };
  for (const etp of ETP_VALUES) {
    for (const via of ['node2', 'node1'] as const) {
      const want = LB_EXPECT[etp][via];
      it(`etp=${etp}, lb-via=${via}: curl ${LB_IP} from the host ${want === 'dropped' ? 'times out' : `shows client ${want}`}`, async () => {
        await labSet('etp', etp);
        await labSet('lb-via', via);
        expect(sh(['ip', 'route', 'show', 'exact', `${LB_IP}/32`]).trim()).toBe(
          lbRouteArgs(via).join(' ').replace('/32', ''),
        );
        // The chains hold exactly this policy's rules on both nodes, nothing of the previous one.
        for (const node of ['node1', 'node2']) {
          const { nat, filter, svlDeclared } = ownedRules(node);
          const expected = policyRuleLines(node, etp);
          expect(byChain(nat)).toEqual(byChain(expected.nat));
          expect(filter).toEqual(expected.filter);
          expect(svlDeclared).toBe(etp === 'Local' && node === 'node2');
        }
        if (want === 'dropped') {
          const before = dropCount(SERVICE.port);
          expect(curl(`http://${LB_IP}/`, { timeoutS: 2 }).code).toBe(28);
          expect(dropCount(SERVICE.port)).toBeGreaterThan(before);
        } else {
          const r = curl(`http://${LB_IP}/`);
          expect(r.code).toBe(0);
          expect(r.pod).toMatch(/^pod-[cd]$/);
          expect(r.client).toBe(want);
        }
      });
    }
  }

  it('NodePort from the host: Local keeps the client on node2 and drops on node1; Cluster masquerades on both', async () => {
    await labSet('etp', 'Local');
    const local2 = curl(`http://172.18.0.3:${NP}/`);
    expect([local2.code, local2.client]).toEqual([0, '172.18.0.1']);
    const before = dropCount(NP);
    expect(curl(`http://172.18.0.2:${NP}/`, { timeoutS: 2 }).code).toBe(28);
    expect(dropCount(NP)).toBeGreaterThan(before);

    await labSet('etp', 'Cluster');
    const c1 = curl(`http://172.18.0.2:${NP}/`);
    expect([c1.code, c1.client]).toEqual([0, '172.18.0.2']);
    const c2 = curl(`http://172.18.0.3:${NP}/`);
    expect([c2.code, c2.client]).toEqual([0, '10.244.2.1']);
  });

  it("traffic that starts on node1 counts as internal: with Local it reaches every endpoint (seed 001's last point)", async () => {
    await labSet('etp', 'Local');
    await labSet('lb-via', 'node1');
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      for (const url of [`http://${LB_IP}/`, `http://172.18.0.2:${NP}/`]) {
        const r = curl(url, { ns: 'node1' });
        expect(r.code, url).toBe(0);
        // "masquerade LOCAL traffic": the node's own address, then "route LOCAL traffic" to KUBE-SVC.
        expect(r.client).toBe('172.18.0.2');
        seen.add(r.pod ?? '');
      }
    }
    expect([...seen].sort()).toEqual(['pod-c', 'pod-d']);
    // A pod is internal too ("pod traffic for default/echo external destinations"), and keeps its address.
    const fromPod = curl(`http://${LB_IP}/`, { ns: 'pod-a' });
    expect([fromPod.code, fromPod.client]).toEqual([0, '10.244.1.2']);
  });

  it('a bad setting is refused with one line and changes nothing', async () => {
    const before = snapshot();
    const settings = (await labStatus()).settings;
    await expect(labSet('etp', 'Locale')).rejects.toThrow(/^etp must be one of Local, Cluster, not "Locale"$/);
    await expect(labSet('lb-via', 'node3')).rejects.toThrow(/^lb-via must be one of node1, node2, not "node3"$/);
    await expect(labSet('policy', 'Local')).rejects.toThrow(/has no setting "policy"; it offers etp, lb-via/);
    const r = cli(['lab', 'set', 'etp=local']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(snapshot()).toBe(before);
    expect((await labStatus()).settings).toEqual(settings);
  });

  it('down removes the host route and leaves no iptables rules of the lab on the host', async () => {
    const tcFilters = (dev: string): string => sh(['tc', 'filter', 'show', 'dev', dev, 'ingress']);
    expect(tcFilters('kind0')).toBe(''); // this scenario attaches no BPF
    const r = await labDown();
    expect(r.removed).toBe(true);
    expect(sh(['ip', 'route', 'show', 'exact', `${LB_IP}/32`])).toBe('');
    expect(hostLabLines()).toEqual(hostBefore);
    // The rest of scripts/leak-check.sh, scoped to what this scenario creates (it loads no BPF).
    expect(sh(['ip', 'netns', 'list'])).not.toMatch(/^(node[12]|pod-[a-d])\b/m);
    expect(spawnSync('ip', ['link', 'show', 'kind0']).status).not.toBe(0);
  });

  it('refuses to come up over a host route to the LB IP it did not create, and leaves that route alone', async () => {
    sh(['ip', 'route', 'add', 'blackhole', `${LB_IP}/32`]);
    try {
      await expect(labUp({ scenario: 'etp-local' })).rejects.toThrow(
        /^refusing to start: the host already has a route to 10\.111\.111\.129 and the lab did not create it$/,
      );
      expect(sh(['ip', 'route', 'show', 'exact', `${LB_IP}/32`]).trim()).toBe(`blackhole ${LB_IP}`);
      expect((await labStatus()).scenario).toBeNull();
      expect(sh(['ip', 'netns', 'list'])).not.toMatch(/^node1\b/m);
    } finally {
      sh(['ip', 'route', 'del', 'blackhole', `${LB_IP}/32`]);
    }
  }, 30_000);
});
