// Reconnect with resume, by sequence number (issue 13): the whole gateway on a real HTTP server, real
// socket.io clients that bring a session key, the real probe loader, tcpdump and the lab. A client's
// transport is closed for seconds while marker pings run; the socket that comes back with the same key
// resumes every stream from the last position it applied. Measured before: after a 3 s cut the server
// had ended the live trace and 71 of 100 markers never arrived.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureManager } from '../capture/manager';
import { createTokens } from '../classroom/tokens';
import { labUp } from '../lab/index';
import type { CaptureInfo, CapturePacketsMsg, CaptureShown, PacketRow } from '../protocol/capture';
import type { Journey, LiveBatch, LiveResumed, LiveStarted } from '../protocol/tracer';
import { getLoader } from '../tracer/loader';
import { ask, type PjClient } from '../../test/socket';
import { createGateway, type Gateway } from '.';
import { sessionsOf } from './sessions';

const POD_B = '10.244.1.3';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const key = (): string => randomBytes(16).toString('hex');

/** `count` pings from pod-a to pod-b, `intervalS` apart; resolves when ping exits. */
const pings = (count: number, intervalS: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const p = spawn(
      'ip',
      ['netns', 'exec', 'pod-a', 'ping', '-n', '-q', '-c', String(count), '-i', String(intervalS), POD_B],
      {
        stdio: 'ignore',
      },
    );
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ping exited ${code}`))));
  });

/** The echo-request seq numbers of journeys, in arrival order (replies and other traffic left out). */
const markers = (js: readonly Journey[]): number[] =>
  js.flatMap((j) => {
    const h = j.hops.find((x) => x.icmp?.type === 8 && x.dst === POD_B);
    return h?.icmp ? [h.icmp.seq] : [];
  });

/** A client that, like the page, brings a session key and applies live journeys by position. */
class Viewer {
  readonly c: PjClient;
  readonly journeys: Journey[] = [];
  last = -1;
  /** Position of the first journey this viewer could get (LiveStarted.from). */
  first = 0;
  trace = '';
  resuming = false;
  /** Journeys that came twice or out of order (must stay empty). */
  readonly faults: string[] = [];

  constructor(
    base: string,
    readonly sessionKey = key(),
    query: Record<string, string> = {},
  ) {
    this.c = ioClient(base, { transports: ['websocket'], auth: { session: sessionKey }, query, reconnection: false });
    this.c.on('tracer:live', (b: LiveBatch) => {
      if (b.trace !== this.trace || this.resuming) return;
      if (b.from > this.last + 1) this.faults.push(`gap: batch from ${b.from} after ${this.last}`);
      this.apply(b.from, b.journeys);
    });
  }

  apply(from: number, js: readonly Journey[]): void {
    js.forEach((j, i) => {
      const pos = from + i;
      if (pos <= this.last) return;
      if (pos !== this.last + 1) this.faults.push(`position ${pos} after ${this.last}`);
      this.last = pos;
      this.journeys.push(j);
    });
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.c.connected) return resolve();
      this.c.once('connect', () => resolve());
      this.c.once('connect_error', reject);
    });
  }

  /** Cuts the transport (no goodbye: the server sees a transport close) for `ms`, then reconnects. */
  async cut(ms: number): Promise<string> {
    const before = this.c.id ?? '';
    this.c.io.engine.close();
    await sleep(ms);
    this.c.connect();
    await this.connected();
    return before;
  }

  async resume(liveId: string): Promise<ReturnType<typeof ask<LiveResumed>> extends Promise<infer A> ? A : never> {
    this.resuming = true;
    const r = await ask<LiveResumed>(this.c, 'tracer:live:resume', { liveId, after: this.last });
    this.resuming = false;
    if (r.ok && !('gone' in r.value)) {
      // What the server no longer has is counted in `missed`: the positions go on after it.
      if (r.value.missed > 0) this.last = r.value.from - 1;
      this.apply(r.value.from, r.value.journeys);
    }
    return r;
  }
}

describe('reconnect with resume (real kernel, lab, tcpdump)', () => {
  const tokensDir = mkdtempSync(join(tmpdir(), 'pjt-i13resume-'));
  const http = createServer();
  let gateway: Gateway;
  let base = '';
  const viewers: Viewer[] = [];
  /** Views a failed test left running. */
  const stops: (() => Promise<unknown>)[] = [];
  const viewer = (...a: ConstructorParameters<typeof Viewer> extends [string, ...infer R] ? R : never): Viewer => {
    const v = new Viewer(base, ...a);
    viewers.push(v);
    return v;
  };

  beforeAll(async () => {
    execFileSync('make', ['-s', '-C', new URL('../../probes', import.meta.url).pathname], { stdio: 'inherit' });
    await labUp();
    gateway = createGateway(http);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    await getLoader().ensureStarted();
  }, 120_000);

  afterAll(async () => {
    for (const v of viewers) v.c.close();
    delete process.env.PJ_RESUME_GRACE_MS;
    delete process.env.PJ_LIVE_RING_JOURNEYS;
    await gateway.close();
    await new Promise<void>((r) => http.close(() => r()));
  });

  const startLive = async (v: Viewer, liveId: string): Promise<void> => {
    const r = await ask<LiveStarted>(v.c, 'tracer:live:start', { liveId, proto: 'icmp', netns: ['pod-a'] });
    if (!r.ok) throw new Error(r.error);
    v.trace = r.value.trace;
    v.last = r.value.from - 1;
    v.first = r.value.from;
  };

  it('100 marker pings while the client is cut for 3 s: all delivered once, in order, on a new socket', async () => {
    const loader = getLoader();
    await expect.poll(() => loader.subscriptions, { timeout: 5000 }).toBe(0);
    const v = viewer();
    await v.connected();
    await startLive(v, 'resume1');
    // 100 pings over ~4 s; the cut starts half a second in and lasts 3 s.
    const done = pings(100, 0.04);
    await sleep(500);
    const oldId = await v.cut(3000);
    expect(v.c.id).not.toBe(oldId);
    const r = await v.resume('resume1');
    expect(r.ok && !('gone' in r.value) && r.value.missed).toBe(0);
    await done;
    await expect.poll(() => markers(v.journeys).length, { timeout: 5000 }).toBe(100);
    await sleep(500);
    expect(markers(v.journeys)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(new Set(v.journeys.map((j) => j.id)).size).toBe(v.journeys.length);
    expect(v.faults).toEqual([]);
    expect(await ask(v.c, 'tracer:live:stop', { liveId: 'resume1' })).toEqual({ ok: true, value: null });
    await expect.poll(() => loader.subscriptions, { timeout: 5000 }).toBe(0);
  }, 60_000);

  it('past the ring: the resume says how many journeys it no longer has, and the count adds up', async () => {
    process.env.PJ_LIVE_RING_JOURNEYS = '20';
    try {
      const v = viewer();
      await v.connected();
      await startLive(v, 'resume2');
      stops.push(() => ask(v.c, 'tracer:live:stop', { liveId: 'resume2' }));
      const done = pings(100, 0.02);
      await sleep(300);
      await v.cut(3000);
      const lastBefore = v.last;
      const r = await v.resume('resume2');
      if (!r.ok) throw new Error(r.error);
      if ('gone' in r.value) throw new Error('the view is gone');
      // Everything sent while cut beyond the ring's 20 is counted, not lost silently.
      expect(r.value.missed).toBeGreaterThan(0);
      expect(r.value.journeys).toHaveLength(20);
      expect(r.value.from - (lastBefore + 1)).toBe(r.value.missed);
      await done;
      await sleep(1000);
      // What the viewer holds plus what it was told it missed is everything the trace sent.
      expect(v.journeys.length + r.value.missed).toBe(v.last + 1 - v.first);
      expect(markers(v.journeys).length).toBeLessThan(100);
      expect(v.faults).toEqual([]);
      await ask(v.c, 'tracer:live:stop', { liveId: 'resume2' });
    } finally {
      delete process.env.PJ_LIVE_RING_JOURNEYS;
      for (const stop of stops.splice(0)) await stop();
    }
  }, 60_000);

  it('a capture watched through a 6 s cut gets every row by index, and the unsaved capture kept running', async () => {
    const v = viewer();
    await v.connected();
    const rows: PacketRow[] = [];
    let resuming = false;
    v.c.on('capture:packets', (m: CapturePacketsMsg) => {
      if (!resuming) rows.push(...m.rows.filter((x) => x.index > (rows.at(-1)?.index ?? -1)));
    });
    const start = await ask<CaptureInfo>(v.c, 'capture:start', {
      netns: 'pod-a',
      iface: 'eth0',
      filter: 'icmp',
      save: false,
    });
    if (!start.ok) throw new Error(start.error);
    const id = start.value.id;
    try {
      const done = pings(100, 0.05);
      await sleep(500);
      // Longer than an unsaved capture's own 5 s unwatched grace: the session's watch holds it.
      await v.cut(6000);
      resuming = true;
      const r = await ask<CaptureShown>(v.c, 'capture:watch', { id, after: rows.at(-1)?.index ?? -1 });
      resuming = false;
      if (!r.ok) throw new Error(r.error);
      expect(r.value.info.state).toBe('running');
      expect(r.value.missed).toBe(0);
      rows.push(...r.value.rows.filter((x) => x.index > (rows.at(-1)?.index ?? -1)));
      await done;
      // 100 requests and 100 replies on pod-a's eth0.
      await expect.poll(() => rows.length, { timeout: 5000 }).toBe(200);
      expect(rows.map((x) => x.index)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    } finally {
      await ask(v.c, 'capture:stop', { id });
    }
  }, 60_000);

  it('past the grace the session ends: its live view and capture stop (no loader filter, no tcpdump left)', async () => {
    process.env.PJ_RESUME_GRACE_MS = '1500';
    try {
      const loader = getLoader();
      await expect.poll(() => loader.subscriptions, { timeout: 5000 }).toBe(0);
      const v = viewer();
      await v.connected();
      await startLive(v, 'resume3');
      const start = await ask<CaptureInfo>(v.c, 'capture:start', { netns: 'pod-a', iface: 'eth0', save: false });
      if (!start.ok) throw new Error(start.error);
      expect(loader.subscriptions).toBe(1);
      const sessions = sessionsOf(gateway.io);
      v.c.io.engine.close();
      await expect.poll(() => sessions.held, { timeout: 3000 }).toBeGreaterThanOrEqual(1);
      // Held: still running during the grace.
      expect(loader.subscriptions).toBe(1);
      expect(captureManager.get(start.value.id)?.live).toBe(true);
      await expect.poll(() => loader.subscriptions, { timeout: 5000 }).toBe(0);
      // Then the capture's own unwatched grace (5 s) runs, and tcpdump is stopped.
      await expect.poll(() => captureManager.get(start.value.id)?.live, { timeout: 10_000 }).toBe(false);
      // The page comes back too late: the server says so, and the page starts it again.
      v.c.connect();
      await v.connected();
      expect(await ask(v.c, 'tracer:live:resume', { liveId: 'resume3', after: v.last })).toEqual({
        ok: true,
        value: { liveId: 'resume3', gone: true },
      });
    } finally {
      delete process.env.PJ_RESUME_GRACE_MS;
    }
  }, 60_000);

  it("a session resumes only its own views: another page's live id is not there to take", async () => {
    const a = viewer();
    const b = viewer();
    await Promise.all([a.connected(), b.connected()]);
    await startLive(a, 'own1');
    try {
      expect(await ask(b.c, 'tracer:live:resume', { liveId: 'own1', after: -1 })).toEqual({
        ok: true,
        value: { liveId: 'own1', gone: true },
      });
      expect((await ask(a.c, 'tracer:live:resume', { liveId: 'own1', after: a.last })).ok).toBe(true);
    } finally {
      await ask(a.c, 'tracer:live:stop', { liveId: 'own1' });
    }
  });

  it('a bad session key is refused in one line', async () => {
    const c = ioClient(base, { transports: ['websocket'], auth: { session: 'not-hex' }, reconnection: false });
    const err = await new Promise<Error>((r) => c.once('connect_error', r));
    c.close();
    expect(err.message).toBe('bad session key: session: not a session key (32 hex digits)');
  });

  it('a student key cannot take an instructor session (token mode)', async () => {
    const tokens = createTokens({ dir: tokensDir });
    const http2 = createServer();
    const g = createGateway(http2, { host: '127.0.0.1', tokens });
    await new Promise<void>((r) => http2.listen(0, '127.0.0.1', () => r()));
    const base2 = `http://127.0.0.1:${(http2.address() as AddressInfo).port}`;
    try {
      const k = key();
      const teacher = new Viewer(base2, k, { token: tokens.instructor });
      await teacher.connected();
      teacher.c.io.engine.close();
      await expect.poll(() => sessionsOf(g.io).held, { timeout: 3000 }).toBe(1);
      const student = new Viewer(base2, k, { token: tokens.student });
      const err = await student.connected().then(
        () => undefined,
        (e: Error) => e.message,
      );
      student.c.close();
      expect(err).toBe('this session belongs to another role: reload the page');
      // The instructor's page takes it back.
      teacher.c.connect();
      await teacher.connected();
      expect(sessionsOf(g.io).held).toBe(0);
      teacher.c.close();
    } finally {
      await g.close();
      await new Promise<void>((r) => http2.close(() => r()));
    }
  });
});
