// The all-traffic flow view (issue 14 §3), side by side in one run: iperf3 pod-a -> pod-c untraced, with
// the flow view on (every packet counted in the kernel, probes/flows.h), and with unfiltered every-hop
// streaming (every hop of all traffic to this process, for comparison: no target on 2 vCPUs). The modes
// take turns within each round (the order rotates); ratios are paired per round, medians with a 95%
// interval. Count accuracy: each flow-view round's iperf3 data flow, its payload bytes against what iperf3
// says it sent. Root, under the lab lock:
//   flock /tmp/pj-lab.lock npx tsx bench/flows.ts [--rounds 21] [--seconds 2]   (PJ_BENCH_SAMPLE=N journeys/s, or off)
import { execFileSync } from 'node:child_process';
import { arg, countingAll, iperfServer, median, nsList, probeNsPerRun, run } from './common';
import { labUp } from '../server/lab/index';
import { FlowView } from '../server/flows/view';
import { ProbeLoader } from '../server/tracer/loader';

const ROUNDS = arg('rounds', 21);
const SECONDS = arg('seconds', 2);

/** The distribution-free 95% interval of a median: order statistics from the binomial(n, 1/2). */
function medianInterval(xs: readonly number[]): [number, number] {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  // The largest k with P(X < k) ≤ 2.5% for X ~ binomial(n, 1/2): [x_(k), x_(n-k+1)] covers ≥ 95%.
  let k = 0;
  let cdf = 0;
  let c = 1;
  for (let i = 0; i < n; i++) {
    cdf += c / 2 ** n;
    if (cdf > 0.025) break;
    k = i + 1;
    c = (c * (n - i)) / (i + 1);
  }
  return k === 0 ? [s[0] as number, s[n - 1] as number] : [s[k - 1] as number, s[n - k] as number];
}

interface IperfResult {
  readonly gbps: number;
  readonly sentBytes: number;
  readonly receivedBytes: number;
  readonly retransmits: number;
}

async function iperf(): Promise<IperfResult> {
  const argv = [
    '--net=/var/run/netns/pod-a',
    '--',
    'iperf3',
    '-c',
    '10.244.2.2',
    '-p',
    '5299',
    '-t',
    String(SECONDS),
    '-J',
  ];
  const j = JSON.parse(await run('nsenter', argv, (SECONDS + 20) * 1000)) as {
    end: { sum_received: { bits_per_second: number; bytes: number }; sum_sent: { bytes: number; retransmits: number } };
  };
  return {
    gbps: j.end.sum_received.bits_per_second / 1e9,
    sentBytes: j.end.sum_sent.bytes,
    receivedBytes: j.end.sum_received.bytes,
    retransmits: j.end.sum_sent.retransmits,
  };
}

const fmt = (xs: readonly number[], d = 3): string => {
  const [lo, hi] = medianInterval(xs);
  return `${median(xs).toFixed(d)} [${lo.toFixed(d)}, ${hi.toFixed(d)}]`;
};

async function main(): Promise<void> {
  execFileSync('make', ['-s', '-C', new URL('../probes', import.meta.url).pathname], { stdio: 'inherit' });
  await labUp();
  const server = await iperfServer();
  const loader = new ProbeLoader(undefined, 0);
  await loader.ensureStarted();
  // PJ_BENCH_SAMPLE=off: the flow view without sampled journeys (counting alone, no slot).
  const sample = process.env.PJ_BENCH_SAMPLE ?? '1';
  const view = new FlowView(
    loader,
    sample === 'off' ? { samplePerSec: 0, journeys: false } : { samplePerSec: Number(sample) },
  );

  const res = { untraced: [] as number[], flows: [] as number[], allHops: [] as number[] };
  const accuracy: number[] = [];
  const accuracySent: number[] = [];
  const retransmitted: number[] = [];
  let insertFailed = 0;
  let flowsSeen = 0;
  const hopRates: number[] = [];
  let lost = 0;

  const modes = {
    untraced: async () => {
      res.untraced.push((await iperf()).gbps);
    },
    flows: async () => {
      const t0 = Date.now();
      const off = await view.subscribe(() => undefined);
      let r: IperfResult;
      try {
        r = await iperf();
      } finally {
        await off(); // the loader's last record (flows off) holds the run's final packets
      }
      res.flows.push(r.gbps);
      const data = view
        .rows()
        .filter((f) => f.proto === 'tcp' && f.dst === '10.244.2.2' && f.dport === 5299 && f.firstMs >= t0 - 50)
        .sort((a, b) => b.payload - a.payload)[0];
      accuracy.push((data?.payload ?? 0) / r.receivedBytes);
      accuracySent.push((data?.payload ?? 0) / r.sentBytes);
      retransmitted.push(r.retransmits);
      insertFailed += view.state.pressure.insertFailed;
      flowsSeen = Math.max(flowsSeen, view.state.total);
    },
    allHops: async () => {
      const c = await countingAll(loader, iperf);
      res.allHops.push(c.value.gbps);
      hopRates.push(c.rate);
      lost += c.lost;
    },
  };
  const order = Object.keys(modes) as (keyof typeof modes)[];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < order.length; i++) await modes[order[(round + i) % order.length] as keyof typeof modes]();
    process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
  }
  // The probe's own time per program run, loaded and idle against the flow view on (bpf_stats).
  const [idle, on] = await probeNsPerRun([
    () => iperf(),
    async () => {
      const off = await view.subscribe(() => undefined);
      try {
        await iperf();
      } finally {
        await off();
      }
    },
  ]);
  await view.dispose();
  await loader.stop();
  server.kill();

  const ratio = (xs: readonly number[]) => xs.map((x, i) => x / (res.untraced[i] as number));
  console.log(`iperf3 pod-a -> pod-c, ${ROUNDS} rounds of ${SECONDS} s, modes rotating within each round`);
  console.log(`| mode | Gbit/s, median [95% interval] | ratio to untraced, paired |`);
  console.log(`|---|---|---|`);
  console.log(`| untraced | ${fmt(res.untraced, 2)} | 1 |`);
  console.log(`| flow view on (all traffic counted in the kernel) | ${fmt(res.flows, 2)} | ${fmt(ratio(res.flows))} |`);
  console.log(`| unfiltered every-hop streaming to the server | ${fmt(res.allHops, 2)} | ${fmt(ratio(res.allHops))} |`);
  console.log(
    `count accuracy (flow payload / iperf3 received bytes): median ${fmt(accuracy, 5)}, min ${Math.min(...accuracy).toFixed(5)}, max ${Math.max(...accuracy).toFixed(5)}; against its sent bytes: median ${fmt(accuracySent, 5)}, min ${Math.min(...accuracySent).toFixed(5)}, max ${Math.max(...accuracySent).toFixed(5)}; iperf3 retransmits per run: median ${median(retransmitted)}`,
  );
  console.log(
    `count accuracy (received) per round, sorted: ${[...accuracy]
      .sort((x, y) => x - y)
      .map((x) => x.toFixed(5))
      .join(' ')}`,
  );
  console.log(`map: ${flowsSeen} flows at most in a round, ${insertFailed} failed inserts`);
  console.log(`probe ns per run, loaded and idle: ${nsList(idle ?? new Map())}`);
  console.log(`probe ns per run, flow view on: ${nsList(on ?? new Map())}`);
  console.log(
    `every-hop streaming: ${(median(hopRates) / 1e6).toFixed(2)}M hops/s median, ${lost} lost in the kernel ring`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
