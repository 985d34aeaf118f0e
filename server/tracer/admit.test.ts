// A live view's packets are admitted by the loader, before it prints (issue 13's soak: a ping flood's
// ~1M events/s crossed the pipe to be skipped by the server). The real loader and the lab: the view's
// events stop at the source, its journeys stay whole, the refused packets count as dropped, and a follow
// beside it still gets every event.
import { execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journey } from '../protocol/tracer';
import { labUp } from '../lab/index';
import type { HopEvent } from './hop-event';
import { createLiveTraces } from './live';
import { ProbeLoader } from './loader';

const A = '10.244.1.2'; // pod-a
const C = '10.244.2.2'; // pod-c
const PINGS = 20_000;

/** A ping flood from pod-a to pod-c; the number of echo requests sent. */
async function flood(): Promise<number> {
  const p = spawn('ip', ['netns', 'exec', 'pod-a', 'ping', '-f', '-q', '-c', String(PINGS), '-w', '2', C]);
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => p.on('exit', r));
  return Number(/(\d+) packets transmitted/.exec(out)?.[1] ?? NaN);
}

describe('live admission in the loader (real kernel)', () => {
  const loader = new ProbeLoader(undefined, 0);
  const journeys: Journey[] = [];
  let dropped = 0;
  const live = createLiveTraces(loader, () => ({
    journey: (j) => journeys.push(j),
    dropped: () => dropped++,
    close: () => undefined,
  }));

  beforeAll(async () => {
    execFileSync('make', ['-s', '-C', new URL('../../probes', import.meta.url).pathname], { stdio: 'inherit' });
    await labUp();
    await loader.ensureStarted();
  }, 120_000);
  afterAll(() => loader.stop());

  it('a view under a flood gets a tenth of the events a follow gets, whole journeys, and counts the rest', async () => {
    // The same flood, traced by a follow alone: every event crosses the pipe.
    const follow: HopEvent[] = [];
    const f = await loader.subscribe({ proto: 1, addrA: C }, (h) => follow.push(h));
    let before = loader.received;
    const sentF = await flood();
    await loader.sync();
    const followOnly = loader.received - before;
    await f.close();
    expect(sentF).toBeGreaterThan(PINGS / 2);
    expect(followOnly).toBeGreaterThan(sentF * 4); // several hops a packet, both ways

    // A live view alone: only its admitted packets' events are printed.
    const view = await live.start({ proto: 'icmp', addr: C });
    before = loader.received;
    const sent = await flood();
    await loader.sync();
    await loader.stats(); // the loader's skip counts since its last stats record
    const viewOnly = loader.received - before;
    await new Promise((r) => setTimeout(r, 600)); // quiet packets close
    expect(viewOnly * 10).toBeLessThan(followOnly * (sent / sentF));
    // Every packet is shown or counted: a request and a reply per ping (a few may be missed at the edges).
    expect(journeys.length).toBeGreaterThan(0);
    expect(journeys.length + dropped).toBeGreaterThan(2 * sent * 0.9);
    for (const j of journeys) {
      const hops = [...j.hops, ...(j.reply?.hops ?? [])];
      const first = hops[0];
      const last = hops[hops.length - 1];
      // Whole: from the sender's namespace to the receiver's, where the ping's packet is freed (a request
      // consumed by pod-c's ICMP, a reply freed after ping's socket got its copy).
      const [from, to] = first?.src === A ? ['pod-a', 'pod-c'] : ['pod-c', 'pod-a'];
      expect([first?.netns, last?.netns]).toEqual([from, to]);
      expect(['consume_skb', 'kfree_skb']).toContain(last?.hook);
    }

    // The view and a follow together: the follow still gets every event of its packets.
    const both: HopEvent[] = [];
    const g = await loader.subscribe({ proto: 1, addrA: C }, (h) => both.push(h));
    const lostBefore = (await loader.stats()).lost;
    const sentB = await flood();
    await loader.sync();
    // Events the kernel ring had no room for (other tests' traffic on the machine) are no fault of ours.
    const lost = (await loader.stats()).lost - lostBefore;
    await g.close();
    await view.stop();
    const perPing = (n: number, s: number): number => n / s;
    expect(perPing(both.length + lost, sentB)).toBeGreaterThan(perPing(follow.length, sentF) * 0.95);
    const ends = (hs: HopEvent[]): number =>
      hs.filter((h) => h.hook === 'consume_skb' || h.hook === 'kfree_skb').length;
    expect(perPing(ends(both) + lost, sentB)).toBeGreaterThan(perPing(ends(follow), sentF) * 0.95);
    // Packets as the loader and the assembler cut them: an skb from its first event to its free.
    const open = new Set<string>();
    let packets = 0;
    for (const h of follow) {
      if (!open.has(h.skb)) {
        open.add(h.skb);
        packets++;
      }
      if (h.hook === 'consume_skb' || h.hook === 'kfree_skb') open.delete(h.skb);
    }
    console.log(
      `admit: follow ${followOnly} events, ${packets} packets for ${sentF} pings; view ${viewOnly} events for ${sent}; journeys ${journeys.length}, dropped ${dropped}`,
    );
  }, 60_000);
});
