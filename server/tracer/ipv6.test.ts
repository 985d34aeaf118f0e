// IPv6 end to end against the real kernel (issue 14 §2): the dual-stack lab followed with ping6 and TCP
// to the IPv6 ClusterIP, and an ip6tables drop on a routed topology this test builds and removes
// (netns pjt-i14v6-*). Needs root and the built probe (`make -C probes`, done here if missing).
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUp } from '../lab/index';
import { follow } from './follow';
import { formatJourney } from './format';
import { ProbeLoader } from './loader';
import type { Hop, Journey } from '../protocol/tracer';
import { traceJourneys } from './live';
import type { HopEvent } from './hop-event';

const sh = (argv: string[]): string => execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
const P = 'pjt-i14v6-';
const NS = { a: `${P}a`, r: `${P}r`, b: `${P}b` } as const;
const netnsList = (): string[] =>
  sh(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
const inNs = (ns: string, argv: string[]): string => sh(['ip', 'netns', 'exec', ns, ...argv]);

/** a (fd00:77:1::2) -- r (forwards; ip6tables FORWARD drops ICMPv6 to b) -- b (fd00:77:2::2), IPv6 only. */
function buildTopology(): void {
  removeTopology();
  for (const n of Object.values(NS)) {
    sh(['ip', 'netns', 'add', n]);
    sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
    inNs(n, ['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
  }
  sh(['ip', 'link', 'add', `${P}a0`, 'netns', NS.a, 'type', 'veth', 'peer', 'name', `${P}ra`, 'netns', NS.r]);
  sh(['ip', 'link', 'add', `${P}b0`, 'netns', NS.b, 'type', 'veth', 'peer', 'name', `${P}rb`, 'netns', NS.r]);
  const cfg: [string, string, string, string | undefined][] = [
    [NS.a, `${P}a0`, 'fd00:77:1::2/64', 'fd00:77:1::1'],
    [NS.b, `${P}b0`, 'fd00:77:2::2/64', 'fd00:77:2::1'],
    [NS.r, `${P}ra`, 'fd00:77:1::1/64', undefined],
    [NS.r, `${P}rb`, 'fd00:77:2::1/64', undefined],
  ];
  for (const [ns, dev, addr, gw] of cfg) {
    sh(['ip', '-n', ns, 'addr', 'add', addr, 'dev', dev, 'nodad']);
    sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    if (gw) sh(['ip', '-n', ns, 'route', 'add', 'default', 'via', gw]);
  }
  inNs(NS.r, ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
  inNs(NS.r, ['ip6tables', '-A', 'FORWARD', '-d', 'fd00:77:2::2', '-p', 'ipv6-icmp', '-j', 'DROP']);
}

function removeTopology(): void {
  for (const n of Object.values(NS)) if (netnsList().includes(n)) sh(['ip', 'netns', 'del', n]);
}

/** Namespaces in path order, one entry per run of hops in the same one. */
const segments = (hops: readonly Hop[]): string[] => hops.map((h) => h.netns).filter((n, i, a) => a[i - 1] !== n);
/** `netns ifname dir` per device hop, the way a reader checks a path against the lab's diagram. */
const devices = (hops: readonly Hop[]): string[] =>
  hops.filter((h) => h.dir !== 'end').map((h) => `${h.netns} ${h.ifname} ${h.dir}`);

const alive = (pid: number): boolean => spawnSync('kill', ['-0', String(pid)]).status === 0;

describe('IPv6 end to end (real kernel)', () => {
  const loader = new ProbeLoader(undefined, 0);
  const pids = new Set<number>();

  beforeAll(async () => {
    execFileSync('make', ['-s', '-C', new URL('../../probes', import.meta.url).pathname], { stdio: 'inherit' });
    removeTopology();
    await labUp();
    loader.onStatus((s) => s.pid !== undefined && pids.add(s.pid));
  });

  afterAll(async () => {
    await loader.stop();
    removeTopology();
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(netnsList().filter((n) => n.startsWith(P))).toEqual([]);
  });

  it('a cross-node ping6 pod-a -> pod-c reports every hop, there and back, as IPv6', async () => {
    const j = await follow({ from: 'pod-a', to: 'fd00:10:244:2::2' }, { loader });
    expect(j.delivered, formatJourney(j)).toBe(true);
    expect(devices(j.hops)).toEqual([
      'pod-a eth0 egress',
      'node1 veth-pod-a ingress',
      'node1 cni0 ingress',
      'node1 eth0 egress',
      'host veth-node1 ingress',
      'host veth-node2 egress',
      'node2 eth0 ingress',
      'node2 cni0 egress',
      'node2 veth-pod-c egress',
      'pod-c eth0 ingress',
    ]);
    expect(devices(j.reply?.hops ?? [])).toEqual([
      'pod-c eth0 egress',
      'node2 veth-pod-c ingress',
      'node2 cni0 ingress',
      'node2 eth0 egress',
      'host veth-node2 ingress',
      'host veth-node1 egress',
      'node1 eth0 ingress',
      'node1 cni0 egress',
      'node1 veth-pod-a egress',
      'pod-a eth0 ingress',
    ]);
    const first = j.hops[0];
    expect(first).toMatchObject({ src: 'fd00:10:244:1::2', dst: 'fd00:10:244:2::2', proto: 'icmpv6', ttl: 64 });
    expect(first?.icmp?.type).toBe(128);
    expect(first?.ipv6).toMatchObject({ ext: [] });
    expect(j.reply?.hops[0]?.icmp?.type).toBe(129);
    // Each router lowers the hop limit: 64 leaving pod-a, 62 arriving in pod-c (node1 and node2 route).
    expect(j.hops.find((h) => h.netns === 'pod-c' && h.dir === 'ingress')?.ttl).toBe(62);
    // ip6tables FORWARD passed it in both nodes and on the host's bridge (the probe's NFPROTO_IPV6 links).
    const forwarded = j.hops.filter((h) => h.netfilter?.some((n) => n.hook === 'FORWARD' && n.verdict === 'accept'));
    expect(forwarded.map((h) => h.netns)).toEqual(['node1', 'host', 'node2']);
    expect(formatJourney(j)).toMatch(/pod-a\s+eth0 →\s+request\s+fd00:10:244:1::2 → fd00:10:244:2::2/);
  });

  it('-6 with a pod name sends to its IPv6 address', async () => {
    const j = await follow({ from: 'pod-a', to: 'pod-d', family: 6 }, { loader });
    expect(j.delivered).toBe(true);
    expect(j.hops[0]?.dst).toBe('fd00:10:244:2::3');
    expect(segments(j.hops)).toEqual(['pod-a', 'node1', 'host', 'node2', 'pod-d']);
  });

  it('TCP to the IPv6 ClusterIP [fd00:10:96::10]:80 shows the ip6tables DNAT as a hop that rewrites the destination', async () => {
    const j = await follow({ from: 'pod-a', to: 'fd00:10:96::10', proto: 'tcp', port: 80 }, { loader });
    expect(j.delivered, formatJourney(j)).toBe(true);
    expect(j.hops[0]).toMatchObject({ dst: 'fd00:10:96::10', dport: 80, tcpFlags: 'SYN' });
    const nat = j.hops.find((h) => h.nat);
    expect(nat?.netns).toBe('node1');
    expect(nat?.nat).toMatchObject({ kind: 'dnat', from: '[fd00:10:96::10]:80', hook: 'PRE_ROUTING' });
    expect(nat?.nat?.to).toMatch(/^\[fd00:10:244:2::[23]\]:8080$/);
    expect(nat?.dst).toMatch(/^fd00:10:244:2::[23]$/);
    // The reply is un-NATed back to the ClusterIP on node1.
    expect(j.reply?.hops[0]?.tcpFlags).toBe('SYN,ACK');
    expect(j.reply?.hops.at(-1)).toMatchObject({ netns: 'pod-a', src: 'fd00:10:96::10', sport: 80 });
  });

  it('a live view filtered on an IPv6 address (ip6 host, through the pcap-filter path) shows only that traffic', async () => {
    const journeys: Journey[] = [];
    // The live form's default protocol is icmp: with an IPv6 address it means ICMPv6.
    const t = await traceJourneys(loader, { proto: 'icmp', addr: 'FD00:10:244:2:0:0:0:2' }, (j) => journeys.push(j));
    try {
      inNs('pod-a', ['ping', '-6', '-n', '-q', '-c2', '-i', '0.2', '-W', '1', 'fd00:10:244:2::2']);
      inNs('pod-a', ['ping', '-n', '-q', '-c1', '-W', '1', '10.244.2.2']); // the same pod by IPv4: not selected
      await loader.sync();
      await expect.poll(() => journeys.length, { timeout: 3000 }).toBeGreaterThanOrEqual(4);
    } finally {
      await t.stop();
    }
    const hops = journeys.flatMap((j) => j.hops);
    expect(
      hops.every((h) => h.ipv6 !== undefined && (h.src === 'fd00:10:244:2::2' || h.dst === 'fd00:10:244:2::2')),
    ).toBe(true);
    // ICMPv6 echoes are icmp journeys: two requests and two replies, each crossing the five namespaces.
    const echoes = journeys.filter(
      (j) => j.proto === 'icmp' && j.hops[0]?.icmp && [128, 129].includes(j.hops[0].icmp.type),
    );
    expect(echoes.length).toBeGreaterThanOrEqual(4);
    expect(echoes.some((j) => segments(j.hops).join(' ') === 'pod-a node1 host node2 pod-c')).toBe(true);
  });

  it("reads Cilium's IPv6 DSR option (0x1b) out of a Destination Options header", async () => {
    const events: HopEvent[] = [];
    // libpcap's `udp`/`port` read IPv6's fixed next header only (60 here): select the datagram by that.
    const sub = await loader.subscribe({ expr: 'ip6 src fd00:10:244:1::2 and ip6[6] == 60' }, (h) => events.push(h));
    try {
      // A UDP datagram from pod-a carrying the option as Cilium writes it (struct dsr_opt_v6): type 0x1b,
      // length 20, the service address and port, 2 bytes of padding. The receivers skip the unknown option.
      const py = [
        'import socket, struct',
        's = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)',
        "s.bind(('::', 45555))",
        "opt = bytes([0, 2, 0x1b, 20]) + socket.inet_pton(socket.AF_INET6, 'fd00:10:96::10') + struct.pack('!H', 80) + bytes(2)",
        's.setsockopt(41, 59, opt)  # IPPROTO_IPV6, IPV6_DSTOPTS',
        "s.sendto(b'dsr', ('fd00:10:244:2::2', 8080))",
      ].join('\n');
      inNs('pod-a', ['/usr/bin/python3', '-c', py]);
      await loader.sync();
      const out = events.find((e) => e.netns !== 0 && e.sport === 45555);
      expect(out?.src).toBe('fd00:10:244:1::2');
      expect(out?.proto).toBe(17);
      expect(out?.dport).toBe(8080);
      expect(out?.v6?.ext).toEqual(['destination-options']);
      expect(out?.v6?.dsr).toEqual({ addr: 'fd00:10:96::10', port: 80 });
      // Every sighting of the request carries it, pod-a to pod-c.
      const seen = events.filter((e) => e.sport === 45555 && e.dir !== 'none');
      expect(seen.length).toBeGreaterThanOrEqual(8);
      expect(seen.every((e) => e.v6?.dsr?.addr === 'fd00:10:96::10')).toBe(true);
    } finally {
      await sub.close();
    }
  });

  it('an ip6tables DROP on a routed topology is attributed to FORWARD in the router and diagnosed', async () => {
    buildTopology();
    try {
      const j = await follow({ from: NS.a, to: NS.b, family: 6, timeoutMs: 1500 }, { loader });
      expect(j.delivered).toBe(false);
      expect(j.hops[0]).toMatchObject({ src: 'fd00:77:1::2', dst: 'fd00:77:2::2', proto: 'icmpv6' });
      const drop = j.hops.find((h) => h.drop?.isRealDrop);
      expect(drop?.netns).toBe(NS.r);
      expect(drop?.drop).toMatchObject({ reason: 'NETFILTER_DROP', byNetfilter: true });
      // Seen before the filter table at FORWARD, never after: the rule's hook.
      expect(
        j.hops.some((h) => h.netns === NS.r && h.netfilter?.some((n) => n.hook === 'FORWARD' && n.verdict === 'drop')),
      ).toBe(true);
      expect(j.hops.some((h) => h.netns === NS.b)).toBe(false);
      expect(j.reply).toBeUndefined();
      // The diagnosis names the ip6tables rule that dropped it, and how to remove it.
      expect(j.diagnosis).toMatch(/ip6tables filter FORWARD rule 1 \(`-d fd00:77:2::2\/128 -p ipv6-icmp -j DROP`\)/);
      expect(j.diagnosis).toMatch(/ip6tables -D FORWARD 1/);
    } finally {
      removeTopology();
    }
  });
});
