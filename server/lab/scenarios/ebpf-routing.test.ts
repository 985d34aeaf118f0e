// ebpf-routing (seed 002) against the real kernel: the Cilium-like wiring, the tc programs as seed 002
// shows them, pod-to-pod and pod-to-service traffic routed in BPF past the node's iptables, and nothing
// left after down. Run under the lab lock.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp } from '../lab';
import { lxcName } from './ebpf-routing-wiring';
import { TC_GLOBALS } from '../bpf';
import { PINNED_MAPS } from './ebpf-routing-bpf';

const sh = (argv: string[]): string => execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
const inNs = (ns: string, argv: string[]) =>
  spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', timeout: 15_000 });
// nsenter keeps /sys/fs/bpf visible (tc shows pinned state); ip netns exec is fine for traffic.
const nsenter = (ns: string, argv: string[]): string => sh(['nsenter', `--net=/var/run/netns/${ns}`, '--', ...argv]);
const links = (ns: string): { ifname: string; link_netnsid?: number }[] =>
  JSON.parse(sh(['ip', '-n', ns, '-j', 'link', 'show'])) as { ifname: string }[];

/** Packets counted by the FORWARD chain's rules and policy in a node. */
function forwardPackets(node: string): number {
  const out = nsenter(node, ['iptables', '-t', 'filter', '-L', 'FORWARD', '-v', '-x', '-n']);
  const policy = Number(/policy \w+ (\d+) packets/.exec(out)?.[1] ?? NaN);
  const rules = out
    .split('\n')
    .slice(2)
    .filter((l) => l.trim())
    .reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0]), 0);
  return policy + rules;
}

/** Packets that matched kube-proxy's ClusterIP rule in a node's nat table. */
function clusterIpRulePackets(node: string): number {
  const out = nsenter(node, ['iptables', '-t', 'nat', '-L', 'KUBE-SERVICES', '-v', '-x', '-n']);
  const line = out.split('\n').find((l) => l.includes('10.96.0.10'));
  if (!line) throw new Error(`no ClusterIP rule in ${node}:\n${out}`);
  return Number(line.trim().split(/\s+/)[0]);
}

function curl(pod: string, url: string): { pod: string; client: string } {
  const r = inNs(pod, ['curl', '-sS', '-m', '5', url]);
  expect(r.status, `${pod} curl ${url}: ${r.stderr}`).toBe(0);
  return { pod: /^pod=(\S+)$/m.exec(r.stdout)?.[1] ?? '', client: /^client=(\S+)$/m.exec(r.stdout)?.[1] ?? '' };
}

/** Runs tcpdump -vv in ns while fn sends traffic; resolves with what it printed. */
async function capture(ns: string, filter: string, fn: () => void): Promise<string> {
  const p = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-l', '-nn', '-vv', '-i', 'eth0', filter], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((resolve, reject) => {
    p.stderr.on('data', (b: Buffer) => b.toString().includes('listening on') && resolve());
    p.on('exit', (c) => reject(new Error(`tcpdump in ${ns} exited ${c}`)));
  });
  try {
    fn();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    p.kill('SIGTERM');
  }
  await new Promise((r) => p.once('exit', r));
  return out;
}

const ourProgs = (): string[] =>
  (JSON.parse(sh(['bpftool', '--json', 'prog', 'show'])) as { name?: string }[])
    .map((p) => p.name ?? '')
    .filter((n) => n === 'from_container' || n === 'from_netdev');

// The kernel frees a namespace's tc programs in its async netns cleanup, a little after `ip netns del`.
async function noProgsLeft(): Promise<void> {
  const deadline = Date.now() + 5000;
  while (ourProgs().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(ourProgs()).toEqual([]);
}

describe('ebpf-routing scenario (real kernel)', () => {
  beforeAll(async () => {
    await labDown();
    // Switched to from the basic lab: its cni0 wiring must not survive into this one.
    await labUp({ scenario: 'basic' });
    const s = await labUp({ scenario: 'ebpf-routing' });
    expect(s.up).toBe(true);
    expect(s.scenario).toBe('ebpf-routing');
  }, 30_000);
  afterAll(async () => {
    await labDown();
  });

  it('wires pods as Cilium does: lxc<hash> veths, no cni0, the gateway on cilium_host', () => {
    for (const [node, pods] of [
      ['node1', ['pod-a', 'pod-b']],
      ['node2', ['pod-c', 'pod-d']],
    ] as const) {
      const names = links(node).map((l) => l.ifname);
      expect(names).not.toContain('cni0');
      expect(names.filter((n) => /^lxc[0-9a-f]{12}$/.test(n)).sort()).toEqual(pods.map(lxcName).sort());
      expect(names).toEqual(expect.arrayContaining(['cilium_host', 'cilium_net']));
    }
    const gw = nsenter('node1', ['ifconfig', 'cilium_host']);
    expect(gw).toMatch(/inet 10\.244\.1\.1 /);
    expect(gw).toMatch(/UP,BROADCAST,RUNNING/);
    expect(sh(['ip', '-n', 'node1', 'route'])).toMatch(/^10\.244\.1\.0\/24 via 10\.244\.1\.1 dev cilium_host/m);
    expect(sh(['ip', '-n', 'pod-a', 'route'])).toBe(
      'default via 10.244.1.1 dev eth0 \n10.244.1.1 dev eth0 scope link \n',
    );
  });

  it('tc filter show on an lxc device prints what seed 002 shows; eth0 has from-netdev', () => {
    const lxc = nsenter('node1', ['tc', 'filter', 'show', 'dev', lxcName('pod-a'), 'ingress']);
    expect(lxc).toMatch(
      /filter protocol all pref \d+ bpf chain 0 handle 0x1 bpf_lxc\.o:\[from-container\] direct-action not_in_hw id \d+ name from_container tag [0-9a-f]{16} jited/,
    );
    const eth0 = nsenter('node2', ['tc', 'filter', 'show', 'dev', 'eth0', 'ingress']);
    expect(eth0).toMatch(
      /bpf_host\.o:\[from-netdev\] direct-action not_in_hw id \d+ name from_netdev tag [0-9a-f]{16} jited/,
    );
    // Two lxc programs and one eth0 program per node, each with its own endpoints map.
    expect(ourProgs().sort()).toEqual([...Array(4).fill('from_container'), ...Array(2).fill('from_netdev')].sort());
  });

  it('pod-a resolves the gateway to its lxc device MAC (no bridge, the node answers ARP)', () => {
    expect(inNs('pod-a', ['ping', '-c1', '-W2', '10.244.1.1']).status).toBe(0);
    const lxcMac = (
      JSON.parse(sh(['ip', '-n', 'node1', '-j', 'link', 'show', lxcName('pod-a')])) as { address: string }[]
    )[0]?.address;
    expect(inNs('pod-a', ['arp', '-an']).stdout).toContain(`(10.244.1.1) at ${lxcMac} [ether] on eth0`);
  });

  it('pod-to-pod on one node and across nodes, past the FORWARD chain', () => {
    const before = forwardPackets('node1');
    for (const dst of ['10.244.1.3', '10.244.2.2', '10.244.2.3']) {
      const r = inNs('pod-a', ['ping', '-c3', '-i0.2', '-W2', dst]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }
    const r = inNs('pod-c', ['ping', '-c3', '-i0.2', '-W2', '10.244.1.2']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(forwardPackets('node1')).toBe(before);
    // The counter does count what the stack forwards: pod-a to node2's address is not pod-to-pod.
    expect(inNs('pod-a', ['ping', '-c2', '-i0.2', '-W2', '172.18.0.3']).status).toBe(0);
    expect(forwardPackets('node1')).toBeGreaterThanOrEqual(before + 4);
  });

  it('the echo server sees the true pod address, on one node and across', () => {
    expect(curl('pod-a', 'http://10.244.2.3:8080/')).toEqual({
      pod: 'pod-d',
      client: expect.stringMatching(/^10\.244\.1\.2:\d+$/),
    });
    expect(curl('pod-c', 'http://10.244.2.3:8080/')).toEqual({
      pod: 'pod-d',
      client: expect.stringMatching(/^10\.244\.2\.2:\d+$/),
    });
  });

  it('ClusterIP 10.96.0.10 works from pod-a and pod-b, translated in BPF (the iptables rule sees nothing)', () => {
    const before = clusterIpRulePackets('node1');
    const seen = new Set<string>();
    for (const pod of ['pod-a', 'pod-b'] as const) {
      const ip = pod === 'pod-a' ? '10.244.1.2' : '10.244.1.3';
      for (let i = 0; i < 8; i++) {
        const r = curl(pod, 'http://10.96.0.10/');
        expect(r.pod).toMatch(/^pod-[cd]$/);
        expect(r.client).toMatch(new RegExp(`^${ip.replace(/\./g, '\\.')}:\\d+$`));
        seen.add(r.pod);
      }
    }
    expect([...seen].sort()).toEqual(['pod-c', 'pod-d']);
    expect(clusterIpRulePackets('node1')).toBe(before);
    // Every translated flow left a reverse-NAT entry in the shared pinned map.
    expect(sh(['bpftool', 'map', 'dump', 'pinned', `${TC_GLOBALS}/pj_er_revnat`])).toMatch(/"client": /);
  });

  it('a direct connection on a tuple a service flow used is not reverse-NATed', () => {
    // One client port, first via the service, then straight to the backend the service picked. Both
    // sockets set SO_REUSEADDR, so the second may bind the port the first left in TIME_WAIT.
    const script = [
      'import re, socket, sys',
      'def get(host, port):',
      '    s = socket.socket()',
      '    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
      '    s.settimeout(5)',
      '    s.bind(("10.244.1.2", 40123))',
      '    s.connect((host, port))',
      '    s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")',
      '    out = b""',
      '    while chunk := s.recv(4096):',
      '        out += chunk',
      '    s.close()',
      '    return out.decode()',
      'first = get("10.96.0.10", 80)',
      'backend = "10.244.2.2" if "pod=pod-c" in first else "10.244.2.3"',
      'sys.stdout.write(first + "\\n---\\n" + get(backend, 8080))',
    ].join('\n');
    const r = inNs('pod-a', ['/usr/bin/python3', '-c', script]);
    expect(r.status, r.stderr).toBe(0);
    const [viaService = '', direct = ''] = r.stdout.split('\n---\n');
    expect(viaService).toMatch(/^client=10\.244\.1\.2:40123$/m);
    expect(direct).toMatch(/^client=10\.244\.1\.2:40123$/m);
  });

  it('ClusterIP from a backend (pod-c) reaches the other backend on its own node', () => {
    for (let i = 0; i < 4; i++)
      expect(curl('pod-c', 'http://10.96.0.10/')).toEqual({
        pod: 'pod-d',
        client: expect.stringMatching(/^10\.244\.2\.2:/),
      });
  });

  /** pod-a's ClusterIP requests arrive at pod-d, DNATed, with checksums tcpdump verifies. */
  const expectCorrectRequests = async (): Promise<void> => {
    const requests = await capture('pod-d', 'tcp and dst port 8080', () => {
      for (let i = 0; i < 6; i++) curl('pod-a', 'http://10.96.0.10/');
    });
    expect(requests).toMatch(/10\.244\.1\.2\.\d+ > 10\.244\.2\.3\.8080/);
    expect(requests).toMatch(/cksum 0x[0-9a-f]+ \(correct\)/);
    expect(requests).not.toMatch(/incorrect/);
  };
  it('checksums are right after the DNAT and reverse NAT (offload off, checked by tcpdump)', async () => {
    for (const pod of ['pod-a', 'pod-c', 'pod-d']) inNs(pod, ['ethtool', '-K', 'eth0', 'tx', 'off']);
    try {
      const replies = await capture('pod-a', 'tcp and src host 10.96.0.10', () => {
        for (let i = 0; i < 4; i++) curl('pod-a', 'http://10.96.0.10/');
      });
      expect(replies).toMatch(/10\.96\.0\.10\.80 > 10\.244\.1\.2\.\d+/);
      expect(replies).toMatch(/cksum 0x[0-9a-f]+ \(correct\)/);
      expect(replies).not.toMatch(/incorrect/);
      await expectCorrectRequests();
    } finally {
      for (const pod of ['pod-a', 'pod-c', 'pod-d']) inNs(pod, ['ethtool', '-K', 'eth0', 'tx', 'on']);
    }
  });

  it('a checksum left to offload is right once software fills it in (BPF_F_PSEUDO_HDR)', async () => {
    // pod-a leaves the TCP checksum to "hardware" (only the pseudo-header sum is in the packet); node1's
    // eth0 without tx offload computes it from that sum, so a DNAT that forgot the pseudo-header shows here.
    inNs('node1', ['ethtool', '-K', 'eth0', 'tx', 'off']);
    try {
      await expectCorrectRequests();
    } finally {
      inNs('node1', ['ethtool', '-K', 'eth0', 'tx', 'on']);
    }
  });

  it('NodePort 31400 still answers from the host through the stack', () => {
    const r = spawnSync('curl', ['-sS', '-m', '5', '--interface', '172.18.0.1', 'http://172.18.0.2:31400/'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^pod=pod-[cd]$/m);
    // node2 has the backends: the stack forwards to its own lxc device and takes the reply back.
    const local = spawnSync('curl', ['-sS', '-m', '5', '--interface', '172.18.0.1', 'http://172.18.0.3:31400/'], {
      encoding: 'utf8',
    });
    expect(local.status, local.stderr).toBe(0);
    expect(local.stdout).toMatch(/^pod=pod-[cd]$/m);
  });

  it('a packet for a pod address with no pod is dropped, not looped', () => {
    const txOf = (): number =>
      (
        JSON.parse(sh(['ip', '-n', 'node1', '-j', '-s', 'link', 'show', 'cilium_host'])) as {
          stats64: { tx: { packets: number } };
        }[]
      )[0]?.stats64.tx.packets ?? NaN;
    const before = txOf();
    expect(inNs('pod-a', ['ping', '-c1', '-W1', '10.244.1.99']).status).not.toBe(0);
    // Routed back and forth between cilium_host and cilium_net it would cross cilium_host up to 64 times.
    expect(txOf() - before).toBeLessThan(4);
    expect(inNs('pod-a', ['ping', '-c1', '-W1', '10.244.1.3']).status).toBe(0);
  });

  it('switching to basic removes the programs and pinned maps and brings cni0 back', async () => {
    const s = await labUp({ scenario: 'basic' });
    expect(s.scenario).toBe('basic');
    await noProgsLeft();
    const pinned = spawnSync('ls', [TC_GLOBALS], { encoding: 'utf8' }).stdout.split('\n');
    for (const m of PINNED_MAPS) expect(pinned).not.toContain(m);
    const names = links('node1').map((l) => l.ifname);
    expect(names).toContain('cni0');
    expect(names.filter((n) => n.startsWith('lxc') || n.startsWith('cilium_'))).toEqual([]);
    expect(inNs('pod-a', ['ping', '-c1', '-W2', '10.244.2.2']).status).toBe(0);
  });

  it('down leaves no program, pinned map, namespace or iptables rule behind', async () => {
    const r = await labDown();
    expect(r.removed).toBe(true);
    await noProgsLeft();
    const pinned = spawnSync('ls', [TC_GLOBALS], { encoding: 'utf8' }).stdout.split('\n');
    for (const m of PINNED_MAPS) expect(pinned).not.toContain(m);
    expect(sh(['ls', '/sys/fs/bpf'])).not.toMatch(/packet-journey/);
    expect(sh(['ip', 'netns', 'list'])).not.toMatch(/\b(node[12]|pod-[a-d])\b/);
    expect(sh(['iptables-save'])).not.toMatch(/packet-journey/);
    // The machine-wide leak check; a tracer loader is no lab resource (another checkout may be running one).
    const leak = spawnSync('bash', ['scripts/leak-check.sh'], { encoding: 'utf8' });
    const leaks = leak.stderr
      .split('\n')
      .filter((l) => l.startsWith('leak check FAILED') && !l.endsWith('probe loader processes'));
    expect(leaks).toEqual([]);
  });
});
