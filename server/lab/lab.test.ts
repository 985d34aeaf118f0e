// The lab against the real kernel: namespaces, veths, iptables, processes. Needs root (CI runs as root).
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../test/cli';
import { labDown, labStatus, labUp } from './lab';
import { HOST_LINKS, NAMESPACES } from './spec';

const sh = (argv: string[]): string => execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
const netnsList = (): string[] =>
  sh(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
const hostLinks = (): string[] => (JSON.parse(sh(['ip', '-j', 'link'])) as { ifname: string }[]).map((l) => l.ifname);
const inNs = (ns: string, argv: string[]) =>
  spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', timeout: 10_000 });

/** Everything the lab could leave behind, for before/after comparisons. */
function footprint(): string {
  const rules = [...sh(['iptables-save']).split('\n'), ...sh(['ip6tables-save']).split('\n')].filter((l) =>
    l.includes('packet-journey'),
  );
  const procs = spawnSync('pgrep', ['-f', 'echo-server.mjs'], { encoding: 'utf8' }).stdout.trim();
  return JSON.stringify({
    ns: netnsList()
      .filter((n) => NAMESPACES.includes(n))
      .sort(),
    links: hostLinks()
      .filter((l) => HOST_LINKS.includes(l))
      .sort(),
    rules,
    procs,
  });
}

describe('lab (real kernel)', () => {
  beforeAll(async () => {
    await labDown();
  });
  afterAll(async () => {
    await labDown();
    spawnSync('ip', ['netns', 'del', 'node1']);
  });

  it('up creates the six namespaces, bridges and echo servers', async () => {
    const s = await labUp();
    expect(s.up).toBe(true);
    const ns = netnsList();
    for (const n of ['node1', 'node2', 'pod-a', 'pod-b', 'pod-c', 'pod-d']) expect(ns).toContain(n);
    expect(hostLinks()).toEqual(expect.arrayContaining(['kind0', 'veth-node1', 'veth-node2']));
    const cni = JSON.parse(sh(['ip', '-n', 'node1', '-j', 'link', 'show', 'master', 'cni0'])) as { ifname: string }[];
    expect(cni.map((l) => l.ifname).sort()).toEqual(['veth-pod-a', 'veth-pod-b']);
    expect(s.echoServers.every((e) => e.alive)).toBe(true);
  });

  it('ClusterIP 10.96.0.10:80 from pod-a reaches pod-c or pod-d and keeps the client address', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = inNs('pod-a', ['curl', '-sS', '-m', '5', 'http://10.96.0.10/']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^pod=pod-[cd]$/m);
      expect(r.stdout).toMatch(/^client=10\.244\.1\.2:\d+$/m);
      seen.add(/pod=(pod-[cd])/.exec(r.stdout)?.[1] ?? '');
    }
    expect([...seen].every((p) => p === 'pod-c' || p === 'pod-d')).toBe(true);
  });

  it('NodePort 31400 answers from the host, masqueraded (externalTrafficPolicy=Cluster)', () => {
    const r = spawnSync('curl', ['-sS', '-m', '5', '--interface', '172.18.0.1', 'http://172.18.0.2:31400/'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^pod=pod-[cd]$/m);
    // node1 has no backend: it forwards to node2 and SNATs, so the client IP is lost.
    expect(r.stdout).toMatch(/^client=172\.18\.0\.2:\d+$/m);
  });

  it('pods reach each other across nodes', () => {
    const r = inNs('pod-a', ['ping', '-c1', '-W2', '10.244.2.3']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('dual-stack: pods reach each other across nodes by IPv6 at once (no DAD wait)', () => {
    const r = inNs('pod-a', ['ping', '-6', '-c1', '-W2', 'fd00:10:244:2::2']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // Usable at once: no address of the lab is left tentative.
    for (const ns of ['node1', 'pod-a', 'pod-c'])
      expect(inNs(ns, ['ip', '-6', 'addr', 'show', 'tentative']).stdout.trim()).toBe('');
  });

  it('dual-stack: ClusterIP [fd00:10:96::10]:80 is DNATed by ip6tables to a backend, client kept', () => {
    const r = inNs('pod-a', ['curl', '-sS', '-m', '5', 'http://[fd00:10:96::10]/']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^pod=pod-[cd]$/m);
    expect(r.stdout).toMatch(/^client=\[fd00:10:244:1::2\]:\d+$/m);
    const nat = inNs('node1', ['ip6tables', '-t', 'nat', '-S', 'KUBE-SEP-PODCFD0010244208080']).stdout;
    expect(nat).toContain('--to-destination [fd00:10:244:2::2]:8080');
  });

  it('a second up is harmless: same namespaces, same echo servers', async () => {
    const before = await labStatus();
    const inodes = sh(['stat', '-c', '%i', '/var/run/netns/node1']);
    const again = await labUp();
    expect(again.up).toBe(true);
    expect(again.echoServers).toEqual(before.echoServers);
    expect(sh(['stat', '-c', '%i', '/var/run/netns/node1'])).toBe(inodes);
  });

  it('up repairs a lab whose echo server died', async () => {
    const s = await labStatus();
    const pid = s.echoServers[0]?.pid;
    expect(pid).toBeDefined();
    process.kill(pid as number, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    expect((await labStatus()).up).toBe(false);
    expect((await labUp()).up).toBe(true);
  });

  it('down leaves nothing behind, and a second down is a no-op', async () => {
    const r = await labDown();
    expect(r.removed).toBe(true);
    expect(footprint()).toBe(JSON.stringify({ ns: [], links: [], rules: [], procs: '' }));
    const nodeRules = spawnSync('ip', ['netns', 'exec', 'node1', 'true']);
    expect(nodeRules.status).not.toBe(0);
    const again = await labDown();
    expect(again.removed).toBe(false);
    expect(again.message).toMatch(/not up/);
  });

  it('refuses to start over a foreign namespace named node1, changing nothing', async () => {
    sh(['ip', 'netns', 'add', 'node1']);
    try {
      const before = footprint();
      await expect(labUp()).rejects.toThrow(/network namespace "node1".*did not create/);
      expect(footprint()).toBe(before);
      // The foreign namespace is untouched and still there.
      expect(netnsList()).toContain('node1');
      const r = cli(['lab', 'up']);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(/refusing to start/);
    } finally {
      sh(['ip', 'netns', 'del', 'node1']);
    }
  });

  it('refuses without root, with a clear error', () => {
    const r = cli(['lab', 'up'], { asUser: 65534 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/needs root/);
  });
});
