// Follows on the lab's scenarios (issue 12): sock-lb's ClusterIP is made by cgroup connect4, so the
// journey's first step is the connect() rewrite, named after the program, and no hop is a DNAT; basic's,
// made by kube-proxy's iptables DNAT, has no such step; etp-local's drop on the node without a backend is
// kube-proxy's rule; the teaching programs turn the journey red at their hop, naming themselves. (dsr and
// ebpf-routing: dsr.test.ts, lab.test.ts.) Run under the lab lock; leaves the lab down.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { labDown, labSet, labUp } from '../../lab/index';
import { labProg } from '../../lab/progs/index';
import { follow } from '../follow';
import { EXPLAIN_TEST_BUDGET_MS } from './fixture';
import { formatJourney } from '../format';
import { ProbeLoader } from '../loader';

describe('socket-level load balancing in a follow (real kernel, lab)', () => {
  const loader = new ProbeLoader(undefined, 0);
  afterAll(async () => {
    await loader.stop();
    await labDown();
  }, 120_000);
  const toService = { from: 'pod-a', to: '10.96.0.10', port: 80 } as const;

  it('sock-lb: the rewrite comes first, then a path with pod addresses only', async () => {
    await labUp({ scenario: 'sock-lb' });
    for (const proto of ['tcp', 'udp'] as const) {
      const j = await follow({ ...toService, proto }, { loader, explainBudgetMs: EXPLAIN_TEST_BUDGET_MS });
      expect(j.socketRewrite, proto).toEqual({
        call: 'connect',
        from: '10.96.0.10:80',
        to: expect.stringMatching(/^10\.244\.2\.[23]:8080$/),
        program: expect.stringMatching(/^cgroup\/connect4 sock_lb_connect \(id \d+\)$/),
      });
      expect(`${j.hops[0]?.dst}:${j.hops[0]?.dport}`).toBe(j.socketRewrite?.to);
      expect(j.socketPrograms?.map((p) => p.replace(/ \(id \d+\)$/, ''))).toEqual(
        expect.arrayContaining(['cgroup/connect4 sock_lb_connect', 'cgroup/sendmsg4 sock_lb_sendmsg']),
      );
      expect([...j.hops, ...(j.reply?.hops ?? [])].filter((h) => h.nat)).toEqual([]);
      if (proto === 'tcp') {
        expect(j.delivered, j.diagnosis).toBe(true);
        expect(formatJourney(j).split('\n')[1]).toMatch(/^socket programs: cgroup\/connect4 sock_lb_connect/);
        expect(formatJourney(j).split('\n')[0]).toBe(
          `socket: connect(10.96.0.10:80) became ${j.socketRewrite?.to} — ${j.socketRewrite?.program}`,
        );
      }
    }
  }, 60_000);

  it('basic: kube-proxy DNATs the packet on the node, and the socket is left as it was', async () => {
    await labUp({ scenario: 'basic' });
    const j = await follow({ ...toService, proto: 'tcp' }, { loader, explainBudgetMs: EXPLAIN_TEST_BUDGET_MS });
    expect(j.delivered, j.diagnosis).toBe(true);
    expect(j.socketRewrite).toBeUndefined();
    expect(j.socketPrograms).toBeUndefined();
    expect(j.hops.find((h) => h.nat)?.nat).toMatchObject({ kind: 'dnat', from: '10.96.0.10:80' });
  }, 60_000);

  it('teaching programs: drop-all and xdp-drop on a veth stop the journey there, naming the program', async () => {
    await labUp({ scenario: 'basic' });
    const at = { netns: 'node1', iface: 'veth-pod-a' } as const;
    for (const [program, hook, name] of [
      ['drop-all', 'tc-ingress', 'drop_all'],
      ['xdp-drop', 'xdp', 'xdp_drop'],
    ] as const) {
      // The programs drop ARP too: resolve pod-a's gateway first, or the ping never leaves pod-a.
      expect(
        (await follow({ from: 'pod-a', to: 'pod-c' }, { loader, explainBudgetMs: EXPLAIN_TEST_BUDGET_MS })).delivered,
      ).toBe(true);
      await labProg({ action: 'attach', program, hook, ...at });
      try {
        const j = await follow({ from: 'pod-a', to: 'pod-c' }, { loader, explainBudgetMs: EXPLAIN_TEST_BUDGET_MS });
        expect(j.delivered, program).toBe(false);
        const dropped = j.hops.find((h) => h.drop?.isRealDrop);
        expect(dropped, program).toMatchObject({ netns: 'node1', ifname: 'veth-pod-a' });
        // The verdict is on the arrival the program ran at; the drop is the end hop after it.
        const verdicts = j.hops.flatMap((h) => (h.ifname === at.iface ? (h.programs ?? []) : []));
        expect(
          verdicts.find((p) => p.verdict === 'dropped'),
          program,
        ).toMatchObject({ name, hook });
        expect(j.diagnosis).toMatch(new RegExp(`^Stopped in node1 at veth-pod-a .*program ${name} \\(id \\d+\\)`));
      } finally {
        await labProg({ action: 'detach', hook, ...at });
      }
    }
    // A native XDP program that passes (the blocklist, empty): the packet goes on in a new skb.
    await labProg({ action: 'attach', program: 'blocklist', hook: 'xdp', ...at });
    try {
      const j = await follow({ from: 'pod-a', to: 'pod-c' }, { loader, explainBudgetMs: EXPLAIN_TEST_BUDGET_MS });
      expect(j.delivered, j.diagnosis).toBe(true);
      expect(j.hops.find((h) => h.drop?.reason === 'XDP_HANDOFF')?.drop).toMatchObject({
        copy: true,
        isRealDrop: false,
      });
      const arrival = j.hops.find((h) => h.ifname === at.iface && h.dir === 'ingress');
      expect(arrival?.programs?.[0]).toMatchObject({ name: 'blocklist', hook: 'xdp', verdict: 'passed' });
    } finally {
      await labProg({ action: 'detach', hook: 'xdp', ...at });
    }
  }, 60_000);

  it('drop-all on the veth pod-a pings through: its ARP never gets an answer, and the program is named', async () => {
    await labUp({ scenario: 'basic' });
    const at = { netns: 'node1', iface: 'veth-pod-a' } as const;
    execFileSync('ip', ['-n', 'pod-a', 'neigh', 'flush', 'all']);
    await labProg({ action: 'attach', program: 'drop-all', hook: 'tc-ingress', ...at });
    try {
      const j = await follow(
        { from: 'pod-a', to: 'pod-c', timeoutMs: 1500 },
        { loader, explainBudgetMs: EXPLAIN_TEST_BUDGET_MS },
      );
      expect(j.hops).toEqual([]);
      expect(j.diagnosis).toMatch(
        /^The packet never left pod-a: the neighbour 10\.244\.1\.1 on pod-a's eth0 is \w+ \(no ARP reply\); tc-ingress program drop_all \(id \d+\) on node1 veth-pod-a, the other end of eth0, is there .* Fix: detach it: `tc filter del dev veth-pod-a ingress` in node1/,
      );
    } finally {
      await labProg({ action: 'detach', hook: 'tc-ingress', ...at });
    }
  }, 60_000);

  it("etp-local: the node without a local backend drops with kube-proxy's rule, diagnosed", async () => {
    await labUp({ scenario: 'etp-local' });
    await labSet('etp', 'Local');
    await labSet('lb-via', 'node1');
    const j = await follow(
      { from: 'host', to: '10.111.111.129', proto: 'tcp', port: 80 },
      { loader, explainBudgetMs: EXPLAIN_TEST_BUDGET_MS },
    );
    expect(j.delivered).toBe(false);
    expect(j.hops.find((h) => h.drop?.isRealDrop)).toMatchObject({ netns: 'node1', ifname: 'eth0' });
    expect(j.diagnosis).toMatch(
      /^Stopped in node1 at eth0 \(NETFILTER_DROP\): kube-proxy's rule "default\/echo has no local endpoints": iptables filter KUBE-EXTERNAL-SERVICES rule \d+ .* Fix: kube-proxy writes it from the Service/,
    );
    // Switched to Cluster, the same follow is delivered through node1 to node2's backends.
    await labSet('etp', 'Cluster');
    const ok = await follow(
      { from: 'host', to: '10.111.111.129', proto: 'tcp', port: 80 },
      { loader, explainBudgetMs: EXPLAIN_TEST_BUDGET_MS },
    );
    expect(ok.delivered, ok.diagnosis).toBe(true);
  }, 60_000);
});
