// follow's end-to-end latency with a warm shared loader: ICMP pod-a -> pod-c and TCP pod-a -> the echo
// ClusterIP, each `--runs` times after one warm-up. Prints one JSON line of medians (ms), so that
// bench/side-by-side.sh can run it in two trees in alternation. Root; it brings the lab up and down.
//   flock /tmp/pj-lab.lock npx tsx bench/follow-latency.ts [--runs 15]
import { labDown, labUp } from '../server/lab/index';
import { follow, getLoader } from '../server/tracer/index';
import { arg, median } from './common';

const RUNS = arg('runs', 15);

async function timed(req: { from: string; to: string; proto?: 'icmp' | 'tcp'; port?: number }): Promise<number[]> {
  const loader = getLoader();
  const out: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const t = performance.now();
    const j = await follow(req, { loader });
    if (!j.delivered) throw new Error(`follow ${req.from} -> ${req.to} not delivered during bench`);
    if (i > 0) out.push(performance.now() - t); // the first one warms the loader and the name caches
  }
  return out;
}

async function main(): Promise<void> {
  await labUp();
  const icmp = await timed({ from: 'pod-a', to: 'pod-c' });
  const tcp = await timed({ from: 'pod-a', to: '10.96.0.10', proto: 'tcp', port: 80 });
  await getLoader().stop();
  await labDown(); // leave the machine as the bench found it for the next side's run
  const r = (x: number): number => Math.round(x * 10) / 10;
  process.stdout.write(JSON.stringify({ icmpMs: r(median(icmp)), tcpMs: r(median(tcp)), runs: RUNS }) + '\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`follow latency bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
