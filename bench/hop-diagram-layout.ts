// Hop-diagram layout cost: layoutJourney (d3-scale + d3-shape, no DOM) per journey, on the recorded
// cross-node ping (22 hops) and on synthetic long journeys, to show live mode can lay out every batch
// it draws well inside one animation frame. Prints a markdown section.
//   npx tsx bench/hop-diagram-layout.ts [runs=5]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Journey, type Hop } from '../server/protocol/tracer';
import { layoutJourney } from '../app/components/hop-diagram/layout';

const RUNS = Number(process.argv[2] ?? 5);
const ping = Journey.parse(
  JSON.parse(
    readFileSync(join(import.meta.dirname, '../app/components/hop-diagram/fixtures/ping-pod-a-pod-c.json'), 'utf8'),
  ),
);

/** A journey through `lanes` namespaces, 3 hops in each, request and reply. */
function synthetic(lanes: number): Journey {
  const names = Array.from({ length: lanes }, (_, i) => `ns-${i}`);
  const base = ping.hops[1] as Hop;
  const path = (order: string[]): Hop[] =>
    order.flatMap((netns, li) => [0, 1, 2].map((k) => ({ ...base, netns, seq: li * 3 + k, tNs: (li * 3 + k) * 1000 })));
  return { ...ping, lanes: names, hops: path(names), reply: { hops: path([...names].reverse()) } };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

function measure(j: Journey): { usPerLayout: number; hops: number } {
  const iters = 2000;
  for (let i = 0; i < 200; i++) layoutJourney(j); // warm up the JIT
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) layoutJourney(j);
    runs.push(Number(process.hrtime.bigint() - t0) / 1000 / iters);
  }
  return { usPerLayout: median(runs), hops: j.hops.length + (j.reply?.hops.length ?? 0) };
}

const cases: [string, Journey][] = [
  ['recorded ping pod-a → pod-c (5 lanes)', ping],
  ['synthetic, 10 lanes', synthetic(10)],
  ['synthetic, 30 lanes', synthetic(30)],
];
console.log(`## hop-diagram layout\n\nMedian of ${RUNS} runs × 2000 layouts, Node ${process.version}.\n`);
console.log('| journey | hops | µs per layout | layouts per 16.7 ms frame |');
console.log('|---|---:|---:|---:|');
for (const [name, j] of cases) {
  const m = measure(j);
  console.log(`| ${name} | ${m.hops} | ${m.usPerLayout.toFixed(1)} | ${Math.floor(16_667 / m.usPerLayout)} |`);
}
