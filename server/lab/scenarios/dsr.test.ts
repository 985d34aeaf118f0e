// The dsr scenario against the real kernel (seed 000's "must hold" points): curl, tcpdump on kind0 and on
// node2's eth0, `packet-journey decode`, bpftool, and a leak check after down. Needs root and the lab lock.
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cli, ROOT } from '../../../test/cli';
import { labDown, labUp } from '../lab';
import { PIN_ROOT } from '../bpf';
import { HOST_LINKS, NAMESPACES, NODES, PODS } from '../spec';
import { DSR_MAPS, TC_GLOBALS, dsr } from './dsr';

const NODE2_MAC = '02:42:ac:12:00:03';
const run = (argv: string[], netns?: string) => {
  const full = netns ? ['nsenter', `--net=/var/run/netns/${netns}`, '--', ...argv] : argv;
  return spawnSync(full[0] as string, full.slice(1), { encoding: 'utf8', timeout: 15_000 });
};
const ok = (argv: string[], netns?: string): string => {
  const r = run(argv, netns);
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
};
const curl = (url: string, netns?: string) => run(['curl', '-sS', '-m', '5', url], netns);
const echoOf = (body: string) => ({
  pod: /^pod=(\S+)$/m.exec(body)?.[1],
  client: /^client=(\S+)$/m.exec(body)?.[1],
});

const Decoded = z.array(
  z.object({
    summary: z.string(),
    dsr: z.object({ addr: z.string(), port: z.number(), portHex: z.string(), addrHex: z.string() }).nullable(),
  }),
);
type Decoded = z.infer<typeof Decoded>;

let dir = '';

/** Runs tcpdump in netns (or the host) while `traffic` runs; returns its stdout. Immediate mode, or the
 * packets of the last second wait in the kernel's ring and are lost when tcpdump is stopped. */
async function tcpdump(netns: string | undefined, args: string[], traffic: () => Promise<void>): Promise<string> {
  const argv = [
    ...(netns ? ['nsenter', `--net=/var/run/netns/${netns}`, '--'] : []),
    'tcpdump',
    '-n',
    '--immediate-mode',
    ...args,
  ];
  const p = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const closed = new Promise<void>((r) => p.on('close', () => r()));
  const started = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 5000);
    p.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes('listening on')) {
        clearTimeout(t);
        resolve();
      }
    });
    void closed.then(() => {
      clearTimeout(t);
      reject(new Error(`tcpdump exited: ${err}`));
    });
  });
  try {
    await started;
    await traffic();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    if (p.exitCode === null && p.pid !== undefined) process.kill(p.pid, 'SIGINT');
    await closed;
  }
  return out;
}

/** Captures to a pcap and reads it back with `packet-journey decode --json`. */
async function captureDecoded(netns: string | undefined, iface: string, filter: string, traffic: () => Promise<void>) {
  const file = join(dir, `${netns ?? 'host'}-${iface}-${Date.now()}.pcap`);
  await tcpdump(netns, ['-i', iface, '-e', '-U', '-w', file, filter], traffic);
  const r = cli(['decode', file, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return Decoded.parse(JSON.parse(r.stdout));
}

/** One UDP exchange per payload, from one socket: the replies' text and where each came from. */
async function udpExchange(to: string, port: number, payloads: readonly string[]) {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '172.18.0.1', r));
  const replies: { body: string; from: string; local: number }[] = [];
  try {
    for (const p of payloads) {
      const reply = new Promise<{ body: string; from: string }>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no UDP reply from ${to}:${port}`)), 3000);
        sock.once('message', (msg, rinfo) => {
          clearTimeout(t);
          resolve({ body: msg.toString(), from: `${rinfo.address}:${rinfo.port}` });
        });
      });
      sock.send(p, port, to);
      replies.push({ ...(await reply), local: sock.address().port });
    }
  } finally {
    sock.close();
  }
  return replies;
}

const dsrSyns = (pkts: Decoded) => pkts.filter((p) => p.dsr && /Flags \[S\]/.test(p.summary));

describe('dsr scenario (real kernel)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pjt-dsr-'));
    await labDown();
    await labUp({ scenario: 'dsr' });
  });
  afterAll(async () => {
    await labDown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('curl 172.18.0.2:31400 from the host is answered by pod-c or pod-d, which see client 172.18.0.1', () => {
    const r = curl('http://172.18.0.2:31400/');
    expect(r.status, r.stderr).toBe(0);
    const e = echoOf(r.stdout);
    expect(e.pod).toMatch(/^pod-[cd]$/);
    expect(e.client).toMatch(/^172\.18\.0\.1:\d+$/);
  });

  it('kind0 sees the SYN-ACK come from node2’s MAC with source 172.18.0.2:31400 (not via node1)', async () => {
    const pkts = await captureDecoded(undefined, 'kind0', 'tcp port 31400 or tcp port 8080', async () => {
      expect(curl('http://172.18.0.2:31400/').status).toBe(0);
    });
    const synAcks = pkts.filter((p) => /Flags \[S\.\]/.test(p.summary));
    expect(synAcks.length, pkts.map((p) => p.summary).join('\n')).toBe(1);
    expect(synAcks[0]?.summary).toMatch(
      new RegExp(`^${NODE2_MAC} > 02:42:ac:12:00:01, .*172\\.18\\.0\\.2\\.31400 > 172\\.18\\.0\\.1\\.\\d+:`),
    );
    // The SYN on its way from node1 to node2: DNATed already, client address kept (no SNAT).
    expect(dsrSyns(pkts)[0]?.summary).toMatch(
      /^02:42:ac:12:00:02 > 02:42:ac:12:00:03, .*172\.18\.0\.1\.\d+ > 10\.244\.2\.[23]\.8080:/,
    );
  });

  it('the replies never pass node1: its eth0 sees only the client’s packets, in and then out to node2', async () => {
    const pkts = await captureDecoded('node1', 'eth0', 'tcp port 31400 or tcp port 8080', async () => {
      expect(curl('http://172.18.0.2:31400/').status).toBe(0);
    });
    expect(pkts.length).toBeGreaterThan(0);
    const fromClient = /^02:42:ac:12:00:0[12] > 02:42:ac:12:00:0[23], .*172\.18\.0\.1\.\d+ > /;
    expect(pkts.filter((p) => !fromClient.test(p.summary)).map((p) => p.summary)).toEqual([]);
  });

  it('node2’s eth0 sees the SYN with option 0x9a, which decode reads as 172.18.0.2:31400', async () => {
    const pkts = await captureDecoded('node2', 'eth0', 'tcp port 8080 or tcp port 31400', async () => {
      expect(curl('http://172.18.0.2:31400/').status).toBe(0);
    });
    const syns = dsrSyns(pkts);
    expect(syns.length, pkts.map((p) => p.summary).join('\n')).toBe(1);
    expect(syns[0]?.dsr).toMatchObject({ addr: '172.18.0.2', port: 31400, portHex: 'a87a', addrHex: '020012ac' });
    // TCP carries the option on the SYN only.
    expect(pkts.filter((p) => p.dsr).length).toBe(1);
  });

  it('chooses both backends over many connections, and remembers each flow’s backend', () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 24; i++) {
      const r = curl('http://172.18.0.2:31400/');
      expect(r.status, r.stderr).toBe(0);
      const e = echoOf(r.stdout);
      seen.set(e.client?.split(':')[1] ?? '', e.pod ?? '');
    }
    expect(new Set(seen.values())).toEqual(new Set(['pod-c', 'pod-d']));
    const Flows = z.array(
      z.object({
        formatted: z.object({
          key: z.object({ saddr: z.array(z.number()), sport: z.number(), dport: z.number() }),
          value: z.object({ addr: z.array(z.number()), port: z.number() }),
        }),
      }),
    );
    const flows = Flows.parse(
      JSON.parse(ok(['bpftool', '--json', 'map', 'dump', 'pinned', `${TC_GLOBALS}/pj_dsr_lb_flows`])),
    );
    for (const [port, pod] of seen) {
      const f = flows.find((x) => x.formatted.key.sport === Number(port) && x.formatted.key.dport === 31400)?.formatted;
      expect(f?.value.addr.join('.'), `flow from port ${port}`).toBe(PODS.find((p) => p.name === pod)?.ip);
      expect(f?.value.port).toBe(8080);
    }
  });

  it('UDP works: replies come from 172.18.0.2:31400, one backend per flow, the option on every datagram', async () => {
    let replies: Awaited<ReturnType<typeof udpExchange>> = [];
    const pkts = await captureDecoded('node2', 'eth0', 'udp port 8080', async () => {
      replies = await udpExchange('172.18.0.2', 31400, ['one', 'two', 'three', 'four']);
    });
    expect(replies.map((r) => r.from)).toEqual(Array(4).fill('172.18.0.2:31400'));
    const pods = new Set(replies.map((r) => echoOf(r.body).pod));
    expect(pods.size).toBe(1);
    expect([...pods][0]).toMatch(/^pod-[cd]$/);
    for (const r of replies) expect(echoOf(r.body).client).toBe(`172.18.0.1:${r.local}`);
    const inbound = pkts.filter((p) => /> 10\.244\.2\.[23]\.8080:/.test(p.summary));
    expect(inbound.length).toBe(4);
    for (const p of inbound) expect(p.dsr).toMatchObject({ addr: '172.18.0.2', port: 31400 });
    // Many flows (one socket each) reach both backends.
    const many = new Set<string | undefined>();
    for (let i = 0; i < 24; i++) many.add(echoOf((await udpExchange('172.18.0.2', 31400, ['x']))[0]?.body ?? '').pod);
    expect(many).toEqual(new Set(['pod-c', 'pod-d']));
  });

  it('a backend on the receiving node (node2) is DNATed locally and the reply reverse-NATed', async () => {
    const r = curl('http://172.18.0.3:31400/');
    expect(r.status, r.stderr).toBe(0);
    expect(echoOf(r.stdout).client).toMatch(/^172\.18\.0\.1:\d+$/);
    const u = await udpExchange('172.18.0.3', 31400, ['local']);
    expect(u[0]?.from).toBe('172.18.0.3:31400');
  });

  it('ClusterIP from pod-a still works through iptables, and no NodePort rule is left in iptables', () => {
    const r = curl('http://10.96.0.10/', 'pod-a');
    expect(r.status, r.stderr).toBe(0);
    expect(echoOf(r.stdout)).toMatchObject({
      pod: expect.stringMatching(/^pod-[cd]$/),
      client: expect.stringMatching(/^10\.244\.1\.2:/),
    });
    for (const n of NODES) {
      const nat = ok(['iptables-save', '-t', 'nat'], n.name);
      expect(nat).toMatch(/KUBE-SVC-DEFAULTECHOTCP80/);
      // The chains are declared, but no rule sends anything to the NodePort any more.
      const rules = nat.split('\n').filter((l) => l.startsWith('-A '));
      expect(rules.filter((l) => /31400|KUBE-NODEPORTS|KUBE-EXT-/.test(l))).toEqual([]);
    }
  });

  it('tc shows dsr.bpf.o:[from-netdev] on eth0 ingress and [to-netdev] on eth0 egress of both nodes', () => {
    for (const n of NODES) {
      expect(ok(['tc', 'filter', 'show', 'dev', 'eth0', 'ingress'], n.name)).toMatch(
        /dsr\.bpf\.o:\[from-netdev\] direct-action not_in_hw id \d+ name dsr_from_netdev tag [0-9a-f]+ jited/,
      );
      expect(ok(['tc', 'filter', 'show', 'dev', 'eth0', 'egress'], n.name)).toMatch(
        /dsr\.bpf\.o:\[to-netdev\] direct-action not_in_hw id \d+ name dsr_to_netdev/,
      );
    }
  });

  // Veths pass CHECKSUM_PARTIAL packets along unchecked, and mark others CHECKSUM_UNNECESSARY, so a wrong
  // checksum goes unnoticed unless offload is off. rx off everywhere makes every receiver (pod, host)
  // verify in software, so a wrong checksum stalls the handshake; tcpdump -vv on node2's eth0 checks
  // the bytes of both directions there.
  const ethtool = (dev: string, netns: string | undefined, ...what: string[]) =>
    ok(['ethtool', '-K', dev, ...what.flatMap((w) => [w, 'off'])], netns);
  const checkSums = async () => {
    const text = await tcpdump(
      'node2',
      ['-vv', '-l', '-i', 'eth0', 'tcp port 8080 or tcp port 31400 or udp port 8080 or udp port 31400'],
      async () => {
        for (let i = 0; i < 4; i++) expect(curl('http://172.18.0.2:31400/').status).toBe(0);
        expect((await udpExchange('172.18.0.2', 31400, ['sum']))[0]?.from).toBe('172.18.0.2:31400');
      },
    );
    expect(text).not.toMatch(/incorrect|bad cksum|bad udp cksum/);
    // Both directions were checked: the forwarded SYN (with the option) and the reverse-NATed replies.
    // node1 decremented the TTL (64 -> 63) and grew the header by the option's 8 bytes (SYN: 60 -> 68).
    expect(text).toMatch(/ttl 63, id \d+, offset 0, flags \[DF\], proto TCP \(6\), length 68, options \(unknown 154\)/);
    expect(text).toMatch(/172\.18\.0\.1\.\d+ > 10\.244\.2\.[23]\.8080: Flags \[S\], cksum 0x[0-9a-f]+ \(correct\)/);
    expect(text).toMatch(/172\.18\.0\.2\.31400 > 172\.18\.0\.1\.\d+: Flags \[S\.\], cksum 0x[0-9a-f]+ \(correct\)/);
    expect(text).toMatch(/172\.18\.0\.1\.\d+ > 10\.244\.2\.[23]\.8080: \[udp sum ok\]/);
    expect(text).toMatch(/172\.18\.0\.2\.31400 > 172\.18\.0\.1\.\d+: \[udp sum ok\]/);
  };

  it('checksums are right when senders offload and the nodes finish the sum after the rewrite (BPF_F_PSEUDO_HDR)', async () => {
    // The host and pods send CHECKSUM_PARTIAL (only the pseudo-header sum in the field); node1's and node2's
    // eth0 finish it in software after from-netdev's DNAT and to-netdev's reverse NAT, so a pseudo-header
    // left unpatched there would come out wrong.
    for (const d of ['veth-node1', 'veth-node2']) ethtool(d, undefined, 'rx');
    for (const n of NODES) ethtool('eth0', n.name, 'tx', 'rx');
    for (const p of PODS.filter((x) => x.echo)) {
      ethtool(p.veth, p.node, 'rx');
      ethtool('eth0', p.name, 'rx');
    }
    await checkSums();
  });

  it('checksums are right when senders compute them in full (the incremental updates)', async () => {
    ethtool('kind0', undefined, 'tx');
    for (const p of PODS.filter((x) => x.echo)) ethtool('eth0', p.name, 'tx');
    await checkSums();
  });

  it('every command to try works as printed in the Lab tab', async () => {
    // What each one must show (stdout and stderr together). tcpdump needs traffic while it listens.
    const expected: [RegExp, RegExp][] = [
      [/^curl -s 172\.18\.0\.2:31400$/, /^client=172\.18\.0\.1:\d+$/m],
      [/^curl -s 172\.18\.0\.3:31400$/, /^client=172\.18\.0\.1:\d+$/m],
      [/socat/, /^request=UDP 6 bytes$/m],
      [
        /-i kind0/,
        /02:42:ac:12:00:03 > 02:42:ac:12:00:01, .* 172\.18\.0\.2\.31400 > 172\.18\.0\.1\.\d+: Flags \[S\.\]/,
      ],
      [/-vv -X/, /0x0010: {2}0af4 020[23] 9a08 a87a 0200 12ac/],
      [/node1 ethtool/, /^$/],
      [/node2 ethtool/, /^$/],
      [/-w \/tmp\/dsr-syn\.pcap/, /^1 packet captured$/m],
      [
        /decode/,
        /DSR: service 172\.18\.0\.2:31400 \(ipv4-option, little-endian; port bytes a87a, address bytes 020012ac\)/,
      ],
      [/node1 tc filter show dev eth0 ingress/, /dsr\.bpf\.o:\[from-netdev\] direct-action/],
      [/node2 tc filter show dev eth0 egress/, /dsr\.bpf\.o:\[to-netdev\] direct-action/],
      [/pj_dsr_backends$/, /"addr": \[10,244,2,2\s*\],\s*"port": 8080/],
      [/pj_dsr_lb_flows$/, /"dport": 31400/],
      [/pj_dsr_rev_nat$/, /"port": 31400/],
      [/KUBE-NODEPORTS/, /^-N KUBE-NODEPORTS\n$/],
    ];
    expect(dsr.info.tryCommands.length).toBe(expected.length);
    try {
      for (const cmd of dsr.info.tryCommands) {
        const want = expected.find(([m]) => m.test(cmd))?.[1];
        expect(want, cmd).toBeDefined();
        // `packet-journey` is the installed bin; here it is this checkout's CLI.
        const line = cmd.replace(/^packet-journey /, 'npx tsx server/cli.ts ');
        const p = spawn('bash', ['-c', line], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (b: Buffer) => (out += b.toString()));
        p.stderr.on('data', (b: Buffer) => (out += b.toString()));
        const done = new Promise((r) => p.once('close', r));
        if (cmd.includes('tcpdump')) {
          await new Promise((r) => setTimeout(r, 500));
          for (let i = 0; i < 2; i++) curl('http://172.18.0.2:31400/');
        }
        await Promise.race([done, new Promise((r) => setTimeout(r, 8000))]);
        if (p.exitCode === null && p.pid !== undefined) process.kill(p.pid, 'SIGKILL');
        expect(out, cmd).toMatch(want as RegExp);
        if (!cmd.includes('tcpdump')) expect(p.exitCode, cmd).toBe(0);
      }
    } finally {
      rmSync('/tmp/dsr-syn.pcap', { force: true });
    }
  });

  it('switching to basic, then down, leaves no program, pin, map, filter or rule of the scenario behind', async () => {
    const progIds = NODES.flatMap((n) =>
      (['ingress', 'egress'] as const).map((d) =>
        Number(/\bid (\d+)/.exec(ok(['tc', 'filter', 'show', 'dev', 'eth0', d], n.name))?.[1]),
      ),
    );
    const mapIds = DSR_MAPS.map((m) =>
      Number(/^(\d+):/.exec(ok(['bpftool', 'map', 'show', 'pinned', `${TC_GLOBALS}/${m}`]))?.[1]),
    );
    expect([...progIds, ...mapIds].every((id) => id > 0)).toBe(true);
    const alive = () => [
      ...progIds
        .filter((id) => run(['bpftool', 'prog', 'show', 'id', String(id)]).status === 0)
        .map((id) => `prog ${id}`),
      ...mapIds.filter((id) => run(['bpftool', 'map', 'show', 'id', String(id)]).status === 0).map((id) => `map ${id}`),
    ];
    // Namespace teardown (and with it the tc filters, then the programs and maps) is asynchronous.
    const gone = async () => {
      const deadline = Date.now() + 5000;
      while (alive().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(alive()).toEqual([]);
    };

    await labUp({ scenario: 'basic' });
    await gone();
    expect(run(['ls', TC_GLOBALS]).stdout).not.toMatch(/pj_dsr_/);
    for (const n of NODES)
      for (const d of ['ingress', 'egress']) expect(ok(['tc', 'filter', 'show', 'dev', 'eth0', d], n.name)).toBe('');
    // kube-proxy's NodePort is back: masqueraded, so the backend sees node1.
    expect(echoOf(curl('http://172.18.0.2:31400/').stdout).client).toMatch(/^172\.18\.0\.2:/);

    await labDown();
    // What scripts/leak-check.sh checks for this scenario (the script itself also counts other sessions' processes).
    const netns = ok(['ip', 'netns', 'list']);
    for (const n of NAMESPACES) expect(netns).not.toMatch(new RegExp(`^${n}\\b`, 'm'));
    for (const l of HOST_LINKS) expect(run(['ip', 'link', 'show', l]).status).not.toBe(0);
    expect(run(['ls', PIN_ROOT]).status).not.toBe(0);
    expect(run(['ls', TC_GLOBALS]).stdout).not.toMatch(/pj_/);
    expect(ok(['bpftool', 'prog', 'show'])).not.toMatch(/name dsr_(from|to)_netdev/);
    expect(ok(['bpftool', 'cgroup', 'tree'])).not.toMatch(/dsr_/);
    expect(ok(['iptables-save'])).not.toMatch(/packet-journey/);
  });
});
