// This checkout's decoder against another checkout's, in one process and in alternation, on the bench mix:
// median milliseconds per round, full tree and light. Less noisy than two bench runs on a shared machine.
//   npx tsx bench/decode-ab.ts OTHER_CHECKOUT [frames=300000] [rounds=8]
import { join, resolve } from 'node:path';
import { decodeFrame } from '../server/capture/decode';
import { benchMix } from '../server/capture/fixtures/frames';

type Decode = typeof decodeFrame;
const other = resolve(process.argv[2] ?? '');
const N = Number(process.argv[3] ?? 300_000);
const ROUNDS = Number(process.argv[4] ?? 8);
const mix = benchMix();

function run(decode: Decode, light: boolean): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const d = mix[i % mix.length] as Uint8Array;
    decode(d, { index: i, linktype: 1, tsSec: 0, tsNsec: 0, len: d.length }, { light });
  }
  return Number(process.hrtime.bigint() - t) / 1e6;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const theirs = ((await import(join(other, 'server/capture/decode/index.ts'))) as { decodeFrame: Decode }).decodeFrame;
const t: Record<'thisFull' | 'otherFull' | 'thisLight' | 'otherLight', number[]> = {
  thisFull: [],
  otherFull: [],
  thisLight: [],
  otherLight: [],
};
for (let r = 0; r < ROUNDS; r++) {
  // Alternate who goes first, so warm-up and noise fall on both.
  const order: [Decode, 'this' | 'other'][] =
    r % 2
      ? [
          [theirs, 'other'],
          [decodeFrame, 'this'],
        ]
      : [
          [decodeFrame, 'this'],
          [theirs, 'other'],
        ];
  for (const light of [false, true])
    for (const [d, side] of order) t[`${side}${light ? 'Light' : 'Full'}`].push(run(d, light));
}
const row = (k: keyof typeof t): string => `${median(t[k]).toFixed(0)} ms`;
console.log(
  `${N} frames, median of ${ROUNDS}: full ${row('thisFull')} vs ${row('otherFull')} (${(median(t.thisFull) / median(t.otherFull)).toFixed(2)}×), ` +
    `light ${row('thisLight')} vs ${row('otherLight')} (${(median(t.thisLight) / median(t.otherLight)).toFixed(2)}×)`,
);
