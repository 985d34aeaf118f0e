// Record and replay: how big a class's recording is, and what saving and opening it cost. The real
// recorder (server/replay/recorder.ts) is fed a session made of recorded lab data, as the server's
// streams would feed it: `--follows` pod-a → pod-c journeys (the committed fixture, a new id each), each
// stepped through `--steps` hops by the instructor with two tab switches, a topology change every 5
// follows (the lab's iproute2 fixtures), and `--captures` saved captures of `--packets` frames (the lab
// corpus pcap) with a note every 10th packet. Then `openReplay` reads it back as `serve --replay` does.
// No root, no lab.
//   npx tsx bench/replay-size.ts [--follows 30] [--steps 22] [--captures 3] [--packets 200] [--runs 5]
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readCaptureFile } from '../server/capture/pcap';
import { writePcapng } from '../server/capture/pcapng-writer';
import type { ClassView } from '../server/protocol/classroom';
import type { LabStatus } from '../server/protocol/lab';
import { Topology } from '../server/protocol/topology';
import { Journey } from '../server/protocol/tracer';
import { openReplay } from '../server/replay';
import { startRecording } from '../server/replay/recorder';
import { buildNamespaces, type NsMeta } from '../server/topology/graph';
import { parseFdb, parseIpBatch } from '../server/topology/iproute';
import { arg, median } from './common';
import { emptyLab } from '../server/replay/test-fixtures';

const follows = arg('follows', 30);
const steps = arg('steps', 22);
const nCaptures = arg('captures', 3);
const packets = arg('packets', 200);
const runs = arg('runs', 5);

const root = join(import.meta.dirname, '..');
const fx = (p: string): string => readFileSync(join(root, p), 'utf8');
const ns = (meta: NsMeta, ip: string, fdb?: string) => ({
  meta,
  snap: parseIpBatch(fx(`server/topology/fixtures/${ip}`)),
  ...(fdb ? { fdb: parseFdb(fx(`server/topology/fixtures/${fdb}`)).entries } : {}),
});
const all = [
  ns({ name: 'host', inode: 1, source: 'host' }, 'lab-host.ip.ndjson', 'lab-host.fdb.json'),
  ns({ name: 'node1', inode: 2, source: 'named', netnsName: 'node1' }, 'lab-node1.ip.ndjson', 'lab-node1.fdb.json'),
  ns({ name: 'pod-a', inode: 3, source: 'named', netnsName: 'pod-a' }, 'lab-pod-a.ip.ndjson'),
  ns({ name: 'pod-b', inode: 4, source: 'named', netnsName: 'pod-b' }, 'lab-pod-b.ip.ndjson'),
];
const topo = (i: number): Topology =>
  Topology.parse({
    namespaces: buildNamespaces(i % 2 ? all : all.slice(0, 3)),
    warnings: [],
    discoveredAt: i,
    durationMs: 10,
  });
const journey = Journey.parse(JSON.parse(fx('app/components/hop-diagram/fixtures/ping-pod-a-pod-c.json')));
const lab: LabStatus = emptyLab(true);
const corpus = readCaptureFile(readFileSync(join(root, 'server/capture/fixtures/corpus-lab-eth.pcap')));
const capture = writePcapng((w) => {
  const id = w.iface('node1', 'veth-pod-a', 1, 262144);
  for (let i = 0; i < packets; i++) w.packetWithComments(id, corpus.records[i % corpus.records.length]!, []);
});
const notes = Object.fromEntries(
  Array.from({ length: Math.ceil(packets / 10) }, (_, i) => [
    String(i * 10),
    [{ source: 'note' as const, text: `note ${i}` }],
  ]),
);

async function once(
  dir: string,
): Promise<{ file: number; raw: number; saveMs: number; openMs: number; entries: number }> {
  let now = 0;
  let topoFn: ((t: Topology) => void) | undefined;
  let journeyFn: ((j: Journey) => void) | undefined;
  let view: ClassView | null = null;
  const file = join(dir, `class-${Math.random().toString(36).slice(2)}.pjrec`);
  const names = Array.from({ length: nCaptures }, (_, i) => `node1-veth-pod-a-${i}.pcapng`);
  const rec = startRecording(file, {
    now: () => now,
    writer: 'bench',
    topology: (p) => ((topoFn = p), () => undefined),
    lab: async () => lab,
    journeys: (fn) => ((journeyFn = fn), () => undefined),
    view: () => view,
    fileOf: () => undefined,
    savedSince: async () => names,
    readCapture: async () => ({ bytes: capture, notes }),
    labPollMs: 1e9,
  });
  topoFn?.(topo(0));
  for (let f = 0; f < follows; f++) {
    const j: Journey = { ...journey, id: `f-${f}` };
    if (f % 5 === 4) topoFn?.(topo(f));
    now += 20_000;
    journeyFn?.(j);
    const show = (v: ClassView): void => {
      now += 1500;
      view = v;
      rec.onView();
    };
    show({ tab: 'follow', journey: { id: j.id, full: j }, step: -1, capture: null, packet: null });
    for (let s = 0; s < steps; s++)
      show({ tab: 'follow', journey: { id: j.id, full: j }, step: s, capture: null, packet: null });
    show({ tab: 'map', journey: { id: j.id, full: j }, step: steps - 1, capture: null, packet: null });
    show({ tab: 'follow', journey: { id: j.id, full: j }, step: steps - 1, capture: null, packet: null });
  }
  const t0 = performance.now();
  await rec.stop();
  const saveMs = performance.now() - t0;
  const bytes = readFileSync(file);
  const t1 = performance.now();
  const session = await openReplay(file);
  const openMs = performance.now() - t1;
  const entries = session.recording.entries.length;
  await session.close();
  return { file: statSync(file).size, raw: gunzipSync(bytes).length, saveMs, openMs, entries };
}

const dir = mkdtempSync(join(tmpdir(), 'pjb-replay-'));
const out = [];
for (let i = 0; i < runs; i++) out.push(await once(dir));
rmSync(dir, { recursive: true, force: true });
const kb = (n: number): string => (n / 1024).toFixed(0);
const r = out[0]!;
process.stdout.write(
  `follows ${follows} × steps ${steps}, ${nCaptures} captures × ${packets} packets: ${r.entries} entries; ` +
    `file ${kb(r.file)} KB (unpacked ${kb(r.raw)} KB, of which captures ${kb(((capture.length * 4) / 3) * nCaptures)} KB base64); ` +
    `save median ${median(out.map((o) => o.saveMs)).toFixed(1)} ms, open median ${median(out.map((o) => o.openMs)).toFixed(1)} ms (${runs} runs)\n`,
);
