// The explainer on real follows through namespaces this test builds (fixture.ts), one broken thing at
// a time in the router: rp_filter, a route, an iptables rule, a tc program, an XDP program, ARP.
// Needs root and the built probes; run under the lab lock (the probe loader is shared kernel state).
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { follow } from '../follow';
import { formatJourney } from '../format';
import { ProbeLoader } from '../loader';
import {
  buildWhyTopology,
  EXPLAIN_TEST_BUDGET_MS,
  inNs,
  pinNeighbour,
  removeWhyTopology,
  WHY,
  WHY_IP,
} from './fixture';
import { explain, gather, progsFromIfaces, readBase } from './index';

const PROBES = new URL('../../../probes', import.meta.url).pathname;
const obj = (name: string): string => `${PROBES}/build/lab/${name}.bpf.o`;
const TCX = `${PROBES}/build/tcx`;

describe('explainer (real kernel, pjt-why namespaces)', () => {
  const loader = new ProbeLoader(undefined, 0);

  beforeAll(() => {
    execFileSync('make', ['-s', '-C', PROBES], { stdio: 'inherit' });
  });
  beforeEach(() => {
    buildWhyTopology();
  });
  afterAll(async () => {
    await loader.stop();
    removeWhyTopology();
  });

  const run = (to: string, extra: object = {}) =>
    follow({ from: WHY.c, to, ...extra }, { loader, explainBudgetMs: EXPLAIN_TEST_BUDGET_MS });

  it('a delivered journey: every hop carries its reason (routed, bridged, received, delivered)', async () => {
    const j = await run(WHY_IP.s);
    expect(j.delivered).toBe(true);
    expect(j.diagnosis).toBeUndefined();
    const all = [...j.hops, ...(j.reply?.hops ?? [])];
    for (const h of all) expect(h.reason, `${h.netns} ${h.ifname} ${h.dir}`).toMatch(/\S/);
    const sMac = /link\/ether (\S+)/.exec(inNs(WHY.s, ['ip', 'link', 'show', 'dev', WHY.sIf]))?.[1];
    expect(all.map((h) => h.reason)).toEqual(
      expect.arrayContaining([
        `routed by ${WHY.c}: default via ${WHY_IP.r} dev ${WHY.cIf}, table main`,
        `routed by ${WHY.r}: 10.78.2.0/24 dev ${WHY.br}, table main`,
        `bridged by ${WHY.br}: FDB entry ${sMac} on port ${WHY.rs}`,
        `delivered to a socket in ${WHY.s} (CONSUMED)`,
      ]),
    );
    // What reading the facts costs, against the follow's budget.
    const t0 = performance.now();
    await gather(j, { budgetMs: 5000 });
    const ms = performance.now() - t0;
    console.log(`explainer: facts for ${all.length} hops in ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(1000);
  });

  it('rp_filter=1 with an asymmetric route', async () => {
    pinNeighbour();
    inNs(WHY.r, ['sysctl', '-qw', `net.ipv4.conf.${WHY.rc}.rp_filter=1`]);
    inNs(WHY.r, ['ip', 'route', 'add', `${WHY_IP.c}/32`, 'via', WHY_IP.s, 'dev', WHY.br]);
    const j = await run(WHY_IP.s);
    expect(j.delivered).toBe(false);
    expect(j.diagnosis).toBe(
      `Stopped in ${WHY.r} at ${WHY.rc} (IP_RPFILTER): rp_filter=1 on ${WHY.r}'s ${WHY.rc}, which drops packets whose ` +
        `source isn't routed back through ${WHY.rc} (${WHY_IP.c} is routed via ${WHY.br} (via ${WHY_IP.s})). ` +
        `Fix: \`sysctl -w net.ipv4.conf.${WHY.rc}.rp_filter=2\` in ${WHY.r} (loose), or route the source back through ${WHY.rc}.`,
    );
    expect(formatJourney(j)).toContain(`why: ${j.diagnosis}`);
  });

  it('a missing route in the router', async () => {
    const j = await run('10.78.7.7');
    expect(j.diagnosis).toMatch(
      /^Stopped in pjt-why-r at pjt-why-rc \(IP_INNOROUTES\): no route to 10\.78\.7\.7 in pjt-why-r \(Network is unreachable\)\. Fix: /,
    );
  });

  it('an iptables FORWARD DROP rule: its number and text', async () => {
    inNs(WHY.r, ['iptables', '-A', 'FORWARD', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
    inNs(WHY.r, ['iptables', '-A', 'FORWARD', '-s', '10.9.9.9', '-j', 'DROP']);
    inNs(WHY.r, ['iptables', '-A', 'FORWARD', '-p', 'udp', '--dport', '9', '-j', 'DROP']);
    const j = await run(WHY_IP.s, { proto: 'udp', port: 9 });
    expect(j.diagnosis).toBe(
      `Stopped in ${WHY.r} at ${WHY.rc} (NETFILTER_DROP): iptables filter FORWARD rule 3 (\`-p udp -m udp --dport 9 -j DROP\`) ` +
        `in ${WHY.r}. Fix: remove or narrow it: \`iptables -D FORWARD 3\` in ${WHY.r}.`,
    );
    // With --rules, the traced line (observed) names the same rule.
    const traced = await run(WHY_IP.s, { proto: 'udp', port: 9, rules: true });
    expect(traced.diagnosis).toContain('iptables filter FORWARD rule 3 (`-p udp -m udp --dport 9 -j DROP`)');
  });

  it('a tc drop program at the router ingress', async () => {
    pinNeighbour();
    inNs(WHY.r, ['tc', 'qdisc', 'add', 'dev', WHY.rc, 'clsact']);
    inNs(WHY.r, ['tc', 'filter', 'add', 'dev', WHY.rc, 'ingress', 'bpf', 'da', 'obj', obj('drop-all'), 'sec', 'tc']);
    const j = await run(WHY_IP.s);
    expect(j.diagnosis).toMatch(
      /^Stopped in pjt-why-r at pjt-why-rc \(TC_INGRESS\): tc-ingress program drop_all \(id \d+\) on pjt-why-r pjt-why-rc\. Fix: detach it: `tc filter del dev pjt-why-rc ingress` in pjt-why-r/,
    );
    const at = j.hops.find((h) => h.netns === WHY.r && h.dir === 'ingress');
    expect(at?.programs?.[0]).toMatchObject({ name: 'drop_all', hook: 'tc-ingress', verdict: 'dropped' });
    expect(at?.programs?.[0]?.tag).toMatch(/^[0-9a-f]{16}$/);
    // The same journey with the programs taken from topology-shaped interfaces instead of bpftool.
    const bare = { ...j, hops: j.hops.map(({ programs: _p, reason: _r, ...h }) => h) };
    const ifaces = [
      { name: WHY.rc, programs: [{ id: 7, name: 'from_topology', tag: '00', hook: 'tc-ingress' as const }] },
    ];
    const again = await explain(bare, { programsOf: (ns) => (ns === WHY.r ? progsFromIfaces(ifaces) : undefined) });
    expect(again.diagnosis).toContain('tc-ingress program from_topology (id 7) on pjt-why-r pjt-why-rc');
  });

  it('a cold follow reads links and programs while its loader attaches: same program, verdict and diagnosis', async () => {
    pinNeighbour();
    inNs(WHY.r, ['tc', 'qdisc', 'add', 'dev', WHY.rc, 'clsact']);
    inNs(WHY.r, ['tc', 'filter', 'add', 'dev', WHY.rc, 'ingress', 'bpf', 'da', 'obj', obj('drop-all'), 'sec', 'tc']);
    const warm = await run(WHY_IP.s);
    const own = new ProbeLoader(undefined, 0); // stopped: this follow starts it (the CLI's case)
    try {
      const cold = await follow(
        { from: WHY.c, to: WHY_IP.s },
        { loader: own, explainBudgetMs: EXPLAIN_TEST_BUDGET_MS },
      );
      const at = cold.hops.find((h) => h.netns === WHY.r && h.dir === 'ingress');
      expect(at?.programs?.[0]).toMatchObject({ name: 'drop_all', hook: 'tc-ingress', verdict: 'dropped' });
      expect(cold.diagnosis).toBe(warm.diagnosis);
      expect(cold.hops.map((h) => h.reason)).toEqual(warm.hops.map((h) => h.reason));
      // What was read early is what the explanation uses, by the namespace's inode.
      const bare = { ...cold, hops: cold.hops.map(({ programs: _p, reason: _r, ...h }) => h) };
      const inode = cold.hops.find((h) => h.netns === WHY.r)?.netnsInode ?? 0;
      const [links] = await readBase({ kind: 'named', name: WHY.r });
      const progs = [{ ifname: WHY.rc, id: 9, name: 'read_early', tag: '00', hook: 'tc-ingress' as const }];
      const early = new Map([[inode, Promise.resolve([links, progs] as const)]]);
      expect((await explain(bare, { early })).diagnosis).toContain('tc-ingress program read_early (id 9)');
    } finally {
      await own.stop();
    }
  });

  it('a tcx drop program at the router ingress (bpftool 7.1 does not list tcx)', async () => {
    pinNeighbour();
    const pins = '/sys/fs/bpf/pjt-why-tcx';
    execFileSync('mkdir', ['-p', pins]);
    try {
      execFileSync('bpftool', ['prog', 'load', obj('drop-all'), `${pins}/prog`]);
      execFileSync(TCX, ['attach', `/var/run/netns/${WHY.r}`, WHY.rc, 'ingress', `${pins}/prog`, `${pins}/link`]);
      const j = await run(WHY_IP.s);
      expect(j.diagnosis).toMatch(
        /^Stopped in pjt-why-r at pjt-why-rc \(TC_INGRESS\): tcx-ingress program drop_all \(id \d+\) on pjt-why-r pjt-why-rc\. Fix: detach its tcx link: `bpftool net detach tcx_ingress dev pjt-why-rc`/,
      );
      const at = j.hops.find((h) => h.netns === WHY.r && h.dir === 'ingress');
      expect(at?.programs?.[0]).toMatchObject({ name: 'drop_all', hook: 'tcx-ingress', verdict: 'dropped' });
    } finally {
      execFileSync('rm', ['-rf', pins]); // the link's pin was its only holder: this detaches it
    }
  });

  it('an XDP drop program at the router ingress', async () => {
    pinNeighbour();
    inNs(WHY.r, ['ip', 'link', 'set', 'dev', WHY.rc, 'xdpgeneric', 'obj', obj('xdp-drop'), 'sec', 'xdp']);
    const j = await run(WHY_IP.s);
    expect(j.diagnosis).toMatch(
      /^Stopped in pjt-why-r at pjt-why-rc \(NOT_SPECIFIED\): XDP program xdp_drop \(id \d+\) on pjt-why-r pjt-why-rc\. Fix: detach it: `ip link set dev pjt-why-rc xdp off`/,
    );
    const at = j.hops.find((h) => h.netns === WHY.r && h.dir === 'ingress');
    expect(at?.programs?.[0]).toMatchObject({ name: 'xdp_drop', hook: 'xdp', mode: 'generic', verdict: 'dropped' });
  });

  it('an iptables DNAT in OUTPUT is NAT on a hop, not a socket rewrite', async () => {
    // The packet's destination changes before any hook of ours sees it; the socket's does not.
    inNs(WHY.c, [
      'iptables',
      '-t',
      'nat',
      '-A',
      'OUTPUT',
      '-d',
      '10.78.9.9',
      '-p',
      'tcp',
      '-j',
      'DNAT',
      '--to-destination',
      WHY_IP.s,
    ]);
    const j = await run('10.78.9.9', { proto: 'tcp', port: 80 });
    expect(j.socketRewrite).toBeUndefined();
    expect(j.hops[0]).toMatchObject({ netns: WHY.c, dst: WHY_IP.s, dport: 80 });
    expect(j.hops.find((h) => h.nat)?.nat).toMatchObject({ kind: 'dnat', from: '10.78.9.9:80', to: `${WHY_IP.s}:80` });
  });

  it('a packet that never left: its ARP gets no answer', async () => {
    // The XDP program drops c's ARP too, and nothing is pinned: the ping waits in c's neighbour queue,
    // and the program on the veth's other end is named as the likely cause.
    inNs(WHY.r, ['ip', 'link', 'set', 'dev', WHY.rc, 'xdpgeneric', 'obj', obj('xdp-drop'), 'sec', 'xdp']);
    const j = await run(WHY_IP.s, { timeoutMs: 1500 });
    expect(j.hops).toEqual([]);
    expect(j.diagnosis).toMatch(
      /^The packet never left pjt-why-c: the neighbour 10\.78\.1\.1 on pjt-why-c's pjt-why-c0 is (INCOMPLETE|FAILED) \(no ARP reply\); XDP program xdp_drop \(id \d+\) on pjt-why-r pjt-why-rc, the other end of pjt-why-c0, is there .* Fix: detach it: `ip link set dev pjt-why-rc xdp off` in pjt-why-r/,
    );
  });
});
