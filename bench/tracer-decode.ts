// The server's cost to take in the loader's packed batches, without the kernel or another process in the
// way: the recorded ping's hops (server/tracer/fixtures/ping-pod-a-pod-c.ndjson, 60 hops) repeated into
// lines of ~4,400 hops, as a busy 2 ms drain prints them, parsed with parseLoaderLine. Beside it, the
// floor any decoder pays for this wire format: JSON.parse of the line plus the base64 decode.
//   npx tsx bench/tracer-decode.ts [--lines 100] [--runs 9]
import { readFileSync } from 'node:fs';
import { parseLoaderLine } from '../server/tracer/ndjson';
import { arg, median } from './common';

const LINES = arg('lines', 100);
const RUNS = arg('runs', 9);
const HOPS_PER_LINE = 4400;

type Batch = { n: number; data: string; loc?: [number, string][] };
const [readyLine, ...batchLines] = readFileSync(
  new URL('../server/tracer/fixtures/ping-pod-a-pod-c.ndjson', import.meta.url),
  'utf8',
)
  .split('\n')
  .filter(Boolean);
const ready = parseLoaderLine(readyLine ?? '');
if (ready?.type !== 'ready' || !ready.tables) throw new Error('fixture has no ready record with tables');
const tables = ready.tables;
// Every recorded batch as one run of events, then repeated.
const batches = batchLines.map((l) => JSON.parse(l) as Batch);
const recorded: Batch = {
  n: batches.reduce((a, b) => a + b.n, 0),
  data: Buffer.concat(batches.map((b) => Buffer.from(b.data, 'base64'))).toString('base64'),
  loc: batches.flatMap((b, k) => {
    const before = batches.slice(0, k).reduce((a, x) => a + x.n, 0);
    return (b.loc ?? []).map(([i, s]): [number, string] => [before + i, s]);
  }),
};
const repeat = Math.max(1, Math.round(HOPS_PER_LINE / recorded.n));
const events = Buffer.from(recorded.data, 'base64');
const n = recorded.n * repeat;
const line = JSON.stringify({
  type: 'hops',
  n,
  data: Buffer.concat(Array.from({ length: repeat }, () => events)).toString('base64'),
  loc: Array.from({ length: repeat }, (_, r) => (recorded.loc ?? []).map(([i, s]) => [r * recorded.n + i, s])).flat(),
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
    `Command: \`npx tsx bench/tracer-decode.ts --lines ${LINES} --runs ${RUNS}\`. ${LINES} lines of ${n.toLocaleString('en')} hops (the recorded ping's hops repeated), medians of ${RUNS} runs.`,
    '',
    '| per hop | time |',
    '|---|---|',
    `| \`parseLoaderLine\`: zod envelope, base64, decode into HopEvent objects | ${fmt(decoded)} |`,
    `| floor of the wire format: \`JSON.parse\` + base64 decode only | ${fmt(floor)} |`,
    '',
  ].join('\n'),
);
