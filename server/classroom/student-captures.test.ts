// A student's captures on the real lab, through the real gateway: one at a time on a pod's eth0, its
// list narrowed to what it may open, the instructor's captures closed to it until shared, then open (by
// socket and by download).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, connectTo, type PjClient } from '../../test/socket';
import { labDown, labUp } from '../lab';
import type { CaptureInfo, CaptureList, CaptureShown } from '../protocol/capture';
import { bed, get, type Bed } from './test-bed';
import { createTokens } from './tokens';

const captures = mkdtempSync(join(tmpdir(), 'pjt-class-cap-'));
process.env.PJ_CAPTURE_DIR = captures;
const tokens = createTokens({ dir: mkdtempSync(join(tmpdir(), 'pjt-class-')) });
let b: Bed;
let teacher: PjClient;
let student: PjClient;

beforeAll(async () => {
  await labUp();
  b = await bed(tokens);
  teacher = await connectTo(b.base, { query: { token: tokens.instructor } });
  student = await connectTo(b.base, { query: { token: tokens.student } });
  await ask(student, 'classroom:join', { name: 'Ada' });
});
afterAll(async () => {
  teacher.close();
  student.close();
  await b.close();
  await labDown();
  rmSync(captures, { recursive: true, force: true });
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a student's captures", () => {
  let mine: CaptureInfo;
  let theirs: CaptureInfo;

  it("captures on a pod's eth0, one at a time", async () => {
    const r = await ask<CaptureInfo>(student, 'capture:start', { netns: 'pod-a', iface: 'eth0', filter: 'icmp' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    mine = r.value;
    expect(mine.state).toBe('running');
    await pause(1100); // past the capture-start rate limit: the refusal below is the one-at-a-time rule
    expect(await ask(student, 'capture:start', { netns: 'pod-b', iface: 'eth0' })).toMatchObject({
      ok: false,
      error: 'students can run one capture at a time: stop yours first',
    });
    const roster = await ask<{ clients: { name: string | null; doing: string[] }[] }>(teacher, 'classroom:watch', {});
    const ada = roster.ok ? roster.value.clients.find((c) => c.name === 'Ada') : undefined;
    expect(ada?.doing).toEqual(['capturing pod-a/eth0 "icmp"']);
  });

  it('sees only its own captures and files until the instructor shares one', async () => {
    const t = await ask<CaptureInfo>(teacher, 'capture:start', { netns: 'node1', iface: 'veth-pod-a' });
    expect(t.ok).toBe(true);
    if (!t.ok) return;
    theirs = t.value;
    const list = await ask<CaptureList>(student, 'capture:list', {});
    expect(list.ok && list.value.live.map((c) => c.id)).toEqual([mine.id]);
    expect(list.ok && list.value.saved.map((s) => s.name)).toEqual([mine.fileName]);
    const all = await ask<CaptureList>(teacher, 'capture:list', {});
    expect(all.ok && all.value.live.map((c) => c.id).sort()).toEqual([mine.id, theirs.id].sort());

    const notShared = expect.objectContaining({
      ok: false,
      error: 'this capture is not shared with students',
    }) as unknown;
    expect(await ask(student, 'capture:watch', { id: theirs.id })).toEqual(notShared);
    expect(await ask(student, 'capture:open', { name: theirs.fileName })).toEqual(notShared);
    expect(await ask(student, 'capture:stop', { id: theirs.id })).toMatchObject({
      ok: false,
      error: 'students can stop only their own captures',
    });
    const cookie = (t: string) => ({ cookie: `pj_token_${b.port}=${t}` });
    expect((await get(b.port, `/captures/${theirs.fileName}`, cookie(tokens.student))).status).toBe(403);
    expect((await get(b.port, `/captures/${mine.fileName}`, cookie(tokens.student))).status).toBe(200);

    expect(await ask(teacher, 'classroom:share', { name: theirs.fileName, shared: true })).toEqual({
      ok: true,
      value: [theirs.fileName],
    });
    const watched = await ask<CaptureShown>(student, 'capture:watch', { id: theirs.id });
    expect(watched.ok && watched.value.info.id).toBe(theirs.id);
    expect((await get(b.port, `/captures/${theirs.fileName}`, cookie(tokens.student))).status).toBe(200);
    expect(await ask(teacher, 'classroom:share', { name: 'nope.pcapng', shared: true })).toMatchObject({
      ok: false,
      error: 'no saved capture "nope.pcapng"',
    });
  });

  it('stops its own capture, and may then start another', async () => {
    const s = await ask<CaptureInfo>(student, 'capture:stop', { id: mine.id });
    expect(s.ok && s.value.state).toBe('stopped');
    await ask(teacher, 'capture:stop', { id: theirs.id });
    const again = await ask<CaptureInfo>(student, 'capture:start', { netns: 'pod-b', iface: 'eth0' });
    expect(again.ok).toBe(true);
    if (again.ok) await ask(student, 'capture:stop', { id: again.value.id });
  });
});
