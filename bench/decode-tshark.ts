// The decoder on the tshark differential corpus (server/capture/fixtures/tshark-diff.ts): the agreement
// with tshark, frame by frame, and packets/s against `tshark -n -r` on the corpus's Ethernet frames
// repeated to N packets (recorded, crafted, cut and corrupted), median of RUNS runs. Prints a markdown section.
//   npx tsx bench/decode-tshark.ts [packets=100000] [runs=3]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFrame, LINKTYPE } from '../server/capture/decode';
import { compare, corpus, FIELDS } from '../server/capture/fixtures/tshark-diff';
import { readCaptureFile, writePcap } from '../server/capture/pcap';

const N = Number(process.argv[2] ?? 100_000);
const RUNS = Number(process.argv[3] ?? 3);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

const dir = mkdtempSync(join(tmpdir(), 'pjt-dec-bench-'));
try {
  const files = corpus();
  const { frames, diffs } = compare(files, dir);
  const disagreeing = new Set(diffs.map((d) => `${d.file}#${d.index}`)).size;
  const fieldsCompared = frames * FIELDS.length;

  const eth = files.filter((f) => f.linktype === LINKTYPE.ETHERNET).flatMap((f) => f.frames);
  const file = join(dir, 'corpus-x.pcap');
  writeFileSync(
    file,
    writePcap(
      LINKTYPE.ETHERNET,
      Array.from({ length: N }, (_, i) => {
        const f = eth[i % eth.length] as (typeof eth)[number];
        return { data: f.data, len: f.len, tsSec: 1700000000 + Math.floor(i / 1000), tsNsec: (i % 1000) * 1000 };
      }),
    ),
  );
  const size = readFileSync(file).length;
  const run = (light: boolean): number =>
    time(() => {
      const f = readCaptureFile(readFileSync(file));
      f.records.forEach((rec, i) =>
        decodeFrame(rec.data, { index: i, linktype: 1, tsSec: rec.tsSec, tsNsec: rec.tsNsec, len: rec.len }, { light }),
      );
    });
  const ours: number[] = [];
  const light: number[] = [];
  const tshark: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    ours.push(run(false));
    light.push(run(true));
    tshark.push(time(() => void spawnSync('tshark', ['-n', '-r', file], { stdio: ['ignore', 'ignore', 'ignore'] })));
  }
  const tv = (execFileSync('tshark', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '').replace(
    / \(Git.*$/,
    '',
  );
  const pps = (s: number): string => Math.round(N / s).toLocaleString('en-US');
  const [o, l, t] = [median(ours), median(light), median(tshark)];
  process.stdout.write(
    [
      `### Against tshark on the differential corpus (${frames} frames; ${N.toLocaleString('en-US')} packets, ${(size / 1048576).toFixed(1)} MiB, median of ${RUNS} runs)`,
      '',
      `Agreement: ${frames - disagreeing} of ${frames} frames identical on every compared field (${((100 * (frames - disagreeing)) / frames).toFixed(1)}%); ` +
        `${diffs.length} of ${fieldsCompared.toLocaleString('en-US')} field lists differ (${((100 * (fieldsCompared - diffs.length)) / fieldsCompared).toFixed(2)}% agree), all of them explained in decode-tshark.test.ts.`,
      '',
      '| decoder | seconds | packets/s | vs tshark |',
      '|---|---:|---:|---:|',
      `| packet-journey (full field tree) | ${o.toFixed(2)} | ${pps(o)} | ${(t / o).toFixed(2)}× |`,
      `| packet-journey light (live list) | ${l.toFixed(2)} | ${pps(l)} | ${(t / l).toFixed(2)}× |`,
      `| \`tshark -n -r\` (${tv}) | ${t.toFixed(2)} | ${pps(t)} | 1.00× |`,
      '',
    ].join('\n'),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
