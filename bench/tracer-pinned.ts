// Where unfiltered tracing's cost goes, with the workload and the tracer on separate CPUs: iperf3 (client
// and server) on CPU 0, this process and the loader it spawns on CPU 1. Modes interleaved per round,
// medians; then one pass with kernel.bpf_stats_enabled for the probe's own time per hook run. Root, 2+ CPUs:
//   flock /tmp/pj-lab.lock taskset -c 1 npx tsx bench/tracer-pinned.ts [--rounds 5] [--seconds 3]
import { execFileSync } from 'node:child_process';
import {
  arg,
  iperf as iperfFor,
  iperfServer,
  countingAll,
  median,
  nsList,
  OTHER_FLOW,
  probeNsPerRun,
  whileSubscribed,
} from './common';
import { labUp } from '../server/lab/index';
import { ProbeLoader } from '../server/tracer/loader';

const ROUNDS = arg('rounds', 5);
const SECONDS = arg('seconds', 3);
const iperf = (): Promise<number> => iperfFor(SECONDS, ['taskset', '-c', '0']);

async function main(): Promise<void> {
  const mine = execFileSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' }).trim();
  if (!/: 1$/.test(mine)) throw new Error(`run under \`taskset -c 1\` (this process: ${mine})`);
  execFileSync('make', ['-s', '-C', new URL('../probes', import.meta.url).pathname], { stdio: 'inherit' });
  await labUp();
  const server = await iperfServer(['taskset', '-c', '0']);
  const loader = new ProbeLoader(undefined, 0);
  const discard = new ProbeLoader(undefined, 0, ['--discard']);
  await loader.ensureStarted();
  await discard.ensureStarted();

  const res = { untraced: [] as number[], filtered: [] as number[], probe: [] as number[], server: [] as number[] };
  const rates: number[] = [];
  let lost = 0;
  const modes: Record<keyof typeof res, () => Promise<void>> = {
    untraced: async () => {
      res.untraced.push(await iperf());
    },
    filtered: async () => {
      res.filtered.push(await whileSubscribed(loader, OTHER_FLOW, iperf));
    },
    probe: async () => {
      res.probe.push(await whileSubscribed(discard, {}, iperf));
    },
    server: async () => {
      const c = await countingAll(loader, iperf);
      res.server.push(c.value);
      rates.push(c.rate);
      lost += c.lost;
    },
  };
  const order = Object.keys(modes) as (keyof typeof res)[];
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < order.length; k++) await modes[order[(r + k) % order.length] as keyof typeof res]();
  }

  const results = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, [...v]])) as typeof res;
  // The probe's own time per hook run.
  const [untracedRun = new Map(), tracedRun = new Map()] = await probeNsPerRun([modes.filtered, modes.probe]);
  await loader.stop();
  await discard.stop();
  server.kill();

  const u = median(results.untraced);
  // Paired with the untraced run of the same round, as in tracer-bench.ts.
  const row = (label: string, xs: number[]) =>
    `| ${label} | ${median(xs).toFixed(2)} Gbit/s; **${median(xs.map((x, i) => x / (results.untraced[i] as number))).toFixed(3)}×** paired (${(median(xs) / u).toFixed(3)}× of medians) |`;
  const ns = nsList;
  const lines = [
    '### Unfiltered tracing with the workload and the tracer on separate CPUs',
    '',
    `Command: \`flock /tmp/pj-lab.lock taskset -c 1 npx tsx bench/tracer-pinned.ts --rounds ${ROUNDS} --seconds ${SECONDS}\`. iperf3 client and server on CPU 0; the server side (this process) and the loader on CPU 1. No netfilter links. Medians of ${ROUNDS} rounds, modes interleaved.`,
    '',
    '| iperf3 pod-a → pod-c on CPU 0 | result |',
    '|---|---|',
    `| untraced | ${u.toFixed(2)} Gbit/s |`,
    row('traced, filter on another flow', results.filtered),
    row('traced unfiltered, loader discarding (probe cost only)', results.probe),
    row('traced unfiltered, every hop parsed by the server', results.server),
    '',
    `Hops/s reaching the server in the last mode: ${Math.round(median(rates)).toLocaleString('en')} (${lost.toLocaleString('en')} lost in all rounds).`,
    `Probe time per hook run (ns, kernel.bpf_stats_enabled, one ${SECONDS} s run each): untraced packets (filter on another flow): ${ns(untracedRun)}; every packet traced: ${ns(tracedRun)}.`,
    '',
    `Raw Gbit/s: untraced ${results.untraced.map((x) => x.toFixed(2)).join(', ')}; filtered ${results.filtered.map((x) => x.toFixed(2)).join(', ')}; probe only ${results.probe.map((x) => x.toFixed(2)).join(', ')}; server ${results.server.map((x) => x.toFixed(2)).join(', ')}.`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    execFileSync('sysctl', ['-qw', 'kernel.bpf_stats_enabled=0']);
    process.stderr.write(`tracer pinned bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
