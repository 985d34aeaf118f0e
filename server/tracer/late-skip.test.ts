// Under a flood, live views drop what is over their lag bound; the loader must not build those events at
// all (issue 10's soak: RSS swung with each burst from decoding ~300k events/s that were then dropped),
// while a follow still sees every event of its flow. No kernel here: a stand-in loader prints a recorded
// ready record, then on `sync` the batch the test wrote, with timestamps set against the kernel clock.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, load, namer } from './fixtures/load';
import type { HopEvent } from './hop-event';
import { BUILD_BUDGET, LiveJourneys } from './live';
import { kernelNow, ProbeLoader } from './loader';
import { byteLines } from './loader-process';
import { parseLoaderLine, readHopBatch, type CodeTables } from './ndjson';

const lines = fixture('ping-pod-a-pod-c.ndjson').split('\n').filter(Boolean);
const readyLine = lines[0] as string;
const ready = parseLoaderLine(readyLine);
const tables = (ready?.type === 'ready' ? ready.tables : undefined) as CodeTables;
const recorded = Buffer.from(/"data":"([^"]*)"/.exec(lines[1] as string)?.[1] ?? '', 'base64');
const size = tables.layout.size;
const count = recorded.length / size;

/** The recorded events again, with this kernel time and slot mask. */
function events(tsNs: number, mask: number): Buffer {
  const b = Buffer.from(recorded);
  for (let o = 0; o < b.length; o += size) {
    b.writeBigUInt64LE(BigInt(Math.round(tsNs)), o + tables.layout.ts_ns);
    b.writeUInt32LE(mask, o + tables.layout.mask);
  }
  return b;
}
const batchLine = (b: Buffer): string => `{"type":"hops","n":${b.length / size},"data":"${b.toString('base64')}"}`;
const terminals = recorded.filter((_, i) => i % size === tables.layout.hook).filter((c) => tables.terminal[c]).length;

describe('hop batches read off their bytes', () => {
  it('decode as before, and ask pick about each event before building it', () => {
    const whole = parseLoaderLine(lines[1] as string, tables);
    const line = Buffer.from(lines[1] as string);
    expect(readHopBatch(line, tables)).toEqual(whole?.type === 'hops' ? whole.hops : undefined);
    const asked: [number, number, boolean][] = [];
    expect(readHopBatch(line, tables, (ts, mask, end) => (asked.push([ts, mask, end]), 0))).toEqual([]);
    const hops = whole?.type === 'hops' ? whole.hops : [];
    expect(asked).toEqual(hops.map((h) => [h.tsNs, h.mask, h.hook === 'kfree_skb' || h.hook === 'consume_skb']));
    // Still a torn line is refused whole, picked or not.
    expect(readHopBatch(line.subarray(0, line.length - 1), tables, () => 0)).toBeUndefined();
  });

  it('lines are split on bytes across chunks, and a line inside one chunk is not copied', () => {
    const got: string[] = [];
    const push = byteLines((l) => got.push(l.toString()));
    push(Buffer.from('ab\ncd'));
    push(Buffer.from('ef'));
    push(Buffer.from('gh\n\nij\n'));
    expect(got).toEqual(['ab', 'cdefgh', '', 'ij']);
  });
});

describe('a live view over its lag bound, beside a follow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pjt-late-'));
  const batch = join(dir, 'batch.ndjson');
  const fake = join(dir, 'loader.cjs');
  writeFileSync(
    fake,
    `#!${process.execPath}
const fs = require('fs');
process.stdout.write(fs.readFileSync(process.argv[2], 'utf8'));
require('readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const [id, cmd] = l.split(' ');
  if (cmd === 'sync') process.stdout.write(fs.readFileSync(process.argv[3], 'utf8'));
  process.stdout.write(JSON.stringify({ type: 'ack', id, ok: true }) + '\\n');
}).on('close', () => process.exit(0));
`,
  );
  chmodSync(fake, 0o755);
  writeFileSync(join(dir, 'ready.ndjson'), `${readyLine}\n`);
  const loader = new ProbeLoader(fake, 0, [join(dir, 'ready.ndjson'), batch]);
  afterAll(async () => {
    await loader.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('skips late events only the live view matched (counting their packet ends), and delivers the rest', async () => {
    const live: HopEvent[] = [];
    const follow: HopEvent[] = [];
    let lateEnds = 0;
    const a = await loader.subscribe({ proto: 1 }, (h) => live.push(h), {
      live: true,
      late: { maxLagNs: 500e6, onLate: () => lateEnds++ },
    });
    const b = await loader.subscribe({ proto: 1 }, (h) => follow.push(h));
    const [liveBit, followBit] = [1 << a.slot, 1 << b.slot];
    const now = kernelNow();
    writeFileSync(
      batch,
      [
        batchLine(events(now - 2e9, liveBit)), // late, the live view's only: never built
        batchLine(events(now - 2e9, liveBit | followBit)), // late, but the follow needs it
        batchLine(events(now, liveBit)), // on time
        batchLine(events(now, 1 << 20)), // no slot of ours
      ].join('\n') + '\n',
    );
    await loader.sync();
    expect(follow).toHaveLength(count);
    expect(follow.every((h) => h.tsNs < now - 1e9)).toBe(true);
    // Only the on-time batch: a late event the follow took too is the follow's, not the view's.
    expect(live).toHaveLength(count);
    expect(live.every((h) => h.tsNs >= now - 1e6)).toBe(true);
    expect(terminals).toBeGreaterThan(0);
    expect(lateEnds).toBe(2 * terminals);
    expect(loader.skipped).toBe(2 * count);
    expect(loader.status.badLines).toBe(0);
    await a.close();
    await b.close();
  });

  it('admits whole packets within the budget and skips the rest before decoding', async () => {
    const got: HopEvent[] = [];
    let refused = 0;
    const budget = { packets: 1, windowNs: 10e9 }; // the batch has two packets
    const a = await loader.subscribe({ proto: 1 }, (h) => got.push(h), {
      live: true,
      late: { maxLagNs: 500e6, budget, onLate: () => refused++ },
    });
    writeFileSync(batch, batchLine(events(kernelNow(), 1 << a.slot)) + '\n');
    await loader.sync();
    const all = readHopBatch(Buffer.from(batchLine(events(0, 1))), tables) ?? [];
    const taken = new Set(got.map((h) => h.skb));
    expect(taken.size).toBe(budget.packets);
    // Every event of an admitted packet, none of the others.
    expect(got.length).toBe(all.filter((h) => taken.has(h.skb)).length);
    expect(refused).toBeGreaterThan(0);
    await a.close();
  });
});

describe('live journeys past the build budget', () => {
  it('are counted as dropped, not built, and the next window builds again', () => {
    const events = load('ping-pod-a-pod-c.ndjson');
    const packets = new Set(events.map((e) => e.skb)).size;
    let now = 0;
    let dropped = 0;
    const built: string[] = [];
    const l = new LiveJourneys('l', namer('lab-names.json'), (j) => built.push(j.id), {
      now: () => now,
      onLate: () => dropped++,
    });
    // The recorded packets again and again, each copy its own skbs, all ending inside one window.
    const copies = Math.ceil((3 * BUILD_BUDGET.journeys) / packets);
    for (let k = 0; k < copies; k++) for (const e of events) l.push({ ...e, skb: `${e.skb}-${k}`, tsNs: now });
    l.flushAll();
    expect(built).toHaveLength(BUILD_BUDGET.journeys);
    expect(built.length + dropped).toBeGreaterThanOrEqual(copies * packets);
    now += BUILD_BUDGET.windowNs;
    for (const e of events) l.push({ ...e, skb: `${e.skb}-next`, tsNs: now });
    l.flushAll();
    expect(built.length).toBeGreaterThan(BUILD_BUDGET.journeys);
  });
});
