// The one iproute2 parser: the interface-kind rule every capability shares (topology, capture pickers,
// the lab), and the small look-ups the tracer reads (main address, route source).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ifaceKind, parseIpBatch, parseLinks, parsePrimaryIpv4, parseRouteSource } from './iproute';

const fx = (f: string): string => readFileSync(join(__dirname, 'fixtures', f), 'utf8');

const link = (ifindex: number, ifname: string, extra: Record<string, unknown>): Record<string, unknown> => ({
  ifindex,
  ifname,
  flags: ['UP'],
  mtu: 1500,
  operstate: 'UP',
  ...extra,
});

describe('the interface-kind rule', () => {
  // The rows where capture/targets.ts (info_kind, else loopback, else device) and topology/iproute.ts
  // used to disagree, and the ordinary ones both agreed on.
  it.each([
    ['a veth (info_kind wins)', { link_type: 'ether', linkinfo: { info_kind: 'veth' } }, 'veth'],
    ['a bridge', { link_type: 'ether', linkinfo: { info_kind: 'bridge' } }, 'bridge'],
    ['a plain NIC', { link_type: 'ether' }, 'device'],
    ['loopback', { link_type: 'loopback' }, 'loopback'],
    [
      'loopback even with a driver kind (capture said the kind)',
      { link_type: 'loopback', linkinfo: { info_kind: 'dummy' } },
      'loopback',
    ],
    ['a tun without -d (capture said device)', { link_type: 'none' }, 'none'],
    ['an ipip tunnel without -d (capture said device)', { link_type: 'ipip' }, 'ipip'],
    ['no link type at all', {}, 'device'],
  ])('%s', (_what, l, kind) => {
    expect(ifaceKind(l)).toBe(kind);
  });

  it('gives `ip -j -d link show` and the discovery batch the same kinds for the same links', () => {
    const addrShow = fx('lab-pod-a.ip.ndjson').split('\n')[0] ?? '';
    const fromLinks = parseLinks(addrShow)?.interfaces.map((f) => [f.name, f.kind]);
    const fromBatch = parseIpBatch(fx('lab-pod-a.ip.ndjson')).interfaces.map((f) => [f.name, f.kind]);
    expect(fromLinks).toEqual(fromBatch);
    expect(Object.fromEntries(fromLinks ?? [])).toEqual({ lo: 'loopback', eth0: 'veth' });
  });
});

describe('parseLinks', () => {
  it('reads links, skips elements that do not parse, and says undefined for non-JSON', () => {
    const out = JSON.stringify([
      link(1, 'lo', { link_type: 'loopback', flags: ['LOOPBACK', 'UP'] }),
      { ifname: 'broken' },
      link(7, 'tun0', { link_type: 'none', linkinfo: { info_kind: 'tun' }, flags: [] }),
    ]);
    const r = parseLinks(out);
    expect(r?.bad).toBe(1);
    expect(r?.interfaces.map((f) => [f.name, f.ifindex, f.kind, f.up])).toEqual([
      ['lo', 1, 'loopback', true],
      ['tun0', 7, 'tun', false],
    ]);
    expect(parseLinks('ip: oops')).toBeUndefined();
  });
});

describe('tracer look-ups', () => {
  const addr = (ifname: string, local: string, scope: string) =>
    link(2, ifname, { addr_info: [{ family: 'inet', local, prefixlen: 24, scope }] });

  it("prefers eth0's address, else the first one that is not host-scoped", () => {
    expect(
      parsePrimaryIpv4(JSON.stringify([addr('lo', '127.0.0.1', 'host'), addr('eth0', '10.0.0.2', 'global')])),
    ).toBe('10.0.0.2');
    expect(
      parsePrimaryIpv4(JSON.stringify([addr('lo', '127.0.0.1', 'host'), addr('net1', '10.1.0.2', 'global')])),
    ).toBe('10.1.0.2');
    expect(parsePrimaryIpv4(JSON.stringify([addr('lo', '127.0.0.1', 'host')]))).toBeUndefined();
    expect(parsePrimaryIpv4('not json')).toBeUndefined();
  });

  it('reads the source address of `ip route get`', () => {
    expect(parseRouteSource('[{"dst":"10.244.2.2","gateway":"172.18.0.3","dev":"eth0","prefsrc":"10.244.1.2"}]')).toBe(
      '10.244.1.2',
    );
    expect(parseRouteSource('[]')).toBeUndefined();
    expect(parseRouteSource('')).toBeUndefined();
  });
});
