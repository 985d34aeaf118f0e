// Captures under parallel requests and early disconnects: a real socket.io server and clients, tcpdump
// in a real namespace (pjt-race-cap).
import type { PjSocket as PjServerSocket } from '../gateway/types';
import type { CaptureInfo } from '../protocol/capture';
import type { Ack } from '../protocol/common';
import { captureManager } from './manager';
import { captureBed } from '../../test/capture-bed';
import { ask, type PjClient } from '../../test/socket';
import { describe, expect, it } from 'vitest';

const NS = 'pjt-race-cap';

describe('captures under races (real tcpdump)', () => {
  const bed = captureBed(NS);
  const running = (): CaptureInfo[] =>
    captureManager
      .list()
      .filter((c) => c.live)
      .map((c) => c.info());

  it('40 parallel starts: 16 run (the limit), the rest are refused in one line', async () => {
    // From 10 clients, 4 each: one client alone may run only 4 (quotas.test.ts).
    const many = await Promise.all(Array.from({ length: 10 }, () => bed.another()));
    const acks = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        ask<CaptureInfo>(many[i % 10] as PjClient, 'capture:start', {
          netns: NS,
          iface: 'lo',
          filter: 'icmp',
          save: false,
        }),
      ),
    );
    const peak = running().length;
    for (const a of acks) if (a.ok) await ask(bed.client, 'capture:stop', { id: a.value.id });
    expect(peak).toBe(16);
    expect(acks.filter((a) => a.ok)).toHaveLength(16);
    for (const a of acks.filter((x) => !x.ok))
      expect(a).toMatchObject({
        ok: false,
        error: expect.stringMatching(/^16 captures are already running \(limit 16\)/),
      });
    expect(running()).toEqual([]);
  });

  it('an unsaved capture whose client disconnects before the answer stops, like any unwatched one', async () => {
    // The connection drops while the start is on its way (the handler is already checking the filter).
    const dropMidStart = (s: PjServerSocket): void =>
      void s.onAny((ev: string) => {
        if (ev === 'capture:start') setImmediate(() => s.disconnect(true));
      });
    bed.io.on('connection', dropMidStart);
    const c = await bed.another();
    bed.io.off('connection', dropMidStart);
    const gone = new Promise<void>((r) => c.on('disconnect', () => r()));
    const filter = 'udp port 4242';
    c.emit(
      'capture:start',
      { netns: NS, iface: 'lo', filter, save: false },
      (() => undefined) as (a: Ack<CaptureInfo>) => void,
    );
    await gone;
    await expect.poll(() => captureManager.list().filter((x) => x.filter === filter).length, { timeout: 3000 }).toBe(1);
    const cap = captureManager.list().find((x) => x.filter === filter);
    // Its watch is released at once, so the 5 s unwatched grace stops it.
    await expect.poll(() => cap?.info().state, { timeout: 8000, interval: 200 }).toBe('stopped');
    expect(cap?.info().watchers).toBe(0);
  });
});
