// The explainer on the lab's ebpf-routing scenario: tc programs that redirect (bpf_redirect_neigh out of
// the node, bpf_redirect_peer into the pod) get a `redirected` verdict with where the packet went, and
// the hop they sent it to says it was a program, not the stack. Run under the lab lock; leaves the lab down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp } from '../../lab/index';
import { follow } from '../follow';
import { EXPLAIN_TEST_BUDGET_MS } from './fixture';
import { ProbeLoader } from '../loader';

describe('explainer on the ebpf-routing scenario (real kernel, lab)', () => {
  const loader = new ProbeLoader(undefined, 0);
  beforeAll(async () => {
    await labUp({ scenario: 'ebpf-routing' });
  }, 120_000);
  afterAll(async () => {
    await loader.stop();
    await labDown();
  }, 120_000);

  it('names the redirecting programs and where each sent the packet', async () => {
    const j = await follow({ from: 'pod-a', to: 'pod-c' }, { loader, explainBudgetMs: EXPLAIN_TEST_BUDGET_MS });
    expect(j.delivered).toBe(true);
    const verdicts = j.hops.flatMap((h) => (h.programs ?? []).map((p) => ({ at: `${h.netns}/${h.ifname}`, ...p })));
    expect(verdicts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          at: expect.stringMatching(/^node1\/lxc/),
          name: 'from_container',
          verdict: 'redirected',
          redirect: { netns: 'node1', ifname: 'eth0', how: 'egress' },
        }),
        expect.objectContaining({
          at: 'node2/eth0',
          name: 'from_netdev',
          verdict: 'redirected',
          redirect: { netns: 'pod-c', ifname: 'eth0', how: 'peer' },
        }),
      ]),
    );
    const out = j.hops.find((h) => h.netns === 'node1' && h.ifname === 'eth0' && h.dir === 'egress');
    expect(out?.reason).toMatch(
      /^redirected here by tc-ingress from_container \(id \d+\) on lxc\w+, not by the stack \(the stack's route: 10\.244\.2\.0\/24 via 172\.18\.0\.3 dev eth0, table main\)$/,
    );
    for (const h of [...j.hops, ...(j.reply?.hops ?? [])]) expect(h.reason, `${h.netns} ${h.ifname}`).toMatch(/\S/);
    // The datapath routes in tc: the nodes' netfilter FORWARD never sees the packet.
    const forwarded = [...j.hops, ...(j.reply?.hops ?? [])].filter(
      (h) => /^node/.test(h.netns) && h.netfilter?.some((n) => n.hook === 'FORWARD'),
    );
    expect(forwarded).toEqual([]);
    // from-container is named on every lxc hop the request crossed.
    const lxc = j.hops.filter((h) => h.ifname.startsWith('lxc') && h.dir === 'ingress');
    expect(lxc.length).toBeGreaterThan(0);
    for (const h of lxc) expect(h.programs?.map((p) => p.name)).toContain('from_container');
  });
});
