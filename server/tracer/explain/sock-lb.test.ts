// A follow on the lab's sock-lb scenario (issue 12, section 4): the ClusterIP is made by cgroup connect4,
// so the journey's first step is the connect() rewrite, named after the program, and no hop is a DNAT.
// The basic scenario, where kube-proxy's iptables DNAT makes the same service, has no such step. Run
// under the lab lock; leaves the lab down.
import { afterAll, describe, expect, it } from 'vitest';
import { labDown, labUp } from '../../lab/index';
import { follow } from '../follow';
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
      const j = await follow({ ...toService, proto }, { loader });
      expect(j.socketRewrite, proto).toEqual({
        call: 'connect',
        from: '10.96.0.10:80',
        to: expect.stringMatching(/^10\.244\.2\.[23]:8080$/),
        program: expect.stringMatching(/^cgroup\/connect4 sock_lb_connect \(id \d+\)$/),
      });
      expect(`${j.hops[0]?.dst}:${j.hops[0]?.dport}`).toBe(j.socketRewrite?.to);
      expect([...j.hops, ...(j.reply?.hops ?? [])].filter((h) => h.nat)).toEqual([]);
      if (proto === 'tcp') {
        expect(j.delivered, j.diagnosis).toBe(true);
        expect(formatJourney(j).split('\n')[0]).toBe(
          `socket: connect(10.96.0.10:80) became ${j.socketRewrite?.to} — ${j.socketRewrite?.program}`,
        );
      }
    }
  }, 60_000);

  it('basic: kube-proxy DNATs the packet on the node, and the socket is left as it was', async () => {
    await labUp({ scenario: 'basic' });
    const j = await follow({ ...toService, proto: 'tcp' }, { loader });
    expect(j.delivered, j.diagnosis).toBe(true);
    expect(j.socketRewrite).toBeUndefined();
    expect(j.hops.find((h) => h.nat)?.nat).toMatchObject({ kind: 'dnat', from: '10.96.0.10:80' });
  }, 60_000);
});
