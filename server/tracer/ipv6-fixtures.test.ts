// IPv6 journeys from recorded probe output (fixtures/record.ts v6 on the dual-stack lab): no kernel. The
// events decode to IPv6 hops, the builder makes the same journeys as for IPv4 (request, reply, DNAT, verdicts),
// and the wire contract accepts them. Plus the address vocabulary the CLI and the filters rely on.
import { describe, expect, it } from 'vitest';
import { FollowRequest, Journey, LiveFilter } from '../protocol/tracer';
import { canonicalIp, endpoint, ipv6Bytes, ipv6FromBytes, isIpv6, packetKind } from '../protocol/vocab';
import { load, meta, namer } from './fixtures/load';
import { formatJourney } from './format';
import { buildJourney } from './journey';

const names = namer('lab6-names.json');

const segments = (hops: readonly { netns: string }[]): string[] =>
  hops.map((h) => h.netns).filter((n, i, a) => a[i - 1] !== n);

describe('recorded IPv6 events', () => {
  it('decode as IPv6: addresses, hop limit, flow label, ICMPv6 echo id and seq', () => {
    const hops = load('ping6-pod-a-pod-c.ndjson');
    expect(hops.length).toBeGreaterThan(20);
    for (const h of hops) {
      expect(h.v6).toBeDefined();
      expect(h.src.includes(':') && h.dst.includes(':')).toBe(true);
      expect(h.proto).toBe(58);
      expect(h.icmp?.id).toBe(4646);
      expect(h.v6?.flowLabel).toBeLessThanOrEqual(0xfffff);
    }
    const first = hops[0];
    expect(first).toMatchObject({ src: 'fd00:10:244:1::2', dst: 'fd00:10:244:2::2', ttl: 64, totLen: 104 });
    expect(first?.icmp).toMatchObject({ type: 128, seq: 1 });
  });

  it('make the ping6 journey pod-a -> pod-c and back, hop by hop, with netfilter verdicts', () => {
    const j = buildJourney(load('ping6-pod-a-pod-c.ndjson'), meta({ proto: 'icmp' }), names);
    expect(j.delivered).toBe(true);
    expect(segments(j.hops)).toEqual(['pod-a', 'node1', 'host', 'node2', 'pod-c']);
    expect(segments(j.reply?.hops ?? [])).toEqual(['pod-c', 'node2', 'host', 'node1', 'pod-a']);
    expect(j.hops.every((h) => h.proto === 'icmpv6' && h.ipv6 !== undefined)).toBe(true);
    expect(j.hops.filter((h) => h.verdict === 'accept').map((h) => h.netns)).toEqual([
      'pod-a',
      'node1',
      'host',
      'node2',
      'pod-c',
    ]);
    expect(packetKind(j.hops[0] as Journey['hops'][number])).toBe('echo request');
    expect(packetKind(j.reply?.hops[0] as Journey['hops'][number])).toBe('echo reply');
    // The reply's end in pod-a (NO_SOCKET once the raw socket has its copy) is no drop, as for IPv4.
    expect(j.reply?.hops.at(-1)?.drop).toMatchObject({ reason: 'NO_SOCKET', isRealDrop: false });
    expect(Journey.safeParse(j).success).toBe(true);
    const table = formatJourney(j);
    expect(table).toMatch(/^pod-a\s+eth0 →\s+request\s+fd00:10:244:1::2 → fd00:10:244:2::2\s+LOCAL_OUT ACCEPT$/m);
    expect(table).toMatch(/^pod-c\s+eth0 →\s+reply\s+fd00:10:244:2::2 → fd00:10:244:1::2/m);
  });

  it('show the ip6tables DNAT to the IPv6 ClusterIP as a hop that rewrites the destination, and its reverse', () => {
    const j = buildJourney(load('tcp6-pod-a-clusterip.ndjson'), meta({ proto: 'tcp', clientPort: 40006 }), names);
    expect(j.delivered).toBe(true);
    const nat = j.hops.find((h) => h.nat);
    expect(nat?.netns).toBe('node1');
    expect(nat?.nat).toMatchObject({ kind: 'dnat', from: '[fd00:10:96::10]:80', hook: 'PRE_ROUTING' });
    expect(nat?.nat?.to).toMatch(/^\[fd00:10:244:2::[23]\]:8080$/);
    const back = j.reply?.hops.find((h) => h.nat);
    expect(back?.nat).toMatchObject({ kind: 'snat', to: '[fd00:10:96::10]:80' });
    expect(j.reply?.hops[0]?.tcpFlags).toBe('SYN,ACK');
    expect(formatJourney(j)).toContain('DNAT [fd00:10:96::10]:80 → [fd00:10:244:2::');
    expect(Journey.safeParse(j).success).toBe(true);
  });
});

describe('IPv6 addresses on the wire and the command line', () => {
  it('parses and prints IPv6 text as RFC 5952 does', () => {
    expect(canonicalIp('FD00:10:244:2:0:0:0:2')).toBe('fd00:10:244:2::2');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('10.244.2.2')).toBe('10.244.2.2');
    expect(ipv6FromBytes(ipv6Bytes('::') ?? new Uint8Array())).toBe('::');
    expect(ipv6FromBytes(ipv6Bytes('1:2:3:4:5:6:7:8') ?? new Uint8Array())).toBe('1:2:3:4:5:6:7:8');
    for (const bad of ['1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', 'fd00::/64', ':1::', 'pod-c'])
      expect(isIpv6(bad), bad).toBe(false);
    expect(endpoint('fd00:10:96::10', 80)).toBe('[fd00:10:96::10]:80');
    expect(endpoint('10.96.0.10', 80)).toBe('10.96.0.10:80');
  });

  it('the contract takes an IPv6 --to and live address, and refuses a bad one in one line', () => {
    expect(FollowRequest.parse({ from: 'pod-a', to: 'fd00:10:244:2::2' }).to).toBe('fd00:10:244:2::2');
    expect(FollowRequest.parse({ from: 'pod-a', to: 'pod-c', family: 6 }).family).toBe(6);
    const bad = FollowRequest.safeParse({ from: 'pod-a', to: 'fd00::1::2' });
    expect(bad.success ? '' : bad.error.issues[0]?.message).toBe('not an IPv6 address');
    expect(FollowRequest.safeParse({ from: 'pod-a', to: 'pod-c', family: 5 }).success).toBe(false);
    expect(LiveFilter.parse({ addr: 'fd00:10:244:2::2' }).addr).toBe('fd00:10:244:2::2');
    const badLive = LiveFilter.safeParse({ addr: 'fd00:zz::1' });
    expect(badLive.success ? '' : badLive.error.issues[0]?.message).toBe('not an IPv4 or IPv6 address');
  });
});
