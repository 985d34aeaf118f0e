// A student's seat is its page's session (gateway/session.ts), not one socket: through a cut of its
// transport it keeps its name, its place among the followers (the next broadcast reaches the new socket
// with no re-attend) and one line in the roster; a kick ends the session, so the same key comes back as
// a stranger. On the real gateway, in token mode.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, connectTo, type PjClient } from '../../test/socket';
import type { ClassMe, ClassRoster, ClassView, ClassViewMsg } from '../protocol/classroom';
import { bed, type Bed } from './test-bed';
import { createTokens } from './tokens';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tokens = createTokens({ dir: mkdtempSync(join(tmpdir(), 'pjt-seat-')) });
const view = (step: number): ClassView => ({ tab: 'lab', journey: null, step, capture: null, packet: null });
let b: Bed;
let teacher: PjClient;

/** A student page: its own session key, no automatic reconnect (the test cuts and reconnects). */
async function page(key = randomBytes(16).toString('hex')): Promise<PjClient> {
  const s: PjClient = io(b.base, {
    transports: ['websocket'],
    query: { token: tokens.student },
    auth: { session: key },
    reconnection: false,
  });
  await new Promise<void>((r) => s.once('connect', () => r()));
  return s;
}
const reconnect = async (s: PjClient): Promise<void> => {
  s.connect();
  await new Promise<void>((r) => s.once('connect', () => r()));
};

beforeAll(async () => {
  b = await bed(tokens);
  teacher = await connectTo(b.base, { query: { token: tokens.instructor } });
});
afterAll(async () => {
  teacher.close();
  await b.close();
});

describe("a student's seat through a reconnect", () => {
  it('keeps its name and follows on after a cut; the roster has it once', async () => {
    const key = randomBytes(16).toString('hex');
    const s = await page(key);
    expect(await ask(s, 'classroom:join', { name: 'Ada' })).toMatchObject({ ok: true });
    expect(await ask(s, 'classroom:attend', { on: true })).toMatchObject({ ok: true });
    const got: ClassViewMsg[] = [];
    s.on('classroom:view', (m) => got.push(m));
    const oldId = s.id;
    s.io.engine.close();
    await sleep(500);
    await reconnect(s);
    expect(s.id).not.toBe(oldId);
    const me = await ask<ClassMe>(s, 'classroom:me', {});
    expect(me).toEqual({ ok: true, value: { id: s.id, role: 'student', tokens: true, name: 'Ada' } });
    // No attend on the new socket: its session still follows.
    await ask(teacher, 'classroom:view', view(7));
    await expect.poll(() => got.at(-1)?.view?.step, { timeout: 2000 }).toBe(7);
    const roster = await ask<ClassRoster>(teacher, 'classroom:watch', {});
    if (!roster.ok) throw new Error(roster.error);
    expect(roster.value.clients.filter((c) => c.name === 'Ada').map((c) => c.id)).toEqual([s.id]);
    s.close();
  });

  it('a kicked student is gone for good: the same key starts a new session with no name', async () => {
    const key = randomBytes(16).toString('hex');
    const s = await page(key);
    expect(await ask(s, 'classroom:join', { name: 'Bo' })).toMatchObject({ ok: true });
    const id = s.id;
    const gone = new Promise<void>((r) => s.once('disconnect', () => r()));
    expect(await ask(teacher, 'classroom:kick', { id })).toEqual({ ok: true, value: null });
    await gone;
    await reconnect(s);
    expect(await ask<ClassMe>(s, 'classroom:me', {})).toMatchObject({ ok: true, value: { name: null } });
    s.close();
  });
});
