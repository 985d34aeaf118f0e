// Follow the instructor, on the real gateway: the view message is validated, only the instructor may
// send it, the last one is kept for a student who joins late (journey in full), followers get pushes
// (a journey by id once sent), detached students get none, and a burst is throttled, last view winning.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ask, connectTo, type PjClient } from '../../test/socket';
import { ClassViewMsg, latestThrottle, type ClassView } from '../protocol/classroom';
import { Journey } from '../protocol/tracer';
import { bed, type Bed } from './test-bed';
import { createTokens } from './tokens';

const journey = Journey.parse(
  JSON.parse(readFileSync(join(__dirname, '../../app/components/hop-diagram/fixtures/ping-pod-a-pod-c.json'), 'utf8')),
);
const view = (step: number, full = false): ClassView => ({
  tab: 'follow',
  journey: { id: journey.id, ...(full && { full: journey }) },
  step,
  capture: null,
  packet: null,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let b: Bed;
let teacher: PjClient;
const tokens = createTokens({ dir: mkdtempSync(join(tmpdir(), 'pjt-view-')) });

async function student(name: string, attend = true): Promise<{ s: PjClient; got: ClassViewMsg[] }> {
  const s = await connectTo(b.base, { query: { token: tokens.student } });
  const got: ClassViewMsg[] = [];
  s.on('classroom:view', (m) => got.push(ClassViewMsg.parse(m)));
  expect(await ask(s, 'classroom:join', { name })).toMatchObject({ ok: true });
  if (attend) expect(await ask(s, 'classroom:attend', { on: true })).toMatchObject({ ok: true });
  return { s, got };
}

beforeAll(async () => {
  b = await bed(tokens);
  teacher = await connectTo(b.base, { query: { token: tokens.instructor } });
});
afterAll(async () => {
  teacher.close();
  await b.close();
});

describe('classroom:view', () => {
  it('is refused from a student, and malformed views are refused in one line; nothing changes', async () => {
    const { s } = await student('Ada', false);
    expect(await ask(s, 'classroom:view', view(0, true))).toMatchObject({
      ok: false,
      error: 'only the instructor can broadcast the view',
    });
    for (const [bad, line] of [
      [
        { ...view(0, true), tab: 'nope' },
        'tab: Invalid option: expected one of "lab"|"map"|"follow"|"capture"|"flows"',
      ],
      [{ ...view(0, true), step: -2 }, 'step: Too small: expected number to be >=-1'],
      [{ ...view(0, true), extra: 1 }, 'Unrecognized key: "extra"'],
      [view(0), `journey ${journey.id} is not known to the server: send it in full`],
      [{ ...view(0, true), journey: { id: 'other', full: journey } }, 'journey.id: not the id of journey.full'],
    ] as const)
      expect(await ask(teacher, 'classroom:view', bad)).toMatchObject({ ok: false, error: line });
    const a = await ask<ClassViewMsg>(s, 'classroom:attend', { on: true });
    expect(a).toMatchObject({ ok: true, value: { seq: 0, view: null } });
    s.close();
  });

  it('keeps the last view: a late joiner gets it at once, journey in full', async () => {
    expect(await ask(teacher, 'classroom:view', view(2, true))).toEqual({ ok: true, value: null });
    expect(await ask(teacher, 'classroom:view', view(3))).toEqual({ ok: true, value: null });
    const late = await connectTo(b.base, { query: { token: tokens.student } });
    await ask(late, 'classroom:join', { name: 'Late' });
    const a = await ask<ClassViewMsg>(late, 'classroom:attend', { on: true });
    expect(a.ok).toBe(true);
    if (!a.ok) return;
    expect(a.value.view).toMatchObject({ tab: 'follow', step: 3, journey: { id: journey.id } });
    expect(a.value.view?.journey?.full).toEqual(journey);
    late.close();
  });

  it('pushes to followers only, the journey in full once; a detached student gets nothing', async () => {
    await sleep(100); // the last test's trailing push has gone
    const f = await student('Bo');
    const d = await student('Cy');
    expect(await ask(d.s, 'classroom:attend', { on: false })).toEqual({ ok: true, value: null });
    await sleep(60);
    await ask(teacher, 'classroom:view', view(4, true));
    await sleep(120);
    await ask(teacher, 'classroom:view', view(5));
    await sleep(120);
    expect(f.got.map((m) => m.view?.step)).toEqual([4, 5]);
    // The same journey again is no news: the second push names it by id.
    expect(f.got.map((m) => m.view?.journey?.full !== undefined)).toEqual([false, false]);
    expect(d.got).toEqual([]);
    // A changed journey (it grew) goes whole.
    const grown: Journey = { ...journey, hops: journey.hops.slice(0, 2) };
    await ask(teacher, 'classroom:view', { ...view(0), journey: { id: journey.id, full: grown } });
    await sleep(120);
    expect(f.got.at(-1)?.view?.journey?.full?.hops).toHaveLength(2);
    f.s.close();
    d.s.close();
  });

  it('a burst of 30 views reaches a follower as a few pushes, the last one last', async () => {
    await ask(teacher, 'classroom:view', view(0, true));
    await sleep(100);
    const f = await student('Di');
    const sent = Array.from({ length: 30 }, (_, i) => ask(teacher, 'classroom:view', view(i)));
    await Promise.all(sent);
    await sleep(150);
    const steps = f.got.map((m) => m.view?.step);
    expect(steps.at(-1)).toBe(29);
    expect(steps.length).toBeLessThanOrEqual(4);
    // Numbered as the server received them: the followers can tell they missed none that mattered.
    expect(f.got.at(-1)?.seq).toBeGreaterThan(30);
    f.s.close();
  });
});

describe("the capture on the instructor's screen", () => {
  it('tells followers whether they may open it, and again when the instructor shares it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pjt-view-cap-'));
    const name = 'pod-a-eth0-20261201-120000.pcapng';
    writeFileSync(join(dir, name), 'x');
    const before = process.env.PJ_CAPTURE_DIR;
    process.env.PJ_CAPTURE_DIR = dir;
    try {
      await sleep(100);
      const f = await student('Ed');
      const capture = { id: null, file: name, label: 'pod-a/eth0' };
      await ask(teacher, 'classroom:view', { tab: 'capture', journey: null, step: -1, capture, packet: 3 });
      await sleep(120);
      expect(f.got.at(-1)?.view).toMatchObject({ tab: 'capture', capture: { ...capture, shared: false }, packet: 3 });
      expect(await ask(teacher, 'classroom:share', { name, shared: true })).toEqual({ ok: true, value: [name] });
      await sleep(120);
      expect(f.got.at(-1)?.view?.capture?.shared).toBe(true);
      // The browser's word for it is not taken: `shared` is the server's to set.
      expect(
        await ask(teacher, 'classroom:view', {
          tab: 'capture',
          journey: null,
          step: -1,
          capture: { id: 'c1zz', file: null, label: 'x', shared: true },
          packet: null,
        }),
      ).toEqual({ ok: true, value: null });
      await sleep(120);
      expect(f.got.at(-1)?.view?.capture?.shared).toBe(false);
      f.s.close();
    } finally {
      if (before === undefined) delete process.env.PJ_CAPTURE_DIR;
      else process.env.PJ_CAPTURE_DIR = before;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('latestThrottle', () => {
  it('sends the first at once, then at most one per interval, the latest value', () => {
    vi.useFakeTimers();
    try {
      const sent: number[] = [];
      const t = latestThrottle(
        (v: number) => sent.push(v),
        100,
        () => Date.now(),
      );
      t.push(1);
      expect(sent).toEqual([1]);
      for (let i = 2; i <= 9; i++) t.push(i);
      expect(sent).toEqual([1]);
      vi.advanceTimersByTime(99);
      expect(sent).toEqual([1]);
      vi.advanceTimersByTime(1);
      expect(sent).toEqual([1, 9]);
      // 10 a second at most, over a second of pushes every 10 ms.
      for (let i = 0; i < 100; i++) {
        t.push(100 + i);
        vi.advanceTimersByTime(10);
      }
      expect(sent.length - 2).toBeLessThanOrEqual(10);
      vi.advanceTimersByTime(100);
      expect(sent.at(-1)).toBe(199);
      // After a quiet interval the next goes at once; cancel drops what waits.
      t.push(500);
      t.push(501);
      t.cancel();
      vi.advanceTimersByTime(200);
      expect(sent.at(-1)).toBe(500);
    } finally {
      vi.useRealTimers();
    }
  });
});
