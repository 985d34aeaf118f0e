// Median time of `lab up` and `lab down` over N runs (in-process: the CLI's own ~1 s tsx start-up is not the lab).
// Run: flock /tmp/pj-lab.lock npx tsx bench/lab-up-down.ts [runs]
import { writeFileSync } from 'node:fs';
import { labDown, labUp } from '../server/lab';

const runs = Number(process.argv[2] ?? 10);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

await labDown();
const up: number[] = [];
const again: number[] = [];
const down: number[] = [];
for (let i = 0; i < runs; i++) {
  let t = performance.now();
  await labUp();
  up.push(performance.now() - t);
  t = performance.now();
  await labUp();
  again.push(performance.now() - t);
  t = performance.now();
  await labDown();
  down.push(performance.now() - t);
}
const fmt = (xs: number[]) =>
  `${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
const md = `## Lab up/down

Command: \`flock /tmp/pj-lab.lock npx tsx bench/lab-up-down.ts ${runs}\` (${new Date().toISOString().slice(0, 10)}, ${runs} runs, 2-core VM)

| measure | median | target |
|---|---|---|
| \`lab up\` from nothing | ${fmt(up)} | < 1 s |
| \`lab up\` when already up (idempotent check) | ${fmt(again)} | — |
| \`lab down\` (until namespaces and processes are gone) | ${fmt(down)} | — |
`;
writeFileSync('bench/results/lab.md', md);
process.stdout.write(md);
