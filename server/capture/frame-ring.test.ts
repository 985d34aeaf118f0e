// A resumed capture watch: the rows after the last index the page applied, out of the frames kept,
// and how many it missed (gone from the window, or more than the answer carries).
import { describe, expect, it } from 'vitest';
import type { PacketRow } from '../protocol/capture';
import type { CaptureRecord } from './pcap';
import { FrameRing } from './frame-ring';

const frame = (index: number) => ({
  rec: {} as CaptureRecord,
  row: { index } as unknown as PacketRow,
  linktype: 1,
});
const indexes = (rs: readonly PacketRow[]): number[] => rs.map((r) => r.index);

describe('FrameRing.after', () => {
  it('gives the rows after an index, and counts those no longer kept', () => {
    const f = new FrameRing(100);
    for (let i = 0; i < 50; i++) f.push(frame(i));
    expect(indexes(f.after(44, 1000).rows)).toEqual([45, 46, 47, 48, 49]);
    expect(f.after(44, 1000).missed).toBe(0);
    expect(f.after(49, 1000)).toEqual({ rows: [], missed: 0 });
    expect(f.after(-1, 1000).rows).toHaveLength(50);
    for (let i = 50; i < 300; i++) f.push(frame(i));
    const r = f.after(9, 1000);
    const first = r.rows[0]?.index ?? -1;
    expect(first).toBeGreaterThan(150);
    expect(r.missed).toBe(first - 10);
    expect(r.rows.at(-1)?.index).toBe(299);
  });

  it('sends at most `max` rows, the newest, and counts the rest as missed', () => {
    const f = new FrameRing(1000);
    for (let i = 0; i < 500; i++) f.push(frame(i));
    const r = f.after(99, 50);
    expect(indexes(r.rows)).toEqual(Array.from({ length: 50 }, (_, k) => 450 + k));
    expect(r.missed).toBe(350);
  });
});
