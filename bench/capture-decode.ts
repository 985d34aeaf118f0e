// Decoder throughput: packets/s decoding one large pcap in TypeScript, against `tshark -r` and
// `tcpdump -r -e -n -v` on the same file, in the same run. Prints a markdown section.
//   npx tsx bench/capture-decode.ts [packets=200000] [runs=3]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFrame } from '../server/capture/decode';
import { benchMix } from '../server/capture/fixtures/frames';
import { readCaptureFile, writePcap } from '../server/capture/pcap';

const N = Number(process.argv[2] ?? 200_000);
const RUNS = Number(process.argv[3] ?? 3);

const mix = benchMix();

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

const dir = mkdtempSync(join(tmpdir(), 'pjt-capture-bench-'));
const file = join(dir, 'big.pcap');
try {
  writeFileSync(
    file,
    writePcap(
      1,
      Array.from({ length: N }, (_, i) => ({
        data: mix[i % mix.length] as Uint8Array,
        tsSec: 1700000000 + Math.floor(i / 1000),
        tsNsec: (i % 1000) * 1000,
      })),
    ),
  );
  const size = readFileSync(file).length;

  let dsr = 0;
  const ours: number[] = [];
  const light: number[] = [];
  const tshark: number[] = [];
  const tcpdump: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    ours.push(
      time(() => {
        const f = readCaptureFile(readFileSync(file));
        dsr = 0;
        f.records.forEach((rec, i) => {
          const p = decodeFrame(rec.data, {
            index: i,
            linktype: 1,
            tsSec: rec.tsSec,
            tsNsec: rec.tsNsec,
            len: rec.len,
          });
          if (p.dsr) dsr++;
        });
      }),
    );
    light.push(
      time(() => {
        const f = readCaptureFile(readFileSync(file));
        f.records.forEach((rec, i) =>
          decodeFrame(
            rec.data,
            { index: i, linktype: 1, tsSec: rec.tsSec, tsNsec: rec.tsNsec, len: rec.len },
            { light: true },
          ),
        );
      }),
    );
    tshark.push(time(() => void spawnSync('tshark', ['-n', '-r', file], { stdio: ['ignore', 'ignore', 'ignore'] })));
    tcpdump.push(
      time(() => void spawnSync('tcpdump', ['-n', '-e', '-v', '-r', file], { stdio: ['ignore', 'ignore', 'ignore'] })),
    );
  }
  const tv = (
    execFileSync('tshark', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] ??
    ''
  ).replace(/ \(Git.*$/, '');
  const pps = (s: number): string => `${Math.round(N / s).toLocaleString('en-US')}`;
  const o = median(ours);
  const l = median(light);
  const t = median(tshark);
  const d = median(tcpdump);
  process.stdout.write(
    [
      `### Decoder throughput (${N.toLocaleString('en-US')} packets, ${(size / 1048576).toFixed(1)} MiB pcap, median of ${RUNS} runs)`,
      '',
      `Mix: seed 000 DSR SYN, VXLAN, Geneve+DSR, IPv6+DestOpt DSR, ICMPv6 NS, ARP, TCP 1200 B, TCP ACK. ${dsr.toLocaleString('en-US')} DSR packets found.`,
      '',
      '| decoder | seconds | packets/s | vs tshark |',
      '|---|---:|---:|---:|',
      `| packet-journey (TS, full field tree with byte ranges) | ${o.toFixed(2)} | ${pps(o)} | ${(t / o).toFixed(2)}× |`,
      `| packet-journey light (summary + DSR only: what the live list uses) | ${l.toFixed(2)} | ${pps(l)} | ${(t / l).toFixed(2)}× |`,
      `| \`tshark -n -r\` (${tv}) | ${t.toFixed(2)} | ${pps(t)} | 1.00× |`,
      `| \`tcpdump -n -e -v -r\` | ${d.toFixed(2)} | ${pps(d)} | ${(t / d).toFixed(2)}× |`,
      '',
    ].join('\n'),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
