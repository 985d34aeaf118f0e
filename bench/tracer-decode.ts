// The server's cost to take in the loader's packed batches, without the kernel or another process in the
// way: the recorded batch (server/tracer/fixtures/ping-batch.ndjson, 22 hops) repeated into lines of
// ~4,400 hops, as a busy 2 ms drain prints them, parsed with parseLoaderLine. Beside it, the floor any
// decoder pays for this wire format: JSON.parse of the line plus the base64 decode.
//   npx tsx bench/tracer-decode.ts [--lines 100] [--runs 9]
import { readFileSync } from 'node:fs';
import { parseLoaderLine } from '../server/tracer/ndjson';
import { arg, median } from './common';

const LINES = arg('lines', 100);
const RUNS = arg('runs', 9);
const REPEAT = 200;

const recorded = readFileSync(new URL('../server/tracer/fixtures/ping-batch.ndjson', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean);
const ready = parseLoaderLine(recorded[0] as string);
if (ready?.type !== 'ready' || !ready.tables) throw new Error('fixture has no ready record with tables');
const tables = ready.tables;
const batch = JSON.parse(recorded[1] as string) as { n: number; data: string; loc?: [number, string][] };
const events = Buffer.from(batch.data, 'base64');
const n = batch.n * REPEAT;
const line = JSON.stringify({
  type: 'hops',
  n,
  data: Buffer.concat(Array.from({ length: REPEAT }, () => events)).toString('base64'),
  loc: Array.from({ length: REPEAT }, (_, r) => (batch.loc ?? []).map(([i, s]) => [r * batch.n + i, s])).flat(),
});
const lines = Array.from({ length: LINES }, () => line);

function perHop(fn: (l: string) => number): number[] {
  const out: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let hops = 0;
    const t = performance.now();
    for (const l of lines) hops += fn(l);
    out.push(((performance.now() - t) * 1000) / hops);
  }
  return out;
}

const decoded = perHop((l) => {
  const rec = parseLoaderLine(l, tables);
  if (rec?.type !== 'hops') throw new Error('batch did not parse');
  return rec.hops.length;
});
const floor = perHop((l) => {
  const raw = JSON.parse(l) as { n: number; data: string };
  return Buffer.from(raw.data, 'base64').length > 0 ? raw.n : 0;
});

const fmt = (xs: number[]) => `${median(xs).toFixed(3)} µs (min ${Math.min(...xs).toFixed(3)})`;
process.stdout.write(
  [
    '### Server decode of packed batches (no kernel)',
    '',
    `Command: \`npx tsx bench/tracer-decode.ts --lines ${LINES} --runs ${RUNS}\`. ${LINES} lines of ${n.toLocaleString('en')} hops (the recorded ICMP batch repeated), medians of ${RUNS} runs.`,
    '',
    '| per hop | time |',
    '|---|---|',
    `| \`parseLoaderLine\`: zod envelope, base64, decode into HopEvent objects | ${fmt(decoded)} |`,
    `| floor of the wire format: \`JSON.parse\` + base64 decode only | ${fmt(floor)} |`,
    '',
  ].join('\n'),
);
