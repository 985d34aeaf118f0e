// The flow view against the real kernel and the lab: counts equal ping's and iperf3's own, a drop is
// counted by its reason, a tiny map reports its pressure, sampling keeps its bound, and the view is off in
// the kernel once its last subscriber left. Needs root and the built probe (`make -C probes`, done here).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUp } from '../lab/index';
import type { FlowRow, FlowsState } from '../protocol/flows';
import { ProbeLoader } from '../tracer/loader';
import type { FlowsRecord, TickFlow } from './record';
import { FlowView } from './view';

const POD_A = '10.244.1.2';
const POD_C = '10.244.2.2';
const IPERF_PORT = 5298;
const DROP_PORT = 9999;
const CLOSED_PORT = 9997;
/** iperf3 opens each data connection with a 37-byte cookie its byte counts leave out. */
const IPERF_COOKIE = 37;

const inNs = (ns: string, argv: string[]): string =>
  execFileSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', timeout: 60_000 });

/** UDP datagrams from pod-a to pod-c, one per port in `ports` (`count` each). */
function sendUdp(ports: readonly number[], count = 1): void {
  const js = `const s=require('dgram').createSocket('udp4');const ps=${JSON.stringify(ports)};let i=0;
const next=()=>{if(i>=ps.length*${count})return s.close();s.send('x',ps[i%ps.length],'${POD_C}',()=>{i++;next()})};next();`;
  inNs('pod-a', [process.execPath, '-e', js]);
}

/**
 * From pod-a on one socket, for `secs`: two threads, one per CPU, a segment or datagram each every ms; returns
 * the socket's port. TCP goes to the ClusterIP (DNATed on the way) as one HTTP header that never ends, so the
 * echo server waits; UDP goes to a closed port of pod-c, unconnected so its port unreachables are ignored.
 */
function sendFromBothCpus(proto: 'tcp' | 'udp', secs: number): number {
  const open =
    proto === 'tcp'
      ? `s=socket.create_connection(('10.96.0.10',80));s.setsockopt(socket.IPPROTO_TCP,socket.TCP_NODELAY,1)
s.send(b'GET / HTTP/1.1\\r\\nx-wait: ');send=lambda: s.send(b'x')`
      : `s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('0.0.0.0',0))
send=lambda: s.sendto(b'x',('${POD_C}',${CLOSED_PORT}))`;
  const py = `import os,socket,threading,time
${open}
def run(cpu):
    os.sched_setaffinity(0,{cpu});end=time.time()+${secs}
    while time.time()<end:
        send();time.sleep(0.001)
ts=[threading.Thread(target=run,args=(c,)) for c in (0,1)]
[t.start() for t in ts];[t.join() for t in ts]
print(s.getsockname()[1]);s.close()`;
  return Number(inNs('pod-a', ['python3', '-c', py]).trim());
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Subscribes, runs `traffic`, then waits for two ticks after it (the last one holds its final packets). */
async function counted(
  view: FlowView,
  traffic: () => Promise<void> | void,
  onRecord?: (r: FlowsRecord) => void,
): Promise<FlowsState> {
  let ticks = 0;
  let last: FlowsState | undefined;
  const off = await view.subscribe((s, r) => {
    if (!r) return;
    ticks++;
    last = s;
    onRecord?.(r);
  });
  try {
    const t0 = Date.now();
    await traffic();
    const after = ticks;
    while (ticks < after + 2 && Date.now() - t0 < 60_000) await sleep(50);
    expect(last).toBeDefined();
    return last as FlowsState;
  } finally {
    await off();
  }
}

const rowsSince = (view: FlowView, t0: number, pred: (r: FlowRow) => boolean): FlowRow[] =>
  view.rows().filter((r) => r.firstMs >= t0 - 50 && pred(r));

function iperf(args: string[]): Record<string, unknown> {
  const server = spawn('ip', ['netns', 'exec', 'pod-c', 'iperf3', '-s', '-1', '-p', String(IPERF_PORT)], {
    stdio: 'ignore',
  });
  try {
    for (let i = 0; i < 50; i++) {
      const r = spawnSync('ip', ['netns', 'exec', 'pod-c', 'ss', '-Hltn', `sport = :${IPERF_PORT}`], {
        encoding: 'utf8',
      });
      if (r.stdout.trim()) break;
      spawnSync('sleep', ['0.05']);
    }
    const out = inNs('pod-a', ['iperf3', '-c', POD_C, '-p', String(IPERF_PORT), '-J', ...args]);
    return JSON.parse(out) as Record<string, unknown>;
  } finally {
    server.kill();
  }
}

const within = (got: number, want: number, rel: number): boolean => Math.abs(got - want) <= want * rel;

describe('flow view (real kernel)', () => {
  const loader = new ProbeLoader(undefined, 0);
  const view = new FlowView(loader, { samplePerSec: 2 });

  beforeAll(async () => {
    execFileSync('make', ['-s', '-C', new URL('../../probes', import.meta.url).pathname], { stdio: 'inherit' });
    await labUp();
  }, 120_000);

  afterAll(async () => {
    await view.dispose();
    await loader.stop();
    spawnSync('ip', [
      'netns',
      'exec',
      'node1',
      'iptables',
      '-D',
      'FORWARD',
      '-p',
      'udp',
      '--dport',
      String(DROP_PORT),
      '-j',
      'DROP',
    ]);
  });

  it('counts ping exactly: every echo request and reply once in each namespace it crosses', async () => {
    const t0 = Date.now();
    let out = '';
    await counted(view, () => {
      out = inNs('pod-a', ['ping', '-q', '-c', '200', '-i', '0.002', POD_C]);
    });
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    expect(m, out).not.toBeNull();
    const [sent, received] = [Number(m?.[1]), Number(m?.[2])];
    expect(sent).toBe(200);
    const icmp = (src: string, dst: string, type: number) =>
      rowsSince(view, t0, (r) => r.proto === 'icmp' && r.src === src && r.dst === dst && r.dport === type << 8);
    const [req] = icmp(POD_A, POD_C, 8);
    const [rep] = icmp(POD_C, POD_A, 0);
    expect(req?.path.map((h) => h.netns)).toEqual(['pod-a', 'node1', 'host', 'node2', 'pod-c']);
    expect(rep?.path.map((h) => h.netns)).toEqual(['pod-c', 'node2', 'host', 'node1', 'pod-a']);
    // Each reply ends freed with NO_SOCKET in pod-a once ping's raw socket has its copy: listed, not lost.
    expect(rep?.drops).toEqual([{ reason: 'NO_SOCKET', count: received, ordinary: true }]);
    expect(rep?.dropsTotal).toBe(0);
    for (const h of req?.path ?? []) expect(h.packets, `requests in ${h.netns}`).toBe(sent);
    for (const h of rep?.path ?? []) expect(h.packets, `replies in ${h.netns}`).toBe(received);
    expect(req?.bytes).toBe(sent * 84); // 20 IP + 8 ICMP + 56 data
    expect(req?.payload).toBe(sent * 56);
    // Devices crossed: node1 routes from veth-pod-a to its uplink.
    expect(req?.path[1]?.devices).toContain('veth-pod-a');
  }, 60_000);

  it('counts iperf3 TCP bytes within 0.1% of what iperf3 received, and never more than it sent', async () => {
    const t0 = Date.now();
    let rep: Record<string, unknown> = {};
    await counted(view, () => {
      rep = iperf(['-t', '2']);
    });
    const end = rep.end as { sum_sent: { bytes: number; retransmits: number }; sum_received: { bytes: number } };

    const data = rowsSince(view, t0, (r) => r.proto === 'tcp' && r.dst === POD_C && r.dport === IPERF_PORT).sort(
      (a, b) => b.payload - a.payload,
    )[0];
    expect(data).toBeDefined();
    expect(end.sum_sent.bytes).toBeGreaterThan(10e6);
    // iperf3's sender counts what it wrote, some of which can still sit in the socket when the test
    // ends; its receiver what arrived in time. The wire carried at least that, plus what TCP resent.
    const why = `flow ${data?.payload}, iperf3 sent ${end.sum_sent.bytes}, received ${end.sum_received.bytes}, retransmits ${end.sum_sent.retransmits}`;
    expect(within(data?.payload ?? 0, end.sum_received.bytes, 0.001), why).toBe(true);
    expect(data?.payload ?? 0, why).toBeLessThanOrEqual(
      IPERF_COOKIE + end.sum_sent.bytes + end.sum_sent.retransmits * 1448,
    );
    // Each namespace on the way saw the same bytes, within what TCP retransmitted.
    const origin = data?.path[0]?.bytes ?? 0;
    for (const h of data?.path ?? []) expect(within(h.bytes, origin, 0.001), JSON.stringify(data?.path)).toBe(true);
    expect(data?.path.map((h) => h.netns)).toEqual(['pod-a', 'node1', 'host', 'node2', 'pod-c']);
  }, 60_000);

  it('counts iperf3 UDP packets and bytes within 0.1% of what iperf3 sent', async () => {
    const t0 = Date.now();
    let rep: Record<string, unknown> = {};
    await counted(view, () => {
      rep = iperf(['-u', '-b', '200M', '-l', '1400', '-t', '2']);
    });
    const end = rep.end as { sum: { bytes: number; packets: number } };
    const data = rowsSince(view, t0, (r) => r.proto === 'udp' && r.dst === POD_C && r.dport === IPERF_PORT).sort(
      (a, b) => b.payload - a.payload,
    )[0];
    expect(end.sum.packets).toBeGreaterThan(1000);
    // The flow's origin (pod-a) counted every datagram sent.
    const origin = data?.path[0];
    expect(origin?.netns).toBe('pod-a');
    expect(within(origin?.packets ?? 0, end.sum.packets, 0.001), `${origin?.packets} vs ${end.sum.packets}`).toBe(true);
    expect(within(data?.payload ?? 0, end.sum.bytes, 0.001), `${data?.payload} vs ${end.sum.bytes}`).toBe(true);
  }, 60_000);

  it('counts a drop by its reason where it happened (an iptables DROP in node1)', async () => {
    const rule = ['FORWARD', '-p', 'udp', '--dport', String(DROP_PORT), '-j', 'DROP'];
    const t0 = Date.now();
    inNs('node1', ['iptables', '-I', ...rule]);
    try {
      await counted(view, () => sendUdp([DROP_PORT], 30));
    } finally {
      inNs('node1', ['iptables', '-D', ...rule]);
    }
    const [row] = rowsSince(view, t0, (r) => r.proto === 'udp' && r.dport === DROP_PORT);
    expect(row?.dropsTotal).toBe(30);
    expect(row?.drops).toEqual([{ reason: 'NETFILTER_DROP', count: 30 }]);
    expect(row?.path.map((h) => [h.netns, h.drops])).toEqual([
      ['pod-a', 0],
      ['node1', 30],
    ]);
  }, 60_000);

  it('samples the first packet of a flow, then at most N a second, as whole journeys', async () => {
    const t0 = Date.now();
    let kernelSampled = 0;
    await counted(
      view,
      () => void inNs('pod-a', ['ping', '-q', '-c', '300', '-i', '0.005', POD_C]),
      (r) => {
        for (const f of r.flows)
          if (f.proto === 1 && f.src === POD_A && f.dst === POD_C && f.dport === 8 << 8) kernelSampled += f.sampled;
      },
    );
    const secs = (Date.now() - t0) / 1000;
    const [req] = rowsSince(view, t0, (r) => r.proto === 'icmp' && r.src === POD_A && r.dport === 8 << 8);
    expect(req?.packets).toBe(300);
    // 300 pings over ~1.5 s: the first, then 2 a second; one more per CPU race at most (flows.h).
    const bound = 1 + 2 * Math.ceil(secs);
    expect(kernelSampled).toBeGreaterThanOrEqual(3);
    expect(kernelSampled).toBeLessThanOrEqual(bound + 2);
    expect(req?.journeys).toBeGreaterThanOrEqual(1);
    expect(req?.journeys).toBeLessThanOrEqual(bound);
    const j = view.journey(req?.id ?? '');
    expect(j?.lanes).toEqual(expect.arrayContaining(['pod-a', 'node1', 'node2', 'pod-c']));
    expect(j?.hops[0]).toMatchObject({ netns: 'pod-a', src: POD_A, dst: POD_C });
  }, 60_000);

  it('starts a sampled journey only where its flow starts, even when the hops of a packet run on two CPUs', async () => {
    // RPS sends pod-c's arrivals to the other CPU than the sender's, so the namespaces' per-CPU look-ups of
    // the sampling state fall on other packets than pod-a's: a sample may still start only in pod-a. The TCP
    // flow is DNATed on the way, so past the NAT its packets have another key, one first seen marked.
    const rps = '/sys/class/net/eth0/queues/rx-0/rps_cpus';
    const before = inNs('pod-c', ['cat', rps]).trim();
    const dense = new ProbeLoader(undefined, 0);
    const v = new FlowView(dense, { samplePerSec: 200 });
    // Per protocol, per namespace: the samples started there (the ports are known once the senders ended).
    const seen: TickFlow[] = [];
    const ports = { udp: 0, tcp: 0 };
    try {
      inNs('pod-c', ['sh', '-c', `echo 2 > ${rps}`]);
      await counted(
        v,
        () => {
          ports.udp = sendFromBothCpus('udp', 2);
          ports.tcp = sendFromBothCpus('tcp', 2);
        },
        (r) => {
          for (const f of r.flows) if (f.sampled) seen.push(f);
        },
      );
    } finally {
      inNs('pod-c', ['sh', '-c', `echo ${before} > ${rps}`]);
      await v.dispose();
      await dense.stop();
    }
    const podA = statSync('/run/netns/pod-a').ino;
    for (const [proto, sport] of Object.entries(ports)) {
      const m = new Map<number, number>();
      for (const f of seen)
        if (f.proto === (proto === 'tcp' ? 6 : 17) && f.sport === sport)
          m.set(f.netns, (m.get(f.netns) ?? 0) + f.sampled);
      expect(m.get(podA) ?? 0, proto).toBeGreaterThan(100);
      expect(
        [...m].filter(([ns]) => ns !== podA),
        `${proto}: ${JSON.stringify([...m])}`,
      ).toEqual([]);
    }
  }, 60_000);

  it('reports map pressure, never silently: a 4-entry map counts what it could not hold', async () => {
    const small = new ProbeLoader(undefined, 0, ['--flow-entries', '4']);
    const v = new FlowView(small, { samplePerSec: 0 });
    try {
      const s = await counted(v, () => sendUdp(Array.from({ length: 40 }, (_, i) => 20000 + i)));
      expect(s.pressure.maxEntries).toBe(4);
      expect(s.pressure.insertFailed).toBeGreaterThan(0);
      expect(s.pressure.lostPackets).toBeGreaterThan(0);
      // What was counted plus what was lost is every datagram in pod-a (40, plus any other traffic).
      const podA = v.rows().reduce((n, r) => n + (r.path.find((h) => h.netns === 'pod-a')?.packets ?? 0), 0);
      expect(podA).toBeLessThan(40);
    } finally {
      await v.dispose();
      await small.stop();
    }
  }, 60_000);

  it('is off in the kernel once its last subscriber leaves', async () => {
    const records: number[] = [];
    const a = await view.subscribe((_s, r) => r && records.push(r.seq));
    const b = await view.subscribe(() => undefined);
    await a();
    expect(view.running).toBe(true); // b still holds it
    expect(bssFlag(loader.pid as number)).toBe(1);
    await b();
    expect(view.running).toBe(false);
    expect(bssFlag(loader.pid as number)).toBe(0);
    // No tick after the stop.
    const n = records.length;
    await sleep(1500);
    expect(records.length).toBe(n);
  }, 30_000);
});

/** flows_on in the probe's .bss, read from the kernel with bpftool (the loader's own maps, by its pid). */
function bssFlag(pid: number): number {
  // The loader's maps are the map_id lines of its fds' fdinfo.
  const ids = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    const m = /^map_id:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    if (m) ids.add(Number(m[1]));
  }
  const maps = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show'], { encoding: 'utf8' })) as {
    id: number;
    name: string;
  }[];
  const bss = maps.find((m) => m.name.endsWith('.bss') && ids.has(m.id));
  if (!bss) throw new Error(`no .bss map of pid ${pid}`);
  const dump = JSON.parse(
    execFileSync('bpftool', ['-j', 'map', 'dump', 'id', String(bss.id)], { encoding: 'utf8', maxBuffer: 64 << 20 }),
  ) as { formatted?: { value: Record<string, Record<string, unknown>[]> } }[];
  const vars = dump[0]?.formatted?.value['.bss'] ?? [];
  const v = vars.find((x) => 'flows_on' in x);
  if (!v) throw new Error('flows_on not in the .bss dump');
  return Number(v.flows_on);
}
