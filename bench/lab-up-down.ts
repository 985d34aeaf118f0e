// Median time of `lab up --scenario X` (from nothing), the idempotent re-up, and `lab down`, for every
// scenario, over N rounds. Scenarios take turns within each round, so machine noise hits them alike.
// In-process: the CLI's own ~1 s tsx start-up is not the lab.
// Run: flock /tmp/pj-lab.lock npx tsx bench/lab-up-down.ts [runs] [scenario …]
import { writeFileSync } from 'node:fs';
import { labDown, labUp } from '../server/lab';
import { LabScenario } from '../server/protocol/lab';
import { median } from './common';

const runs = Number(process.argv[2] ?? 10);
const picked = process.argv.slice(3).map((s) => LabScenario.parse(s));
const scenarios = picked.length > 0 ? picked : LabScenario.options;

type Times = { up: number[]; again: number[]; down: number[] };
const times = new Map<LabScenario, Times>(scenarios.map((s) => [s, { up: [], again: [], down: [] }]));

await labDown();
for (let i = 0; i < runs; i++) {
  for (const scenario of scenarios) {
    const t = times.get(scenario) as Times;
    let t0 = performance.now();
    await labUp({ scenario });
    t.up.push(performance.now() - t0);
    t0 = performance.now();
    await labUp({ scenario });
    t.again.push(performance.now() - t0);
    t0 = performance.now();
    await labDown();
    t.down.push(performance.now() - t0);
  }
}
const fmt = (xs: number[]) =>
  `${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
const rows = scenarios.map((s) => {
  const t = times.get(s) as Times;
  const met = median(t.up) < 1000 ? 'met' : 'missed';
  return `| ${s} | ${fmt(t.up)} | ${met} | ${fmt(t.again)} | ${fmt(t.down)} |`;
});
const md = `## Lab up/down per scenario

Command: \`flock /tmp/pj-lab.lock npx tsx bench/lab-up-down.ts ${runs}\` (${new Date().toISOString().slice(0, 10)}, ${runs} rounds, scenarios in turn, 2-core VM)

| scenario | \`lab up --scenario\` from nothing (target < 1 s) | | re-up when already up | \`lab down\` (until gone) |
|---|---|---|---|---|
${rows.join('\n')}
`;
writeFileSync('bench/results/lab.md', md);
process.stdout.write(md);
