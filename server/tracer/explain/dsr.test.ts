// A follow through the lab's dsr scenario (issue 12, section 5): in through node1, which inserts the DSR
// option and forwards to node2; back from node2 straight to the client, never through node1. Run under
// the lab lock; leaves the lab down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp } from '../../lab/index';
import { follow } from '../follow';
import { EXPLAIN_TEST_BUDGET_MS } from './fixture';
import { ProbeLoader } from '../loader';

describe('follow on the dsr scenario (real kernel, lab)', () => {
  const loader = new ProbeLoader(undefined, 0);
  beforeAll(async () => {
    await labUp({ scenario: 'dsr' });
  }, 120_000);
  afterAll(async () => {
    await loader.stop();
    await labDown();
  }, 120_000);

  it('shows the asymmetric path and where the option appears', async () => {
    const j = await follow(
      { from: 'host', to: '172.18.0.2', proto: 'tcp', port: 31400 },
      { loader, explainBudgetMs: EXPLAIN_TEST_BUDGET_MS },
    );
    expect(j.delivered, j.diagnosis).toBe(true);
    // The SYN crosses node1 and reaches a backend on node2.
    expect(j.hops.some((h) => h.netns === 'node1')).toBe(true);
    expect(j.hops.some((h) => h.netns === 'pod-c' || h.netns === 'pod-d')).toBe(true);
    // The reply comes back from node2 and never passes node1.
    const reply = j.reply?.hops ?? [];
    expect(reply.some((h) => h.netns === 'node2')).toBe(true);
    expect(reply.filter((h) => h.netns === 'node1')).toEqual([]);
    expect(reply.find((h) => h.netns === 'host' && h.ifname === 'veth-node2')?.src).toBe('172.18.0.2');
    // The option is added where node1 sends the SYN on, by the datapath on node1's eth0.
    const added = j.hops.find((h) => h.options?.change === 'added');
    expect(added, JSON.stringify(j.hops.map((h) => [h.netns, h.ifname, h.dir, h.ipOptions]))).toMatchObject({
      netns: 'node1',
      ifname: 'eth0',
      dir: 'egress',
      ipOptions: true,
    });
    // The probe read the option's bytes: Cilium's 0x9a, decoded to the service the client asked for.
    expect(added?.ipOptionBytes).toMatch(/^9a08/);
    expect(added?.options).toEqual({
      change: 'added',
      types: [0x9a],
      dsr: { addr: '172.18.0.2', port: 31400 },
    });
    expect(added?.reason).toMatch(
      /DSR option added: service 172\.18\.0\.2:31400, since node1\/eth0 ingress, by tc-ingress dsr_from_netdev/,
    );
    // It stays on to the backend, whose stack reads it (no hop takes it off again).
    expect(j.hops.filter((h) => h.options?.change === 'removed')).toEqual([]);
    const arrival = j.hops.find((h) => /^pod-/.test(h.netns) && h.dir === 'ingress');
    expect(arrival?.ipOptionBytes).toMatch(/^9a08/);
  });
});
