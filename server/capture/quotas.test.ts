// Limits on what clients may hold (issue 10, defects 3 and 14): uploads leave memory with their socket,
// are limited per client and in bytes held in total; live captures are limited per client; the captures
// folder has a quota. A real socket.io server and clients, tcpdump in a real namespace (pjt-quota-cap),
// real files in a temp captures folder.
import { spawn } from 'node:child_process';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CaptureInfo, PacketRow } from '../protocol/capture';
import { SEED000_FRAME } from './fixtures/frames';
import { captureManager } from './manager';
import { writePcap } from './pcap';
import { captureBed } from '../../test/capture-bed';
import { ask, type PjClient } from '../../test/socket';
import { sessionOf } from '../gateway/sessions';
import type { PjSocket } from '../gateway/types';

const NS = 'pjt-quota-cap';
/** A small pcap (200 frames); the memory budget is set to hold four and a half of them. */
const PCAP = writePcap(
  1,
  Array.from({ length: 200 }, (_, i) => ({ data: SEED000_FRAME, tsSec: 1700000000 + i, tsNsec: 0 })),
);
process.env.PJ_CAPTURE_UPLOADS_MAX_BYTES = String(Math.floor(PCAP.length * 4.5));
const upload = { name: 'dsr.pcap', base64: PCAP.toString('base64') };
type Shown = { info: CaptureInfo; rows: PacketRow[] };

describe('per-client and total limits on uploads, live captures and the captures folder', () => {
  const bed = captureBed(NS, 16 * 1024 * 1024);
  const { dir } = bed;
  const another = (): Promise<PjClient> => bed.another();
  const inMemory = (ids: readonly string[]): number => captureManager.list().filter((c) => ids.includes(c.id)).length;
  const saved = (): string[] => readdirSync(dir).sort();
  /** Uploads belong to the client's session (gateway/session.ts), not to one socket. */
  const ownerOf = (c: PjClient): string => sessionOf(bed.io.sockets.sockets.get(c.id ?? '') as PjSocket).id;

  afterAll(() => {
    delete process.env.PJ_CAPTURE_UPLOADS_MAX_BYTES;
    delete process.env.PJ_CAPTURE_QUOTA_BYTES;
  });

  it("a client's uploads leave memory when it disconnects", async () => {
    const c = await another();
    const acks = await Promise.all([1, 2, 3].map(() => ask<Shown>(c, 'capture:decode-file', upload)));
    const ids = acks.map((a) => (a.ok ? a.value.info.id : a.error));
    expect(inMemory(ids)).toBe(3);
    c.close();
    await expect.poll(() => inMemory(ids), { timeout: 3000 }).toBe(0);
    expect(captureManager.uploads()).toEqual({ count: 0, bytes: 0 });
  });

  it('one client holds at most 4 uploads, and all clients together at most the memory budget', async () => {
    const a = await another();
    const acks = await Promise.all([1, 2, 3, 4, 5].map(() => ask<Shown>(a, 'capture:decode-file', upload)));
    expect(acks.filter((x) => x.ok)).toHaveLength(4);
    expect(acks.find((x) => !x.ok)).toMatchObject({
      ok: false,
      error: 'at most 4 uploads open per client; close one (or reload the page) first',
    });
    // Four are held and watched; a fifth, from another client, would go past the budget (4.5 files).
    const b = await another();
    const refused = await ask(b, 'capture:decode-file', upload);
    expect(refused).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^uploads already hold [\d.]+ MB in memory/),
    });
    expect(refused.ok || refused.error).not.toContain('\n');
    expect(captureManager.uploads().count).toBe(4);
    // One nobody watches any more makes room.
    const first = acks.find((x) => x.ok);
    if (!first?.ok) throw new Error('no upload');
    await ask(a, 'capture:unwatch', { id: first.value.info.id });
    expect((await ask(b, 'capture:decode-file', upload)).ok).toBe(true);
    expect(inMemory([first.value.info.id])).toBe(0);
    expect(captureManager.uploads(ownerOf(b)).count).toBe(1);
    a.close();
    b.close();
    await expect.poll(() => captureManager.uploads().count, { timeout: 3000 }).toBe(0);
  });

  it('an opened saved file counts like an upload: per client, in the memory budget, gone on disconnect', async () => {
    writeFileSync(join(dir, 'opened.pcapng'), PCAP, { mode: 0o600 });
    const a = await another();
    const acks = await Promise.all([1, 2, 3, 4, 5].map(() => ask<Shown>(a, 'capture:open', { name: 'opened.pcapng' })));
    expect(acks.filter((x) => x.ok)).toHaveLength(4);
    expect(acks.find((x) => !x.ok)).toMatchObject({
      ok: false,
      error: 'at most 4 uploads open per client; close one (or reload the page) first',
    });
    expect(captureManager.uploads(ownerOf(a))).toEqual({ count: 4, bytes: 4 * PCAP.length });
    // Four watched, of 4.5 files' budget: another client's open would go past it.
    const b = await another();
    const refused = await ask(b, 'capture:open', { name: 'opened.pcapng' });
    expect(refused).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^uploads already hold [\d.]+ MB in memory/),
    });
    const ids = acks.map((x) => (x.ok ? x.value.info.id : ''));
    a.close();
    await expect.poll(() => inMemory(ids), { timeout: 3000 }).toBe(0);
    expect(captureManager.uploads().count).toBe(0);
    expect((await ask(b, 'capture:open', { name: 'opened.pcapng' })).ok).toBe(true);
    b.close();
    await expect.poll(() => captureManager.uploads().count, { timeout: 3000 }).toBe(0);
    rmSync(join(dir, 'opened.pcapng'));
  });

  it('one client runs at most 4 live captures; another client still gets one', async () => {
    const a = await another();
    const start = (c: PjClient) =>
      ask<CaptureInfo>(c, 'capture:start', { netns: NS, iface: 'lo', filter: 'icmp', save: false });
    const acks = await Promise.all([1, 2, 3, 4, 5, 6].map(() => start(a)));
    const other = await start(await another());
    const all = [...acks, other];
    for (const x of all) if (x.ok) await ask(bed.client, 'capture:stop', { id: x.value.id });
    expect(acks.filter((x) => x.ok)).toHaveLength(4);
    for (const x of acks.filter((y) => !y.ok))
      expect(x).toMatchObject({ ok: false, error: 'at most 4 live captures per client; stop one first' });
    expect(other.ok).toBe(true);
    // A stopped capture frees its client's slot.
    const again = await start(a);
    expect(again.ok).toBe(true);
    if (again.ok) await ask(a, 'capture:stop', { id: again.value.id });
  });

  it('the captures folder has a quota: a save that does not fit is refused, and nothing is written', async () => {
    const used = saved().reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    process.env.PJ_CAPTURE_QUOTA_BYTES = String(used + PCAP.length - 1);
    const before = saved();
    const r = await ask(bed.client, 'capture:decode-file', upload);
    expect(r).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^the captures folder is full: .* quota [\d.]+ MB/),
    });
    expect(r.ok || r.error).not.toContain('\n');
    expect(saved()).toEqual(before);
    expect(captureManager.uploads().count).toBe(0);
    // With the folder already at its quota a saving live capture is refused too.
    writeFileSync(join(dir, 'filler.pcapng'), Buffer.alloc(PCAP.length));
    const live = await ask(bed.client, 'capture:start', { netns: NS, iface: 'lo', filter: 'icmp', save: true });
    expect(live).toMatchObject({ ok: false, error: expect.stringMatching(/^the captures folder is full: /) });
    expect(saved()).toEqual([...before, 'filler.pcapng'].sort());
    rmSync(join(dir, 'filler.pcapng'));
    delete process.env.PJ_CAPTURE_QUOTA_BYTES;
  });

  it('an upload whose save outgrows the quota on the way is refused and leaves no file', async () => {
    const before = saved();
    const used = before.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    // Room for the pcap's bytes (the check up front passes), not for the larger pcapng they become.
    process.env.PJ_CAPTURE_QUOTA_BYTES = String(used + PCAP.length);
    const r = await ask(bed.client, 'capture:decode-file', upload);
    delete process.env.PJ_CAPTURE_QUOTA_BYTES;
    expect(r).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^cannot save the upload: the captures folder quota is reached \([\d.]+ MB/),
    });
    expect(r.ok || r.error).not.toContain('\n');
    expect(saved()).toEqual(before);
    expect(captureManager.uploads().count).toBe(0);
  });

  it('a running save stops with a clear reason when the folder reaches its quota', async () => {
    const used = saved().reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    const room = 40_000;
    process.env.PJ_CAPTURE_QUOTA_BYTES = String(used + room);
    const r = await ask<CaptureInfo>(bed.client, 'capture:start', {
      netns: NS,
      iface: 'lo',
      filter: 'icmp',
      save: true,
    });
    if (!r.ok) throw new Error(r.error);
    // About 200 pings of 1000 bytes each way: far more than the room left.
    const ping = spawn('ip', ['netns', 'exec', NS, 'ping', '-q', '-i', '0.01', '-s', '1000', '-c', '200', '127.0.0.1']);
    try {
      const cap = captureManager.get(r.value.id);
      await expect.poll(() => cap?.info().state, { timeout: 8000, interval: 100 }).toBe('stopped');
      expect(cap?.info().exit?.reason).toMatch(/^the captures folder quota is reached \([\d.]+ MB/);
      const total = saved().reduce((n, f) => n + statSync(join(dir, f)).size, 0);
      expect(total).toBeLessThanOrEqual(used + room);
      expect(statSync(join(dir, r.value.fileName ?? '')).size).toBeGreaterThan(0);
    } finally {
      ping.kill();
      delete process.env.PJ_CAPTURE_QUOTA_BYTES;
    }
  });
});
