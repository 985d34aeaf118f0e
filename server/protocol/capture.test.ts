// The browser parses every capture push and answer with these schemas (issue 10's leftover: they were
// plain interfaces, so nothing checked them). Real values from the server's own capture code must pass
// whole (no field stripped or refused), and a malformed push must not.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { CaptureManager } from '../capture/manager';
import { CaptureInfo, CapturePacketsMsg, CaptureShown, PacketDetail } from './capture';
import { PUSH_SCHEMAS, type ServerToClientEvents } from './events';

/** Every push the server sends (the compiler keeps this list complete). */
const PUSHES: Record<keyof ServerToClientEvents, true> = {
  'lab:update': true,
  'lab:progress': true,
  'topology:update': true,
  'tracer:status:update': true,
  'tracer:journeys': true,
  'tracer:live': true,
  'capture:packets': true,
  'capture:status': true,
  'classroom:update': true,
  'classroom:notice': true,
  'classroom:view': true,
  'replay:update': true,
  'flows:update': true,
};

describe('capture wire schemas', () => {
  it('every push the server sends has a schema the browser parses it with', () => {
    expect(Object.keys(PUSHES).filter((e) => !PUSH_SCHEMAS[e as keyof ServerToClientEvents])).toEqual([]);
  });

  it("the server's own capture values pass whole: info, rows, every packet's detail", async () => {
    const pcap = readFileSync(new URL('../capture/fixtures/dsr-examples.pcap', import.meta.url));
    const c = await new CaptureManager().load(pcap, 'dsr-examples.pcap', false, tmpdir());
    const { rows, unwatch } = c.watch({ rows: () => undefined, status: () => undefined });
    try {
      expect(rows.length).toBeGreaterThan(0);
      const shown = { info: c.info(), rows };
      expect(CaptureShown.parse(shown)).toEqual(shown);
      expect(CapturePacketsMsg.parse({ id: c.id, rows, dropped: 0 })).toEqual({ id: c.id, rows, dropped: 0 });
      for (const r of rows) {
        const d = c.detail(r.index);
        expect(PacketDetail.parse(d)).toEqual(d);
      }
    } finally {
      unwatch();
    }
  });

  it('a malformed push or answer is refused', () => {
    expect(CapturePacketsMsg.safeParse({ id: 'c1', rows: 'x', dropped: 0 }).success).toBe(false);
    expect(CaptureInfo.safeParse({ id: 'c1', state: 'exploded' }).success).toBe(false);
    expect(PUSH_SCHEMAS['capture:status']?.safeParse({}).success).toBe(false);
  });
});
