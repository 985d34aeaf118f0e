// Kernel -> server hop rate under an offered-load sweep: pings from pod-a to pod-c at fixed intervals,
// every hop (device tracepoints and netfilter links in every namespace) streamed through the loader's
// NDJSON into this process. A saturating flood (tracer-bench.ts) measures the server while the traffic
// generator starves it of CPU; this finds the rate the pipeline sustains without loss on 2 cores.
//   flock /tmp/pj-lab.lock npx tsx bench/tracer-rate.ts [--seconds 3] [--rounds 3]
// Prints a markdown section (kept in bench/results/tracer.md).
import { labUp } from '../server/lab';
import { arg, median, run } from './common';
import { ProbeLoader } from '../server/tracer/loader';
import { namedNamespaces } from '../server/topology/namespaces';

const SECONDS = arg('seconds', 3);
const ROUNDS = arg('rounds', 3);
// ping intervals in ms: 1 ms offers ~60k hops/s; below ~0.5 ms iputils ping runs at its ceiling
// (~20k echo/s here, ~1.1M hops/s with the netfilter sightings), past what one core can parse.
const INTERVALS = [1, 0.2, 0.05];
await labUp();
const loader = new ProbeLoader(undefined, 0);
await loader.ensureStarted();
const nf = await loader.attachNetfilter(await namedNamespaces());

interface Point {
  readonly pps: number;
  readonly offered: number;
  readonly delivered: number;
  readonly lossPct: number;
  readonly cpuPct: number;
}
const rows: { intervalMs: number; point: Point }[] = [];
for (const intervalMs of INTERVALS) {
  const pts: Point[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const s0 = await loader.stats();
    const sub = await loader.subscribe({}, () => n++);
    const t = performance.now();
    const cpu0 = process.cpuUsage();
    // Spawned, not execFileSync: a blocked event loop would stop reading the loader's pipe for the
    // whole run and turn every hop past the buffers into a loss.
    const out = await run('nsenter', [
      '--net=/var/run/netns/pod-a',
      '--',
      'ping',
      '-q',
      '-i',
      String(intervalMs / 1000),
      '-w',
      String(SECONDS),
      '10.244.2.2',
    ]);
    await loader.sync();
    const secs = (performance.now() - t) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await sub.close();
    const s1 = await loader.stats();
    const sent = Number(/(\d+) packets transmitted/.exec(out)?.[1] ?? 0);
    const lost = s1.lost - s0.lost;
    pts.push({
      pps: sent / secs,
      offered: (n + lost) / secs,
      delivered: n / secs,
      lossPct: (100 * lost) / Math.max(1, n + lost),
      cpuPct: (100 * (cpu.user + cpu.system)) / 1e6 / secs,
    });
  }
  const med = (f: (p: Point) => number) => median(pts.map(f));
  rows.push({
    intervalMs,
    point: {
      pps: med((p) => p.pps),
      offered: med((p) => p.offered),
      delivered: med((p) => p.delivered),
      lossPct: med((p) => p.lossPct),
      cpuPct: med((p) => p.cpuPct),
    },
  });
}
await nf.release();
await loader.stop();

const k = (x: number) => `${(x / 1000).toFixed(0)}k`;
const md = [
  '### Hop rate under offered load',
  '',
  `Command: \`flock /tmp/pj-lab.lock npx tsx bench/tracer-rate.ts --seconds ${SECONDS} --rounds ${ROUNDS}\`. Pings pod-a → pod-c at a fixed interval, unfiltered, netfilter links in every namespace, every hop parsed into this process. Medians of ${ROUNDS} runs of ${SECONDS} s.`,
  '',
  '| ping interval | pings/s | hops/s offered by the kernel | hops/s reaching the server | lost | server CPU |',
  '|---|---:|---:|---:|---:|---:|',
  ...rows.map(
    ({ intervalMs, point: p }) =>
      `| ${intervalMs} ms | ${k(p.pps)} | ${k(p.offered)} | **${k(p.delivered)}** | ${p.lossPct.toFixed(2)}% | ${p.cpuPct.toFixed(0)}% of a core |`,
  ),
  '',
].join('\n');
process.stdout.write(md);
