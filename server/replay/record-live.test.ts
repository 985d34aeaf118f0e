// Recording on a live server, over a real socket: `--record FILE` starts at once, the instructor's views
// (as `classroom:view` carries them) and the tracer's journeys land in the file with the machine's real
// topology and lab status; the Record button's event stops and starts again into the recordings folder.
// It reads this machine's namespaces (iproute2, /proc): run it under the lab lock like gateway.test.ts.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, connectTo, type PjClient } from '../../test/socket';
import { createGateway, type Gateway } from '../gateway';
import type { ClassView } from '../protocol/classroom';
import type { ReplayStatus } from '../protocol/replay';
import { Journey } from '../protocol/tracer';
import { serverBus } from '../sys/bus';
import { readRecording, resolveViews } from './format';

const dir = mkdtempSync(join(tmpdir(), 'pjt-i13replay-live-'));
const env = { captures: process.env.PJ_CAPTURE_DIR, recordings: process.env.PJ_RECORDING_DIR };
const journey = Journey.parse(
  JSON.parse(readFileSync(join(__dirname, '../../app/components/hop-diagram/fixtures/ping-pod-a-pod-c.json'), 'utf8')),
);
const file = join(dir, 'class.pjrec');
const logged: string[] = [];
let gw: Gateway;
let client: PjClient;

beforeAll(async () => {
  process.env.PJ_CAPTURE_DIR = join(dir, 'captures');
  process.env.PJ_RECORDING_DIR = join(dir, 'recordings');
  const http = createServer((_req, res) => res.end('page'));
  gw = createGateway(http, { host: '127.0.0.1', replay: { record: file, log: (l) => logged.push(l) } });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  client = await connectTo(`http://127.0.0.1:${(http.address() as AddressInfo).port}`);
});
afterAll(async () => {
  client?.close();
  await gw?.close();
  process.env.PJ_CAPTURE_DIR = env.captures;
  process.env.PJ_RECORDING_DIR = env.recordings;
  if (env.captures === undefined) delete process.env.PJ_CAPTURE_DIR;
  if (env.recordings === undefined) delete process.env.PJ_RECORDING_DIR;
  rmSync(dir, { recursive: true, force: true });
});

const status = async (): Promise<ReplayStatus> => {
  const r = await ask<ReplayStatus>(client, 'replay:watch', {});
  if (!r.ok) throw new Error(r.error);
  return r.value;
};
const view = (step: number, full: boolean): ClassView => ({
  tab: 'follow',
  journey: { id: journey.id, ...(full && { full: journey }) },
  step,
  capture: null,
  packet: null,
});

describe('recording on a live server', () => {
  it('records the views and journeys it is sent, with the real topology and lab, into --record FILE', async () => {
    expect((await status()).recording?.file).toBe(file);
    // The topology and lab status are read once at start.
    for (let i = 0; i < 100 && (await status()).recording!.entries < 2; i++)
      await new Promise((r) => setTimeout(r, 100));
    for (const [i, v] of [view(0, true), view(1, false), view(1, false), view(2, false)].entries()) {
      expect(await ask(client, 'classroom:view', v)).toEqual({ ok: true, value: null });
      if (i === 1) serverBus.emit('tracer:journey', journey);
    }
    expect(await ask(client, 'replay:control', { action: 'next' })).toEqual({
      ok: false,
      error: 'not a replay: start the server with `packet-journey serve --replay FILE`',
    });
    const stopped = await ask<ReplayStatus>(client, 'replay:record', { on: false });
    expect(stopped.ok && stopped.value.recording).toBeNull();
    const saved = stopped.ok ? stopped.value.saved : '';
    expect(saved).toMatch(/^saved .*class\.pjrec \(\d+ KB\): 3 step\(s\), 1 journey\(s\), 0 capture\(s\)$/);
    expect(logged).toEqual([saved]);

    const rec = await readRecording(file);
    // A re-sent view is one step; each resolves to the journey whole.
    expect(resolveViews(rec.entries).map((s) => [s.view.step, s.journey?.id])).toEqual([
      [0, journey.id],
      [1, journey.id],
      [2, journey.id],
    ]);
    expect(rec.entries.filter((e) => e.kind === 'journey').map((e) => e.data)).toEqual([journey]);
    const topo = rec.entries.find((e) => e.kind === 'topology');
    expect(topo?.kind === 'topology' && topo.data.namespaces.some((n) => n.name === 'host')).toBe(true);
    expect(rec.entries.some((e) => e.kind === 'lab')).toBe(true);
  });

  it('starts again on the button, into the recordings folder, and refuses a second start', async () => {
    const on = await ask<ReplayStatus>(client, 'replay:record', { on: true });
    expect(on.ok && on.value.recording?.file).toMatch(/recordings\/session-\d{8}-\d{6}\.pjrec$/);
    expect(await ask(client, 'replay:record', { on: true })).toEqual({ ok: false, error: 'already recording' });
    const off = await ask<ReplayStatus>(client, 'replay:record', { on: false });
    expect(off.ok && off.value.saved).toMatch(/^saved .*recordings\/session-/);
    expect(await ask(client, 'replay:record', { on: false })).toEqual({ ok: false, error: 'not recording' });
    expect(readdirSync(join(dir, 'recordings')).filter((n) => n.endsWith('.pjrec'))).toHaveLength(1);
    expect(existsSync(file)).toBe(true);
  });
});
