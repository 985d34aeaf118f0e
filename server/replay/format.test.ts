// The recording format, round-tripped: what the recorder took from the server's streams comes back equal
// from the file, and every bad file (damaged, cut short, too big, another version, a wrong line) is
// refused with one line naming it. Inputs are recorded lab data (topology fixtures, a real journey, a
// real pcap); the recorder's sources are fed them as the server's streams would.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../capture/pcap';
import { writePcapng } from '../capture/pcapng-writer';
import { journeyVersion, type ClassView } from '../protocol/classroom';
import type { LabStatus } from '../protocol/lab';
import { RECORDING_MAX_FILE_BYTES, RECORDING_MAX_RAW_BYTES, type RecordingEntry } from '../protocol/replay';
import { Topology } from '../protocol/topology';
import { Journey } from '../protocol/tracer';
import { buildNamespaces, type NsCollected, type NsMeta } from '../topology/graph';
import { parseFdb, parseIpBatch } from '../topology/iproute';
import { decodeRecording, encodeRecording, readRecording, resolveViews, type Recording } from './format';
import { createPlayer } from './player';
import { startRecording, type RecorderSources } from './recorder';
import { emptyLab, testHeader } from './test-fixtures';

const fx = (p: string): string => readFileSync(join(__dirname, '..', p), 'utf8');
const collected = (meta: NsMeta, ip: string, fdb?: string): NsCollected => ({
  meta,
  snap: parseIpBatch(fx(`topology/fixtures/${ip}`)),
  ...(fdb ? { fdb: parseFdb(fx(`topology/fixtures/${fdb}`)).entries } : {}),
});
const topoA: Topology = Topology.parse({
  namespaces: buildNamespaces([
    collected({ name: 'host', inode: 1, source: 'host' }, 'lab-host.ip.ndjson', 'lab-host.fdb.json'),
    collected({ name: 'node1', inode: 2, source: 'named', netnsName: 'node1' }, 'lab-node1.ip.ndjson'),
    collected({ name: 'pod-a', inode: 3, source: 'named', netnsName: 'pod-a' }, 'lab-pod-a.ip.ndjson'),
  ]),
  warnings: [],
  discoveredAt: 1000,
  durationMs: 12,
});
// pod-b appears: a change the recorder must keep.
const topoB: Topology = {
  ...topoA,
  namespaces: [
    ...topoA.namespaces,
    ...buildNamespaces([
      collected({ name: 'pod-b', inode: 4, source: 'named', netnsName: 'pod-b' }, 'lab-pod-b.ip.ndjson'),
    ]),
  ],
};
const journey = Journey.parse(JSON.parse(fx('../app/components/hop-diagram/fixtures/ping-pod-a-pod-c.json')));
const grown: Journey = { ...journey, hops: [...journey.hops, { ...journey.hops.at(-1)!, seq: 999 }] };
const lab = emptyLab;
// A saved capture (pcapng, as the captures folder holds it) with a note and a hop reason.
const pcap = readCaptureFile(readFileSync(join(__dirname, '../capture/fixtures/corpus-lab-eth.pcap')));
const saved = writePcapng((w) => {
  const id = w.iface('pod-a', 'eth0', 1, 262144);
  pcap.records.slice(0, 3).forEach((r) => w.packetWithComments(id, r, []));
});
const notes = {
  '1': [
    { source: 'note' as const, text: 'the echo reply' },
    { source: 'hop' as const, text: 'pod-a eth0 egress: routed by pod-a' },
  ],
};

const dir = mkdtempSync(join(tmpdir(), 'pjt-i13replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The server's streams, driven by the test: a clock, a topology watch, the lab, journeys, the view. */
function streams() {
  let now = 50_000;
  let topo: ((t: Topology) => void) | undefined;
  let onJourney: ((j: Journey) => void) | undefined;
  let labNow = lab(true);
  let view: ClassView | null = null;
  const src: RecorderSources = {
    now: () => now,
    writer: 'packet-journey test',
    topology: (p) => ((topo = p), () => (topo = undefined)),
    lab: async () => labNow,
    journeys: (fn) => ((onJourney = fn), () => (onJourney = undefined)),
    view: () => view,
    fileOf: (id) => (id === 'cap-1' ? 'pod-a-eth0.pcapng' : undefined),
    savedSince: async () => ['pod-a-eth0.pcapng'],
    readCapture: async () => ({ bytes: saved, notes }),
    labPollMs: 10_000,
  };
  return {
    src,
    tick: (ms: number) => (now += ms),
    topology: (t: Topology) => topo?.(t),
    journey: (j: Journey) => onJourney?.(j),
    setLab: (s: LabStatus) => (labNow = s),
    show: (v: ClassView | null) => (view = v),
  };
}

const view = (step: number, j: Journey | null, extra: Partial<ClassView> = {}): ClassView => ({
  tab: 'follow',
  journey: j && { id: j.id, full: j },
  step,
  capture: null,
  packet: null,
  ...extra,
});

const good = (): Recording => ({
  header: testHeader('test', 'w'),
  entries: [
    { t: 0, kind: 'topology', data: topoA },
    { t: 10, kind: 'view', data: view(0, journey) },
  ],
});
describe('recording format', () => {
  it('round-trips a recorded session: topology changes, lab, journeys, steps with times, captures with notes', async () => {
    const s = streams();
    const file = join(dir, 'session.pjrec');
    s.show(view(-1, null, { tab: 'lab' }));
    const rec = startRecording(file, s.src);
    await new Promise((r) => setImmediate(r));
    s.topology(topoA);
    s.tick(100);
    s.topology({ ...topoA, discoveredAt: 2000 }); // only its time stamp changed: not kept
    s.tick(400);
    s.journey(journey);
    const steps = [0, 1, 2].map((i) => view(i, journey));
    for (const v of steps) {
      s.tick(700);
      s.show(v);
      rec.onView();
      rec.onView(); // a re-send: one step
    }
    s.tick(50);
    s.topology(topoB);
    s.tick(300);
    s.show(view(3, grown, { tab: 'capture', capture: { id: 'cap-1', file: null, label: 'pod-a/eth0' }, packet: 1 }));
    rec.onView();
    s.setLab(lab(false));
    const said = await rec.stop();
    expect(said).toMatch(/^saved .*session\.pjrec \(\d+ KB\): 5 step\(s\), 1 journey\(s\), 1 capture\(s\)$/);

    const back = await readRecording(file);
    expect(back.header).toMatchObject({
      format: 'packet-journey-recording',
      version: 1,
      writer: 'packet-journey test',
    });
    expect(back.header.createdAt).toBe(new Date(50_000).toISOString());
    const kinds = back.entries.map((e) => e.kind);
    expect(kinds.filter((k) => k === 'topology')).toHaveLength(2);
    expect(back.entries.filter((e) => e.kind === 'topology').map((e) => e.data)).toEqual([topoA, topoB]);
    expect(back.entries.filter((e) => e.kind === 'lab').map((e) => e.data)).toEqual([lab(true), lab(false)]);
    expect(back.entries.filter((e) => e.kind === 'journey').map((e) => e.data)).toEqual([journey]);
    // Times count from the start, in order.
    const ts = back.entries.map((e) => e.t);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
    // The views resolve to what the instructor showed, each journey whole; only the changed one travels whole.
    const resolved = resolveViews(back.entries);
    expect(resolved.map((r) => r.view.step)).toEqual([-1, 0, 1, 2, 3]);
    expect(resolved.map((r) => r.t)).toEqual([0, 1200, 1900, 2600, 2950]);
    expect(resolved.slice(1, 4).every((r) => r.journey && journeyVersion(r.journey) === journeyVersion(journey))).toBe(
      true,
    );
    expect(resolved[4]?.journey).toEqual(grown);
    const fulls = back.entries.filter((e) => e.kind === 'view' && e.data.journey?.full).length;
    expect(fulls).toBe(2);
    // A live capture on screen is kept by its file, the one embedded.
    expect(resolved[4]?.view.capture).toEqual({ id: null, file: 'pod-a-eth0.pcapng', label: 'pod-a/eth0' });
    const cap = back.entries.find((e) => e.kind === 'capture');
    expect(cap?.kind === 'capture' && Buffer.from(cap.data.base64, 'base64').equals(saved)).toBe(true);
    expect(cap?.kind === 'capture' && cap.data.notes).toEqual(notes);

    // encode ∘ decode is the identity on what was read.
    expect(decodeRecording(encodeRecording(back), 'again')).toEqual(back);
  });

  /** The file's NDJSON lines, edited, packed again. */
  const edit = (fn: (lines: string[]) => string[]): Buffer =>
    gzipSync(Buffer.from(fn(gunzipSync(encodeRecording(good())).toString().split('\n')).join('\n')));

  it.each<[string, () => Buffer, string]>([
    [
      'not gzip',
      () => Buffer.from('{"format":"packet-journey-recording"}\n'),
      'x.pjrec: not a packet-journey recording (not gzip)',
    ],
    [
      'cut short',
      () => encodeRecording(good()).subarray(0, 200),
      'x.pjrec: cut short or damaged (gzip: unexpected end of file)',
    ],
    [
      'damaged',
      () => {
        const b = Buffer.from(encodeRecording(good()));
        b[b.length - 6] = (b[b.length - 6] ?? 0) ^ 0xff;
        return b;
      },
      'x.pjrec: cut short or damaged',
    ],
    ['empty', () => gzipSync(Buffer.alloc(0)), 'x.pjrec: empty (no header)'],
    ['without its end line', () => edit((l) => [...l.slice(0, -2), '']), 'x.pjrec: cut short (no end entry)'],
    [
      'with a last line cut',
      () => edit((l) => [...l.slice(0, -2), (l.at(-2) ?? '').slice(0, 10)]),
      'x.pjrec: cut short',
    ],
    [
      'of a newer version',
      () => edit((l) => [l[0]!.replace('"version":1', '"version":2'), ...l.slice(1)]),
      'x.pjrec: a version 2 recording; this packet-journey reads version 1: upgrade packet-journey',
    ],
    [
      'of another format',
      () => edit((l) => ['{"format":"pcapng"}', ...l.slice(1)]),
      'x.pjrec: not a packet-journey recording (no header)',
    ],
    [
      'with a bad entry',
      () => edit((l) => [l[0]!, l[1]!.replace('"topology"', '"weather"'), ...l.slice(2)]),
      'x.pjrec: line 2: kind: ',
    ],
    ['with a line not JSON', () => edit((l) => [l[0]!, '{oops', ...l.slice(2)]), 'x.pjrec: line 2 is not JSON'],
    [
      'with time going back',
      () => edit((l) => [l[0]!, l[1]!.replace('"t":0', '"t":50'), ...l.slice(2)]),
      "x.pjrec: line 3: t 10 is before the previous entry's 50",
    ],
    [
      'with a view naming a journey never given',
      () => edit((l) => [l[0]!, l[1]!, l[2]!.replace(/,"full":\{.*\}\},"step"/, '},"step"'), ...l.slice(3)]),
      `x.pjrec: line 3: the view names journey ${journey.id}, which no earlier view gave whole`,
    ],
    [
      'whose end miscounts',
      () => edit((l) => [l[0]!, l[2]!, l.at(-2)!, '']),
      'x.pjrec: the end entry counts 2 entries, the file has 1',
    ],
    [
      'that unpacks past the bound',
      () => gzipSync(Buffer.alloc(RECORDING_MAX_RAW_BYTES + 1, 0x20)),
      'x.pjrec: unpacks to more than 128.0 MB',
    ],
    ['too big', () => Buffer.alloc(RECORDING_MAX_FILE_BYTES + 1), 'x.pjrec: 64.0 MB; a recording is at most 64.0 MB'],
  ])('refuses a file %s with one line', (_what, bytes, msg) => {
    let err: unknown;
    try {
      decodeRecording(bytes(), 'x.pjrec');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    const m = (err as Error).message;
    expect(m.slice(0, msg.length)).toBe(msg);
    expect(m).not.toContain('\n');
  });

  it('reads from disk with the size checked first, and names a missing file', async () => {
    const p = join(dir, 'big.pjrec');
    writeFileSync(p, Buffer.alloc(RECORDING_MAX_FILE_BYTES + 10));
    await expect(readRecording(p)).rejects.toThrow('big.pjrec: 64.0 MB; a recording is at most 64.0 MB');
    await expect(readRecording(join(dir, 'none.pjrec'))).rejects.toThrow(/none\.pjrec: no such file$/);
  });

  it('stops taking entries at the bound, says so in one line, and still saves', async () => {
    const s = streams();
    const rec = startRecording(join(dir, 'full.pjrec'), s.src);
    const big = { ...topoA, warnings: ['x'.repeat(2 * 1024 * 1024)] };
    for (let i = 0; rec.status().full === null && i < 200; i++)
      s.topology({ ...big, warnings: [`${i}${big.warnings[0]}`] });
    expect(rec.status().full).toMatch(/^the recording is full \(\d+ MB\): stop it to save what it has$/);
    const n = rec.status().entries;
    s.journey(journey);
    expect(rec.status().entries).toBe(n);
    expect(await rec.stop()).toMatch(/^saved /);
    expect((await readRecording(join(dir, 'full.pjrec'))).entries.length).toBeGreaterThanOrEqual(n);
  });
});

describe('replay player', () => {
  const rec = (): Recording => {
    const e: RecordingEntry[] = [
      { t: 0, kind: 'topology', data: topoA },
      { t: 0, kind: 'lab', data: lab(true) },
      { t: 100, kind: 'view', data: view(0, journey) },
      { t: 400, kind: 'view', data: { ...view(1, journey), journey: { id: journey.id } } },
      { t: 500, kind: 'topology', data: topoB },
      { t: 1400, kind: 'view', data: { ...view(2, journey), journey: { id: journey.id } } },
      { t: 1500, kind: 'lab', data: lab(false) },
    ];
    return decodeRecording(encodeRecording({ ...good(), entries: e }), 'p.pjrec');
  };

  /** Timers the test runs by hand: what the player waits for is recorded, not elapsed. */
  const manual = () => {
    const q: { fn: () => void; ms: number }[] = [];
    return {
      q,
      timers: { set: (fn: () => void, ms: number) => q.push({ fn, ms }), clear: () => q.splice(0) },
      run: () => q.shift()?.fn(),
    };
  };

  it('steps exactly, with the topology and lab as of each step, the same every time', () => {
    const run = (): unknown[] => {
      const p = createPlayer(rec(), { file: 'p.pjrec', captures: [] });
      const seen: unknown[] = [];
      const snap = () =>
        seen.push([
          p.status().step,
          p.view()?.step,
          p.view()?.journey?.full?.id,
          p.topology()?.namespaces.length,
          p.lab()?.up,
        ]);
      snap();
      for (const a of ['next', 'next', 'next', 'prev', 'first', 'last'] as const) {
        p.control({ action: a });
        snap();
      }
      p.control({ action: 'seek', step: 1 });
      snap();
      expect(() => p.control({ action: 'seek', step: 3 })).toThrow('replay: step 4 is past the last (3)');
      return seen;
    };
    const a = run();
    expect(run()).toEqual(a);
    const ns = [topoA.namespaces.length, topoB.namespaces.length];
    expect(a).toEqual([
      [0, 0, journey.id, ns[0], true],
      [1, 1, journey.id, ns[0], true],
      [2, 2, journey.id, ns[1], true],
      [2, 2, journey.id, ns[1], true],
      [1, 1, journey.id, ns[0], true],
      [0, 0, journey.id, ns[0], true],
      [2, 2, journey.id, ns[1], true],
      [1, 1, journey.id, ns[0], true],
    ]);
  });

  it('plays with the recorded gaps divided by the speed, and stops at the end', () => {
    const m = manual();
    const p = createPlayer(rec(), { file: 'p.pjrec', captures: [], speed: 2, timers: m.timers });
    p.control({ action: 'play' });
    expect(m.q.map((x) => x.ms)).toEqual([150]);
    m.run();
    expect(p.status().step).toBe(1);
    expect(m.q.map((x) => x.ms)).toEqual([500]);
    m.run();
    expect(p.status()).toMatchObject({ step: 2, playing: false, at: 1400, durationMs: 1500, steps: 3 });
    expect(m.q).toHaveLength(0);
  });
});
