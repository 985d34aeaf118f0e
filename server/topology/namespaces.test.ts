// Namespace identity on fakes: a fake topology and a fake `ip`, so nothing is discovered or spawned.
import { describe, expect, it } from 'vitest';
import type { NetnsTarget } from '../sys/exec';
import { createNamespaces, type IpRunner, type NameSource, type NamespaceRef } from './namespaces';

const HOST: NamespaceRef = { name: 'host', inode: 100, target: { kind: 'host' } };

/** The topology knows a container `web` (inode 7); inode 8 appears only after a re-discovery. */
function fakeTopology(): NameSource & { asked: number[] } {
  const names = new Map([[7, 'web']]);
  const asked: number[] = [];
  return {
    asked,
    nameForInodeCached: (i) => names.get(i),
    async nameForInode(i) {
      asked.push(i);
      if (i === 8) names.set(8, 'late');
      return names.get(i);
    },
    async lookupNamespace(name) {
      if (name !== 'web') return undefined;
      const ns = { name, inode: 7, kind: 'container' as const, interfaces: [], neighbors: [], routes: [] };
      return { ns, entry: { name, inode: 7, source: 'container', target: { kind: 'pid', pid: 4242 } } };
    },
  };
}

/** `ip` answering from a table keyed by the command, recording every call. */
function fakeIp(answers: Record<string, string>): IpRunner & { calls: [NetnsTarget, string][] } {
  const calls: [NetnsTarget, string][] = [];
  const f = async (target: NetnsTarget, args: readonly string[]) => {
    const cmd = args.join(' ');
    calls.push([target, cmd]);
    const stdout = answers[cmd];
    return stdout === undefined ? { code: 1, stdout: '', stderr: 'Error: nope\n' } : { code: 0, stdout, stderr: '' };
  };
  return Object.assign(f, { calls });
}

const addrs = JSON.stringify([
  { ifindex: 1, ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }] },
  { ifindex: 2, ifname: 'eth0', addr_info: [{ family: 'inet', local: '172.17.0.2', prefixlen: 16, scope: 'global' }] },
]);

describe('namespace look-ups', () => {
  it('finds the host and topology names without a real discovery, and refuses unsafe names', async () => {
    const n = createNamespaces({ topology: fakeTopology(), ip: fakeIp({}), named: async () => [HOST] });
    expect((await n.findNamespace('host'))?.target).toEqual({ kind: 'host' });
    expect(await n.findNamespace('web')).toEqual({ name: 'web', inode: 7, target: { kind: 'pid', pid: 4242 } });
    expect(await n.findNamespace('no-such-thing-here')).toBeUndefined();
    expect(await n.findNamespace('../etc')).toBeUndefined();
    expect(await n.findNamespace('..')).toBeUndefined();
  });

  it('resolves --to: an IPv4 as is, a namespace by its main address, with one-line errors otherwise', async () => {
    const ip = fakeIp({ '-j -4 addr show': addrs });
    const n = createNamespaces({ topology: fakeTopology(), ip, named: async () => [HOST] });
    expect(await n.resolveDestination('10.96.0.10')).toEqual({ ip: '10.96.0.10' });
    const web = await n.resolveDestination('web');
    expect(web).toEqual({ ip: '172.17.0.2', ns: { name: 'web', inode: 7, target: { kind: 'pid', pid: 4242 } } });
    expect(ip.calls).toEqual([[{ kind: 'pid', pid: 4242 }, '-j -4 addr show']]);
    expect(await n.resolveDestination('ghost')).toEqual({
      error: 'unknown destination "ghost": not an IPv4 or IPv6 address or a namespace the topology knows',
    });
    // IPv6: an address is taken in its canonical (RFC 5952) form; -6 picks a name's global IPv6 address.
    expect(await n.resolveDestination('FD00:10:244:2:0:0:0:2')).toEqual({ ip: 'fd00:10:244:2::2' });
    const ip6 = fakeIp({
      '-j -6 addr show':
        '[{"ifindex":1,"ifname":"lo","addr_info":[{"family":"inet6","local":"::1","prefixlen":128,"scope":"host"}]},' +
        '{"ifindex":2,"ifname":"eth0","addr_info":[{"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link"},' +
        '{"family":"inet6","local":"fd00:10:244:2::2","prefixlen":64,"scope":"global"}]}]',
    });
    const n6 = createNamespaces({ topology: fakeTopology(), ip: ip6, named: async () => [HOST] });
    expect(await n6.resolveDestination('web', 6)).toEqual({
      ip: 'fd00:10:244:2::2',
      ns: { name: 'web', inode: 7, target: { kind: 'pid', pid: 4242 } },
    });
    expect(await n6.resolveDestination('web')).toEqual({ error: 'namespace "web" has no IPv4 address to send to' });
    const mute = createNamespaces({ topology: fakeTopology(), ip: fakeIp({}), named: async () => [HOST] });
    expect(await mute.resolveDestination('web')).toEqual({ error: 'namespace "web" has no IPv4 address to send to' });
  });

  it('reads the source address towards a destination', async () => {
    const ip = fakeIp({ '-j -4 route get 10.0.0.9': '[{"dst":"10.0.0.9","dev":"eth0","prefsrc":"10.0.0.2"}]' });
    const n = createNamespaces({ topology: fakeTopology(), ip, named: async () => [HOST] });
    expect(await n.sourceAddressFor(HOST.target, '10.0.0.9')).toBe('10.0.0.2');
    expect(await n.sourceAddressFor(HOST.target, '10.0.0.10')).toBeUndefined();
  });

  it('lists links with -d, so a veth is a veth for the capture pickers as in the topology', async () => {
    const links = JSON.stringify([
      { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], link_type: 'loopback' },
      { ifindex: 5, ifname: 'eth0', flags: ['UP'], link_type: 'ether', linkinfo: { info_kind: 'veth' } },
    ]);
    const ip = fakeIp({ '-j -d link show': links });
    const n = createNamespaces({ topology: fakeTopology(), ip, named: async () => [HOST] });
    const r = await n.linksIn(HOST);
    expect('interfaces' in r && r.interfaces.map((f) => [f.name, f.kind, f.up])).toEqual([
      ['lo', 'loopback', true],
      ['eth0', 'veth', true],
    ]);
    const broken = createNamespaces({ topology: fakeTopology(), ip: fakeIp({}), named: async () => [HOST] });
    expect(await broken.linksIn(HOST)).toEqual({ error: 'cannot list interfaces in namespace "host": Error: nope' });
  });
});

describe('NetnsNames', () => {
  it('names inodes from the local scan, then the cached topology, and asks about the rest once', async () => {
    const topology = fakeTopology();
    const n = createNamespaces({ topology, ip: fakeIp({}), named: async () => [HOST] });
    const names = n.netnsNames();
    await names.refresh();
    expect(names.nameOf(100)).toBe('host');
    expect(names.nameOf(7)).toBe('web');
    expect(names.nameOf(8)).toBe('netns:8');
    expect(names.nameOf(9)).toBe('netns:9');
    expect(await names.resolveMissing()).toBe(true);
    expect(topology.asked).toEqual([8, 9]);
    expect(names.nameOf(8)).toBe('late');
    expect(await names.resolveMissing()).toBe(false); // nothing missed since
    expect(names.nameOf(9)).toBe('netns:9');
    expect(await names.resolveMissing()).toBe(false); // still unknown
    expect(topology.asked).toEqual([8, 9, 9]);
  });
});
