// What IPv6 parsing (probes/parse6.h) costs the loader's attach, where the verifier checks every program:
// this checkout's loader against another one (e.g. main's), alternated per round, attach_ms from each
// one's ready record; medians and their ratio. Root, under the lab lock (it loads the probe):
//   flock /tmp/pj-lab.lock npx tsx bench/ipv6-attach.ts --base /work/main/probes/build/loader [--rounds 21]
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { arg, median } from './common';
import { LOADER_PATH } from '../server/tracer/loader';

const ROUNDS = arg('rounds', 21);
const baseAt = process.argv.indexOf('--base');
const BASE = baseAt > 0 ? process.argv[baseAt + 1] : undefined;

/** One start: the attach_ms its ready record reports, then stdin closed (the loader exits with it). */
function attachMs(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(path, [], { stdio: ['pipe', 'pipe', 'ignore'] });
    createInterface({ input: p.stdout }).once('line', (l) => {
      const m = /"attach_ms":([\d.]+)/.exec(l);
      p.stdin.end();
      if (m) resolve(Number(m[1]));
      else reject(new Error(`no ready record: ${l.slice(0, 80)}`));
    });
    p.once('error', reject);
  });
}

async function main(): Promise<void> {
  if (!BASE) throw new Error('usage: bench/ipv6-attach.ts --base <other loader> [--rounds N]');
  const base: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // The order alternates, so a warm cache favours neither.
    if (i % 2 === 0) {
      base.push(await attachMs(BASE));
      ours.push(await attachMs(LOADER_PATH));
    } else {
      ours.push(await attachMs(LOADER_PATH));
      base.push(await attachMs(BASE));
    }
  }
  const ratios = ours.map((o, i) => o / (base[i] as number));
  console.log(`rounds ${ROUNDS}`);
  console.log(`base  ${BASE}: attach median ${median(base).toFixed(0)} ms`);
  console.log(`this  ${LOADER_PATH}: attach median ${median(ours).toFixed(0)} ms`);
  console.log(`ratio (paired) median ${median(ratios).toFixed(2)}x`);
}

void main();
