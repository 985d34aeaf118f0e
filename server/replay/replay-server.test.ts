// A replay server's gateway, over a real socket: kernel actions answer "replay mode: …" and change
// nothing; the lab, topology and loader come from the file; the recorded steps drive the view that a
// following page gets; the recorded capture opens with its note and downloads as annotated pcapng; the
// extracted folder goes when the server closes. Nothing here touches the kernel.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, connectTo, type PjClient } from '../../test/socket';
import { get } from '../classroom/test-bed';
import { readCaptureFile } from '../capture/pcap';
import { writePcapng } from '../capture/pcapng-writer';
import { createGateway, type Gateway } from '../gateway';
import { requestListener } from '../gateway/http';
import type { ClassView, ClassViewMsg } from '../protocol/classroom';
import type { LabStatus } from '../protocol/lab';
import type { RecordingEntry, ReplayStatus } from '../protocol/replay';
import type { Topology } from '../protocol/topology';
import { Journey } from '../protocol/tracer';
import { writeRecording } from './format';
import { en } from '../protocol/i18n/render';
import { openReplay, REPLAY_REFUSALS, type ReplaySession } from '.';
import { emptyLab, testHeader } from './test-fixtures';

const dir = mkdtempSync(join(tmpdir(), 'pjt-i13replay-srv-'));
const journey = Journey.parse(
  JSON.parse(readFileSync(join(__dirname, '../../app/components/hop-diagram/fixtures/ping-pod-a-pod-c.json'), 'utf8')),
);
const topo = (names: string[]): Topology => ({
  namespaces: names.map((name, i) => ({
    name,
    inode: i + 1,
    kind: 'netns',
    interfaces: [],
    neighbors: [],
    routes: [],
  })),
  warnings: [],
  discoveredAt: 0,
  durationMs: 0,
});
const lab: LabStatus = emptyLab(true);
const CAPTURE = 'node1-veth-pod-a-20261201-180000.pcapng';
const NOTE = 'the first echo request';
const pcap = readCaptureFile(readFileSync(join(__dirname, '../capture/fixtures/corpus-lab-eth.pcap')));
const saved = writePcapng((w) => {
  const id = w.iface('node1', 'veth-pod-a', 1, 262144);
  pcap.records.slice(0, 4).forEach((r) => w.packetWithComments(id, r, []));
});
const view = (step: number, extra: Partial<ClassView> = {}): ClassView => ({
  tab: 'follow',
  journey: { id: journey.id },
  step,
  capture: null,
  packet: null,
  ...extra,
});
const entries: RecordingEntry[] = [
  { t: 0, kind: 'topology', data: topo(['host', 'pod-a']) },
  { t: 0, kind: 'lab', data: lab },
  { t: 50, kind: 'journey', data: journey },
  { t: 100, kind: 'view', data: { ...view(0), journey: { id: journey.id, full: journey } } },
  { t: 200, kind: 'topology', data: topo(['host', 'pod-a', 'pod-b']) },
  { t: 300, kind: 'view', data: view(1) },
  {
    t: 400,
    kind: 'view',
    data: view(1, { tab: 'capture', capture: { id: null, file: CAPTURE, label: 'node1/veth-pod-a' }, packet: 0 }),
  },
  {
    t: 500,
    kind: 'capture',
    data: { name: CAPTURE, notes: { '0': [{ source: 'note', text: NOTE }] }, base64: saved.toString('base64') },
  },
];

let session: ReplaySession;
let gw: Gateway;
let base = '';
let port = 0;
let client: PjClient;
const captureDirBefore = process.env.PJ_CAPTURE_DIR;

beforeAll(async () => {
  const file = join(dir, 'class.pjrec');
  await writeRecording(file, {
    header: testHeader('lab-host'),
    entries,
  });
  session = await openReplay(file, 4);
  const http = createServer(
    requestListener(
      (_req, res) => res.end('page'),
      () => gw,
    ),
  );
  gw = createGateway(http, { host: '127.0.0.1', replay: { replay: session } });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  port = (http.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  client = await connectTo(base);
});
afterAll(async () => {
  client?.close();
  if (gw) await gw.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('replay server', () => {
  it('answers every kernel action with one "replay mode" line and changes nothing', async () => {
    const before = await ask<LabStatus>(client, 'lab:watch', {});
    const reqs: Record<string, unknown> = {
      'lab:run': { action: 'down' },
      'lab:prog': { action: 'attach', program: 'drop-all', netns: 'pod-a', iface: 'eth0' },
      'tracer:follow': { from: 'pod-a', to: 'pod-c' },
      'tracer:live:start': {},
      'capture:start': { netns: 'pod-a', iface: 'eth0' },
      'capture:filter-check': { netns: 'pod-a', filter: 'icmp' },
      'capture:note': { id: 'x', index: 0, text: 'n' },
      'capture:delete': { name: CAPTURE },
      'classroom:view': view(0),
      'replay:record': { on: true },
    };
    for (const [ev, line] of Object.entries(REPLAY_REFUSALS)) {
      const r = await ask(client, ev as keyof typeof REPLAY_REFUSALS, reqs[ev]);
      expect(r).toEqual({ ok: false, error: en(line), msg: line });
      expect(en(line)).toMatch(/^replay mode: [^\n]+$/);
    }
    expect(Object.keys(reqs).sort()).toEqual(Object.keys(REPLAY_REFUSALS).sort());
    expect(await ask<LabStatus>(client, 'lab:watch', {})).toEqual(before);
    // The capture is still there, not deleted.
    expect(existsSync(join(session.captureDir, CAPTURE))).toBe(true);
  });

  it('serves the lab, the loader and the topology from the file, as of the current step', async () => {
    expect(await ask(client, 'lab:watch', {})).toEqual({ ok: true, value: lab });
    const loader = await ask<{ state: string; lastError: string }>(client, 'tracer:status:watch', {});
    expect(loader).toMatchObject({ ok: true, value: { state: 'stopped', lastError: 'replay mode: no probe loader' } });
    const t = await ask<Topology>(client, 'topology:watch', {});
    expect(t.ok && t.value.namespaces.map((n) => n.name)).toEqual(['host', 'pod-a']);
    const targets = await ask<{ netns: string }[]>(client, 'capture:targets', {});
    expect(targets.ok && targets.value.map((x) => x.netns)).toEqual(['host', 'pod-a']);
  });

  it('drives the followed view with the recorded steps, exactly, and says where it is', async () => {
    const st = await ask<ReplayStatus>(client, 'replay:watch', {});
    expect(st).toMatchObject({
      ok: true,
      value: {
        mode: 'replay',
        replay: {
          file: 'class.pjrec',
          host: 'lab-host',
          steps: 3,
          step: 0,
          speed: 4,
          journeys: 1,
          captures: [CAPTURE],
        },
      },
    });
    const first = await ask<ClassViewMsg>(client, 'classroom:attend', { on: true });
    expect(first.ok && first.value.view).toMatchObject({
      tab: 'follow',
      step: 0,
      journey: { id: journey.id, full: journey },
    });

    const pushed = new Promise<ClassViewMsg>((r) => client.once('classroom:view', r));
    const topoPushed = new Promise<Topology>((r) => client.once('topology:update', r));
    const next = await ask<ReplayStatus>(client, 'replay:control', { action: 'next' });
    expect(next.ok && next.value.replay).toMatchObject({ step: 1, at: 300 });
    expect((await pushed).view).toMatchObject({ tab: 'follow', step: 1, journey: { id: journey.id } });
    expect((await topoPushed).namespaces.map((n) => n.name)).toEqual(['host', 'pod-a', 'pod-b']);

    expect(await ask(client, 'replay:control', { action: 'seek', step: 9 })).toMatchObject({
      ok: false,
      error: 'replay: step 10 is past the last (3)',
    });
    const back = await ask<ReplayStatus>(client, 'replay:control', { action: 'prev' });
    expect(back.ok && back.value.replay?.step).toBe(0);
  });

  it('opens the recorded capture with its note, shared, and downloads it annotated', async () => {
    const list = await ask<{ saved: { name: string }[] }>(client, 'capture:list', {});
    expect(list.ok && list.value.saved.map((s) => s.name)).toEqual([CAPTURE]);
    const last = new Promise<ClassViewMsg>((r) => client.once('classroom:view', r));
    await ask(client, 'replay:control', { action: 'last' });
    expect((await last).view?.capture).toEqual({ id: null, file: CAPTURE, label: 'node1/veth-pod-a', shared: true });
    const shown = await ask<{ info: { id: string }; rows: unknown[] }>(client, 'capture:open', { name: CAPTURE });
    expect(shown.ok && shown.value.rows).toHaveLength(4);
    if (!shown.ok) return;
    const d = await ask<{ notes: string[] }>(client, 'capture:packet', { id: shown.value.info.id, index: 0 });
    expect(d.ok && d.value.notes).toEqual([NOTE]);
    const dl = await get(port, `/captures/${CAPTURE}`);
    expect(dl.status).toBe(200);
    expect(dl.body).toContain(`note: ${NOTE}`);
  });

  it('removes its capture folder and gives the captures folder back when it closes', async () => {
    const folder = session.captureDir;
    expect(process.env.PJ_CAPTURE_DIR).toBe(folder);
    client.close();
    await gw.close();
    gw = undefined as unknown as Gateway;
    expect(existsSync(folder)).toBe(false);
    expect(process.env.PJ_CAPTURE_DIR).toBe(captureDirBefore);
  });
});

describe('startServer --replay', () => {
  it('refuses a bad file in one line before anything starts', async () => {
    const { startServer } = await import('../index');
    const bad = join(dir, 'bad.pjrec');
    await import('node:fs/promises').then((fs) => fs.writeFile(bad, 'not a recording'));
    await expect(startServer({ host: '127.0.0.1', port: 0, replay: bad })).rejects.toThrow(
      'bad.pjrec: not a packet-journey recording (not gzip)',
    );
  });
});
