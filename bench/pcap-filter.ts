// What a pcap-filter expression in the probe costs traffic it does not match (issue 14), side by side with
// another checkout's probe (main: the structured filter) in one run. Each round measures iperf3 pod-a ->
// pod-c three ways, in a rotating order: untraced (no loader), the other checkout's loader with its
// structured filter on another flow, and this checkout's loader with the expression for that flow; each
// filtered measure starts its loader, gives slot 0 the filter (a live view's budget=10/50, as the UI's
// view has), runs iperf3, then stops it, so only one probe is ever attached. Paired per round: median
// ratio with a 95% interval; each loader's attach time (its ready record's attach_ms); then, with
// kernel.bpf_stats_enabled, each device program's time per run on each side.
// Root, under the lab lock:
//   flock /tmp/pj-lab.lock npx tsx bench/pcap-filter.ts --other /tmp/main-export [--rounds 21] [--seconds 2]
// The other checkout needs its probe built (make -C probes). PJ_BENCH_EXPR=EXPR measures another
// expression (its structured twin for the other side: PJ_BENCH_OTHER="proto=6 port=9"); PJ_BENCH_OTHER=same
// gives the other side this side's expression, to compare two builds of the same probe.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { labUp } from '../server/lab/index';
import { filterCommand, LOADER_PATH } from '../server/tracer/loader';
import { compileFilter } from '../server/tracer/pcap-filter';
import { arg, iperf, iperfServer, median, nsList, probeNsPerRun } from './common';

const ROUNDS = arg('rounds', 21);
const SECONDS = arg('seconds', 2);
const oi = process.argv.indexOf('--other');
const OTHER = oi >= 0 ? process.argv[oi + 1] : undefined;
if (!OTHER || !Number.isInteger(ROUNDS) || ROUNDS < 6) {
  process.stderr.write('usage: npx tsx bench/pcap-filter.ts --other CHECKOUT [--rounds 21] [--seconds 2]\n');
  process.exit(2);
}
/** Another flow: a host and port nobody talks to, so every first sighting runs the filter and fails it. */
const EXPR = process.env.PJ_BENCH_EXPR ?? 'host 10.244.9.9 and tcp port 9';
const OTHER_FILTER = process.env.PJ_BENCH_OTHER ?? 'proto=6 addr_a=10.244.9.9 port=9';
const BUDGET = 'budget=10/50';
const SETTLE_MS = 300;

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

/** Starts a loader (--discard: events counted, not printed), gives slot 0 `filter`, runs `fn`, stops it. */
async function withLoader<T>(
  path: string,
  filter: string,
  fn: () => Promise<T>,
): Promise<{ value: T; attachMs: number }> {
  const p = spawn(path, ['--discard'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: p.stdout });
  const next = (want: (l: string) => boolean): Promise<string> =>
    new Promise((resolve, reject) => {
      const on = (l: string): void => {
        if (!want(l)) return;
        lines.off('line', on);
        resolve(l);
      };
      lines.on('line', on);
      p.once('exit', (code) => reject(new Error(`${path} exited ${code}`)));
    });
  try {
    const ready = JSON.parse(await next((l) => l.includes('"type":"ready"'))) as { attach_ms: number };
    p.stdin.write(`1 ${filter}\n`);
    const ack = JSON.parse(await next((l) => l.includes('"type":"ack"'))) as { ok: boolean; error?: string };
    if (!ack.ok) throw new Error(`${path}: filter refused: ${ack.error ?? '?'}`);
    // The steady state of a live view is what is measured: the loader's own start-up (its kallsyms read,
    // on a thread of its own) is not part of it.
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return { value: await fn(), attachMs: ready.attach_ms };
  } finally {
    const done = new Promise((r) => p.once('close', r));
    p.stdin.end(); // EOF: it detaches and exits
    await done;
  }
}

async function main(): Promise<void> {
  await labUp();
  const server = await iperfServer();
  const compiled = await compileFilter(EXPR);
  const thisCmd = `${filterCommand(0, compiled, {})} ${BUDGET}`;
  const otherCmd = OTHER_FILTER === 'same' ? thisCmd : `filter 0 ${OTHER_FILTER} ${BUDGET}`;
  const thisLoader = LOADER_PATH;
  const otherLoader = join(OTHER as string, 'probes', 'build', 'loader');
  const sides = {
    base: () => iperf(SECONDS),
    other: async () => {
      const r = await withLoader(otherLoader, otherCmd, () => iperf(SECONDS));
      attach.other.push(r.attachMs);
      return r.value;
    },
    this: async () => {
      const r = await withLoader(thisLoader, thisCmd, () => iperf(SECONDS));
      attach.this.push(r.attachMs);
      return r.value;
    },
  };
  const attach = { other: [] as number[], this: [] as number[] };
  const got = { base: [] as number[], other: [] as number[], this: [] as number[] };
  const names = ['base', 'other', 'this'] as const;
  for (let r = 0; r < ROUNDS; r++)
    for (let i = 0; i < 3; i++) {
      const side = names[(r + i) % 3] as (typeof names)[number];
      got[side].push(await sides[side]());
    }
  const stats = await probeNsPerRun(
    [
      () => withLoader(otherLoader, otherCmd, () => iperf(SECONDS)),
      () => withLoader(thisLoader, thisCmd, () => iperf(SECONDS)),
    ],
    1000,
  );
  server.kill();

  const ratio = (xs: readonly number[], ys: readonly number[]): string => {
    const rs = xs.map((x, i) => x / (ys[i] as number));
    const [lo, hi] = medianInterval(rs);
    return `${median(rs).toFixed(3)}× [${lo.toFixed(3)}, ${hi.toFixed(3)}]`;
  };
  const ms = (xs: readonly number[]): string => {
    const [lo, hi] = medianInterval(xs);
    return `${median(xs).toFixed(0)} ms [${lo.toFixed(0)}, ${hi.toFixed(0)}]`;
  };
  console.log(`this: expression "${EXPR}" (${thisCmd.replace(/l[23]=[0-9a-f]*/g, (m) => `${m.slice(0, 3)}…`)})`);
  console.log(`other (${OTHER}): ${otherCmd}`);
  console.log(`${ROUNDS} rounds of ${SECONDS} s; medians, 95% intervals; ratios paired per round`);
  console.log(`iperf3 untraced: ${median(got.base).toFixed(2)} Gbit/s`);
  console.log(
    `other filtered: ${median(got.other).toFixed(2)} Gbit/s, ratio to untraced ${ratio(got.other, got.base)}`,
  );
  console.log(`this filtered: ${median(got.this).toFixed(2)} Gbit/s, ratio to untraced ${ratio(got.this, got.base)}`);
  console.log(`this / other: ${ratio(got.this, got.other)}`);
  console.log(
    `attach_ms: other ${ms(attach.other)}, this ${ms(attach.this)}, this/other ${ratio(attach.this, attach.other)}`,
  );
  console.log(`probe ns per run: other ${nsList(stats[0] ?? new Map())}; this ${nsList(stats[1] ?? new Map())}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
