// Hops a redirect hides (issue 12): after bpf_redirect_peer the arrival on the pod's eth0 fires no
// netif_receive_skb, and the journey shows it as an inferred hop. On the real kernel: the lab's
// ebpf-routing scenario, and a topology of this test's own with a tc program doing bpf_redirect_peer.
//   a (10.78.1.2) -- r (tc ingress on pjt-pr-ra: bpf_redirect_peer to pjt-pr-rb's peer) -- b (10.78.2.2)
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hop, Journey } from '../protocol/tracer';
import { labDown, labUp } from '../lab/index';
import { follow } from './follow';
import { ProbeLoader } from './loader';

const sh = (argv: string[]): string => execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
const NS = { a: 'pjt-pr-a', r: 'pjt-pr-r', b: 'pjt-pr-b' } as const;
const PROG = new URL('../../probes/build/lab/pjt-redirect-peer.bpf.o', import.meta.url).pathname;
/** The program redirects to the peer of the device with this index (see pjt-redirect-peer.bpf.c). */
const PEER_IFINDEX = '4242';

const inNs = (ns: string, argv: string[]): string => sh(['nsenter', `--net=/var/run/netns/${ns}`, '--', ...argv]);
const netnsList = (): string[] =>
  sh(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '');

function removeTopology(): void {
  for (const n of Object.values(NS)) if (netnsList().includes(n)) sh(['ip', 'netns', 'del', n]);
}

function buildTopology(): void {
  for (const n of Object.values(NS)) {
    sh(['ip', 'netns', 'add', n]);
    sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
  }
  sh(['ip', '-n', NS.r, 'link', 'add', 'pjt-pr-ra', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.a]);
  const rb = ['link', 'add', 'pjt-pr-rb', 'index', PEER_IFINDEX, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.b];
  sh(['ip', '-n', NS.r, ...rb]);
  const cfg: [string, string, string, string | undefined][] = [
    [NS.a, 'eth0', '10.78.1.2/24', '10.78.1.1'],
    [NS.b, 'eth0', '10.78.2.2/24', '10.78.2.1'],
    [NS.r, 'pjt-pr-ra', '10.78.1.1/24', undefined],
    [NS.r, 'pjt-pr-rb', '10.78.2.1/24', undefined],
  ];
  for (const [ns, dev, addr, gw] of cfg) {
    sh(['ip', '-n', ns, 'addr', 'add', addr, 'dev', dev]);
    sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    if (gw) sh(['ip', '-n', ns, 'route', 'add', 'default', 'via', gw]);
  }
  inNs(NS.r, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
}

const attachRedirect = (): void => {
  inNs(NS.r, ['tc', 'qdisc', 'add', 'dev', 'pjt-pr-ra', 'clsact']);
  inNs(NS.r, ['tc', 'filter', 'add', 'dev', 'pjt-pr-ra', 'ingress', 'bpf', 'da', 'obj', PROG, 'sec', 'tc']);
};

const path = (hops: readonly Hop[]): string[] => hops.map((h) => `${h.netns}/${h.ifname}/${h.dir}`);
const inferredOf = (j: Journey): Hop[] => j.hops.filter((h) => h.inferred);

describe('peer redirect: the hidden arrival is an inferred hop (real kernel)', () => {
  const loader = new ProbeLoader(undefined, 0);

  beforeAll(() => {
    execFileSync('make', ['-s', '-C', new URL('../../probes', import.meta.url).pathname], { stdio: 'inherit' });
    removeTopology();
  });

  afterAll(async () => {
    await loader.stop();
    removeTopology();
    await labDown();
  });

  it('own namespaces: plain routing has no inferred hop; with bpf_redirect_peer the arrival is inferred', async () => {
    buildTopology();
    try {
      const plain = await follow({ from: NS.a, to: NS.b }, { loader });
      expect(plain.delivered).toBe(true);
      expect(inferredOf(plain)).toEqual([]);
      expect(path(plain.hops)).toContain(`${NS.b}/eth0/ingress`);

      attachRedirect();
      const j = await follow({ from: NS.a, to: NS.b }, { loader });
      expect(j.delivered).toBe(true);
      // The redirect skips r's routing: r's pjt-pr-rb never sees the request, b's eth0 gets it unseen.
      expect(path(j.hops).filter((p) => !p.endsWith('/end'))).toEqual([
        `${NS.a}/eth0/egress`,
        `${NS.r}/pjt-pr-ra/ingress`,
        `${NS.b}/eth0/ingress`,
      ]);
      const arrival = inferredOf(j);
      expect(arrival).toHaveLength(1);
      expect(arrival[0]?.inferred).toEqual({ via: 'peer-redirect', from: `${NS.r}/pjt-pr-ra` });
      expect(arrival[0]?.ttl).toBe(64); // not routed: no TTL decrement
      expect(j.lanes).toEqual([NS.a, NS.r, NS.b]);
      // The reply is routed normally by r and arrives home.
      const reply = j.reply?.hops ?? [];
      expect(reply.some((h) => h.inferred)).toBe(false);
      expect(reply[reply.length - 1]?.netns).toBe(NS.a);
    } finally {
      removeTopology();
    }
  });

  describe('lab scenario ebpf-routing', () => {
    beforeAll(async () => {
      await labUp({ scenario: 'ebpf-routing' });
    });

    it('cross node: node2 eth0 redirects into pod-c, the arrival on pod-c eth0 is inferred', async () => {
      const j = await follow({ from: 'pod-a', to: '10.244.2.2' }, { loader });
      expect(j.delivered).toBe(true);
      const arrival = inferredOf(j);
      expect(arrival.map((h) => `${h.netns}/${h.ifname}/${h.dir}`)).toEqual(['pod-c/eth0/ingress']);
      expect(arrival[0]?.inferred?.from).toBe('node2/eth0');
      expect(j.lanes).toContain('pod-c');
      // The reply leaves pod-c normally and is itself peer-redirected into pod-a at node1's eth0.
      const reply = j.reply?.hops ?? [];
      expect(reply[0]?.netns).toBe('pod-c');
      expect(reply[reply.length - 1]?.netns).toBe('pod-a');
    });

    it('same node: pod-a lxc redirects into pod-b, the arrival on pod-b eth0 is inferred', async () => {
      const j = await follow({ from: 'pod-a', to: '10.244.1.3' }, { loader });
      expect(j.delivered).toBe(true);
      const arrival = inferredOf(j);
      expect(arrival.map((h) => `${h.netns}/${h.ifname}`)).toEqual(['pod-b/eth0']);
      expect(arrival[0]?.inferred?.from).toMatch(/^node1\/lxc/);
      expect(j.reply?.hops[j.reply.hops.length - 1]?.netns).toBe('pod-a');
    });

    it('service over tcp: the SYN arrives inferred in the backend pod, the SYN,ACK in pod-a', async () => {
      const j = await follow({ from: 'pod-a', to: '10.96.0.10', proto: 'tcp', port: 80 }, { loader });
      expect(j.delivered).toBe(true);
      const arrival = inferredOf(j)[0];
      expect(arrival?.netns).toMatch(/^pod-[cd]$/);
      expect(arrival?.ifname).toBe('eth0');
      expect(j.hops[j.hops.length - 1]?.netns).toBe(arrival?.netns);
      const reply = j.reply?.hops ?? [];
      expect(reply.find((h) => h.inferred)?.netns).toBe('pod-a');
    });
  });
});
