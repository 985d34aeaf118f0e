// What a pcap-filter expression in the probe costs traffic it does not match (issue 14), side by side in
// one run: iperf3 pod-a -> pod-c untraced, and with a live view filtered on another flow, paired per round
// (the order alternates), median ratio with a 95% interval; then each device program's time per run
// (kernel.bpf_stats_enabled) with that filter. In a build without expressions (before issue 14) the same
// flow is given as the structured filter, so bench/side-by-side.sh compares the two kernels' filter paths.
// Root, under the lab lock:
//   flock /tmp/pj-lab.lock npx tsx bench/pcap-filter.ts [--rounds 21] [--seconds 2]
// PJ_BENCH_EXPR=EXPR measures another expression (e.g. `ip and not ip`, one `ret #0`: the fixed cost).
import { execFileSync } from 'node:child_process';
import { arg, iperf, iperfServer, median, nsList, probeNsPerRun } from './common';
import { labUp } from '../server/lab/index';
import * as loaderModule from '../server/tracer/loader';

const ROUNDS = arg('rounds', 21);
const SECONDS = arg('seconds', 2);
const hasExpr = 'compileKernelFilter' in loaderModule;
/** Another flow: a host and port nobody talks to, so every first sighting runs the filter and fails it. */
const OTHER: loaderModule.KernelFilter = hasExpr
  ? ({ expr: process.env.PJ_BENCH_EXPR ?? 'host 10.244.9.9 and tcp port 9' } as loaderModule.KernelFilter)
  : { proto: 6, addrA: '10.244.9.9', port: 9 };

/** The distribution-free 95% interval of a median: order statistics from the binomial(n, 1/2). */
function medianInterval(xs: readonly number[]): [number, number] {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  let k = 0;
  let cum = 0;
  let c = 1; // C(n, i)
  for (let i = 0; i < n; i++) {
    cum += c / 2 ** n;
    if (cum > 0.025) break;
    k = i + 1;
    c = (c * (n - i)) / (i + 1);
  }
  // Coverage 1 - 2·P(X < k) ≥ 95% for [x_(k), x_(n-k+1)], 1-based (21 rounds: the 6th and 16th).
  return k === 0 ? [s[0] as number, s[n - 1] as number] : [s[k - 1] as number, s[n - k] as number];
}

async function main(): Promise<void> {
  execFileSync('make', ['-s', '-C', new URL('../probes', import.meta.url).pathname], { stdio: 'inherit' });
  await labUp();
  const server = await iperfServer();
  const loader = new loaderModule.ProbeLoader(undefined, 0);
  await loader.ensureStarted();
  const filtered = async (): Promise<number> => {
    const s = await loader.subscribe(OTHER, () => undefined, { live: true });
    try {
      return await iperf(SECONDS);
    } finally {
      await s.close();
    }
  };
  const base: number[] = [];
  const live: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      base.push(await iperf(SECONDS));
      live.push(await filtered());
    } else {
      live.push(await filtered());
      base.push(await iperf(SECONDS));
    }
  }
  const [stats] = await probeNsPerRun([filtered], 1000);
  await loader.stop();
  server.kill();

  const ratios = live.map((x, i) => x / (base[i] as number));
  const [lo, hi] = ratios.length > 0 ? medianInterval(ratios) : [NaN, NaN];
  console.log(`filter: ${hasExpr ? `expression "${(OTHER as { expr: string }).expr}"` : 'structured proto/addr/port'}`);
  console.log(`iperf3 untraced: median ${median(base).toFixed(2)} Gbit/s over ${ROUNDS} rounds of ${SECONDS} s`);
  console.log(`live view on another flow: median ${median(live).toFixed(2)} Gbit/s`);
  console.log(`probe time per run: ${nsList(stats ?? new Map())}`);
  console.log(
    `paired ratio (live view / untraced): median ${median(ratios).toFixed(3)}×, 95% interval [${lo.toFixed(3)}, ${hi.toFixed(3)}], n=${ratios.length}`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
