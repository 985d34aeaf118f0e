// Who may connect: tokens (missing, bad, rotated), a foreign Origin (refused on 127.0.0.1 too: issue
// 13 measured `Origin: http://evil.example` accepted), a Host that is not this server's, and the HTTP
// side (page, capture download) behind the same check. The real gateway and HTTP routing, on a real port.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../test/cli';
import { ask, connectTo, type PjClient } from '../../test/socket';
import { bed, get, tryConnect, type Bed } from './test-bed';
import { createTokens } from './tokens';

describe('tokens', () => {
  it('are 192 random bits, kept 0600 across restarts, new with rotate; a wrong or missing one grants nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pjt-class-'));
    const a = createTokens({ dir });
    expect(a.instructor).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(a.student).not.toBe(a.instructor);
    expect(statSync(join(dir, 'tokens.json')).mode & 0o777).toBe(0o600);
    const b = createTokens({ dir });
    expect([b.instructor, b.student]).toEqual([a.instructor, a.student]);
    const c = createTokens({ dir, rotate: true });
    expect(c.instructor).not.toBe(a.instructor);
    expect(JSON.parse(readFileSync(join(dir, 'tokens.json'), 'utf8'))).toEqual({
      instructor: c.instructor,
      student: c.student,
    });
    expect(c.roleOf(c.instructor)).toBe('instructor');
    expect(c.roleOf(c.student)).toBe('student');
    expect(c.roleOf(a.student)).toBeUndefined();
    expect(c.roleOf(undefined)).toBeUndefined();
    expect(c.roleOf('')).toBeUndefined();
    expect(c.roleOf(c.student.slice(0, -1))).toBeUndefined();
    expect(c.roleOf(c.student + 'x')).toBeUndefined();
  });
});

describe('serve flags', () => {
  it('--rotate-tokens without token mode is a one-line usage error', () => {
    const r = cli(['serve', '--rotate-tokens']);
    expect([r.code, r.stderr]).toEqual([
      2,
      'packet-journey serve: --rotate-tokens needs token mode: a --host other than loopback, or --require-tokens\n',
    ]);
  });
});

describe('token mode', () => {
  const tokens = createTokens({ dir: mkdtempSync(join(tmpdir(), 'pjt-class-')) });
  let b: Bed;
  beforeAll(async () => {
    b = await bed(tokens);
  });
  afterAll(() => b.close());

  it('refuses a socket with a missing or bad token, websocket and polling; accepts the right one', async () => {
    for (const transports of [['websocket'], ['polling']]) {
      expect(await tryConnect(b.base, { transports })).not.toBe('connected');
      expect(await tryConnect(b.base, { transports, query: { token: 'x'.repeat(32) } })).not.toBe('connected');
      expect(await tryConnect(b.base, { transports, query: { token: tokens.student } })).toBe('connected');
      expect(
        await tryConnect(b.base, {
          transports,
          extraHeaders: { cookie: `pj_token_${b.port}=${tokens.instructor}` },
        }),
      ).toBe('connected');
    }
  });

  it('HTTP: no token is a 401, the link trades its token for a cookie, a student downloads only shared files', async () => {
    const none = await get(b.port, '/');
    expect(none.status).toBe(401);
    expect(none.body).toBe('this server needs a token: open the link it printed (ask the instructor)\n');
    expect((await get(b.port, '/?token=nope')).status).toBe(401);
    const link = await get(b.port, `/follow?x=1&token=${tokens.student}`);
    expect(link.status).toBe(302);
    expect(link.headers.location).toBe('/follow?x=1');
    expect(link.headers['set-cookie']?.[0]).toBe(
      `pj_token_${b.port}=${tokens.student}; HttpOnly; SameSite=Lax; Path=/`,
    );
    const cookie = { cookie: `pj_token_${b.port}=${tokens.student}` };
    expect((await get(b.port, '/', cookie)).body).toBe('page');
    const dl = await get(b.port, '/captures/node1-secret.pcapng', cookie);
    expect([dl.status, dl.body]).toEqual([403, 'this capture is not shared with students\n']);
    // The instructor reaches the download handler (no such file: its 404).
    const teacher = await get(b.port, '/captures/node1-secret.pcapng', {
      cookie: `pj_token_${b.port}=${tokens.instructor}`,
    });
    expect(teacher.status).toBe(404);
  });

  it('rotating disconnects every old holder, with a notice; the old token no longer opens anything', async () => {
    const old = { ...tokens };
    const teacher = await connectTo(b.base, { query: { token: old.instructor } });
    const student = await connectTo(b.base, { query: { token: old.student } });
    const notices: string[] = [];
    student.on('classroom:notice', (l) => notices.push(l));
    const gone = new Promise<string>((r) => student.on('disconnect', (why) => r(why)));
    const r = await ask<{ instructor: string; student: string; studentQrSvg: string }>(teacher, 'classroom:rotate', {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.student).toBe(`${b.base}/?token=${tokens.student}`);
    expect(tokens.student).not.toBe(old.student);
    expect(r.value.studentQrSvg).toMatch(/^<svg/);
    expect(await gone).toBe('io server disconnect');
    expect(notices).toEqual(['the tokens were rotated: ask the instructor for the new link']);
    expect(await tryConnect(b.base, { transports: ['websocket'], query: { token: old.student } })).not.toBe(
      'connected',
    );
    expect((await get(b.port, '/', { cookie: `pj_token_${b.port}=${old.instructor}` })).status).toBe(401);
    expect(await tryConnect(b.base, { transports: ['websocket'], query: { token: tokens.student } })).toBe('connected');
    teacher.close();
    student.close();
  });

  it("a student's out-of-role, malformed and oversized messages are refused, and the server carries on", async () => {
    const student = await connectTo(b.base, { query: { token: tokens.student } });
    await ask(student, 'classroom:join', { name: 'Eve' });
    expect(await ask(student, 'capture:start', { netns: 'node1', iface: 'veth-pod-a' })).toMatchObject({
      ok: false,
      error: "students can capture only on a lab pod's eth0",
    });
    expect(await ask(student, 'lab:run', { action: 'down' })).toMatchObject({
      ok: false,
      error: 'students cannot change the lab or its scenario',
    });
    // Malformed: the real handler's schema answers.
    const bad = await ask(student, 'tracer:follow', { from: 5, to: 'pod-c' });
    expect(bad).toMatchObject({ ok: false, error: 'from: Invalid input: expected string, received number' });
    // Past socket.io's size limit the message is not even parsed: that connection ends, nobody else's.
    const other = await connectTo(b.base, { query: { token: tokens.student } });
    const gone = new Promise<string>((r) => student.on('disconnect', (why) => r(why)));
    student.emit('capture:decode-file', { base64: 'A'.repeat(24 * 1024 * 1024) }, () => undefined);
    expect(await gone).toBe('transport close');
    expect(await ask(other, 'classroom:me', {})).toMatchObject({ ok: true, value: { role: 'student' } });
    other.close();
  });

  it('the instructor sees a student by name, and disconnects it', async () => {
    const teacher = await connectTo(b.base, { query: { token: tokens.instructor } });
    const student = await connectTo(b.base, { query: { token: tokens.student } });
    await ask(student, 'classroom:join', { name: 'Zoé' });
    const roster = await ask<{ clients: { id: string; name: string | null; role: string }[] }>(
      teacher,
      'classroom:watch',
      {},
    );
    expect(roster.ok).toBe(true);
    const zoe = roster.ok ? roster.value.clients.find((c) => c.name === 'Zoé') : undefined;
    expect(zoe?.role).toBe('student');
    const gone = new Promise<string>((r) => student.on('disconnect', (why) => r(why)));
    expect(await ask(teacher, 'classroom:kick', { id: zoe?.id })).toEqual({ ok: true, value: null });
    expect(await gone).toBe('io server disconnect');
    expect(await ask(teacher, 'classroom:kick', { id: zoe?.id })).toMatchObject({
      ok: false,
      error: `no client ${zoe?.id}`,
    });
    teacher.close();
  });
});

describe('origin and host, without tokens (127.0.0.1)', () => {
  let b: Bed;
  beforeAll(async () => {
    b = await bed();
  });
  afterAll(() => b.close());

  it('refuses a websocket or polling handshake from http://evil.example, accepts its own origin and none', async () => {
    for (const transports of [['websocket'], ['polling']]) {
      expect(await tryConnect(b.base, { transports, extraHeaders: { origin: 'http://evil.example' } })).not.toBe(
        'connected',
      );
      expect(
        await tryConnect(b.base, { transports, extraHeaders: { origin: `http://evil.example:${b.port}` } }),
      ).not.toBe('connected');
      expect(await tryConnect(b.base, { transports, extraHeaders: { origin: b.base } })).toBe('connected');
      expect(await tryConnect(b.base, { transports, extraHeaders: { origin: `http://localhost:${b.port}` } })).toBe(
        'connected',
      );
      expect(await tryConnect(b.base, { transports })).toBe('connected');
    }
  });

  it('refuses a request naming another host (a DNS-rebound page), and serves its own', async () => {
    const evil = await get(b.port, '/', { host: `evil.example:${b.port}` });
    expect([evil.status, evil.body]).toEqual([
      403,
      'this server answers only to its own addresses (Host not allowed)\n',
    ]);
    expect((await get(b.port, '/')).body).toBe('page');
    // The local user is the instructor: no token asked.
    const c: PjClient = await connectTo(b.base);
    expect(await ask(c, 'classroom:me', {})).toMatchObject({ ok: true, value: { role: 'instructor', tokens: false } });
    c.close();
  });
});
