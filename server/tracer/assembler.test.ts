// One journey model: the same recorded event stream, fed to follow's builder and to live's assembler,
// draws the same request packet; and the assembler's rules are the ones both use. No kernel needed.
import { describe, expect, it } from 'vitest';
import type { Journey } from '../protocol/tracer';
import { PacketAssembler } from './assembler';
import { load, meta, namer, RECORDED } from './fixtures/load';
import { buildJourney, FlowJourney, journeyComplete, lanesOf } from './journey';
import { LiveJourneys } from './live';
import type { HopEvent } from './hop-event';

function live(events: readonly HopEvent[], nameOf: (i: number) => string): Journey[] {
  const out: Journey[] = [];
  const l = new LiveJourneys('l', nameOf, (j) => out.push(j));
  for (const e of events) l.push(e);
  l.flushAll();
  return out;
}

describe('follow and live share one journey model (recorded streams)', () => {
  for (const { file, names, flow } of RECORDED) {
    it(`${file}: live draws the follow's request packet identically (hops, lanes, delivered)`, () => {
      const events = load(file);
      const nameOf = namer(names);
      const f = buildJourney(events, meta(flow), nameOf);
      const first = f.hops[0];
      expect(first).toBeDefined();
      const same = (j: Journey): boolean => j.hops[0]?.skb === first?.skb && j.hops[0]?.ipId === first?.ipId;
      const l = live(events, nameOf).find(same);
      expect(l?.hops).toEqual(f.hops);
      expect(l?.lanes).toEqual(lanesOf(f.hops));
      expect(l?.delivered).toBe(f.delivered);
    });

    it(`${file}: follow fed hop by hop gives the batch journey, and knows when it is complete`, () => {
      const events = load(file);
      const nameOf = namer(names);
      const from = events[0]?.netns ?? 0;
      const fj = new FlowJourney(flow);
      for (const e of events) {
        fj.push(e);
        // The O(1) test agrees with the rule applied to the whole journey built so far.
        expect(fj.complete(from)).toBe(journeyComplete(fj.build(meta(flow), nameOf), from));
      }
      const j = fj.build(meta(flow), nameOf);
      expect(j).toEqual(buildJourney(events, meta(flow), nameOf));
      expect(journeyComplete(j, from)).toBe(true);
      // Lanes cover every hop of both legs, in path order, so the browser never works them out again.
      expect(j.lanes).toEqual(lanesOf([...j.hops, ...(j.reply?.hops ?? [])]));
    });
  }
});

describe('the one packet assembler', () => {
  const syn = load('tcp-pod-a-clusterip.ndjson').find((e) => e.tcpFlags === 0x02 && e.dir !== 'none') as HopEvent;
  const at = (e: HopEvent, ts: number, o: Partial<HopEvent> = {}): HopEvent => ({ ...e, tsNs: ts, ...o });

  it('cuts a reused skb address with the same IP id but other TCP flags into two packets (live too)', () => {
    // Formerly live compared the IP id only and drew these as one packet.
    const events = [at(syn, 1), at(syn, 2, { tcpFlags: 0x10, dir: 'ingress' })];
    const out = live(events, () => 'ns');
    expect(out.map((j) => j.hops.map((h) => h.tcpFlags))).toEqual([['SYN'], ['ACK']]);
  });

  it('drops a lone ordinary end (a clone freed by a raw socket or tcpdump), keeps a lone real drop', () => {
    const echo = load('ping-pod-a-pod-c.ndjson').find((e) => e.icmp?.type === 0) as HopEvent;
    const clone = at(echo, 1, { skb: 'ffff0000', hook: 'kfree_skb', dir: 'none', reason: 'NO_SOCKET' });
    // Formerly live drew a kfree_skb with no packet before it as a journey of its own.
    expect(live([clone], () => 'ns')).toEqual([]);
    const drop = at(clone, 2, { reason: 'NETFILTER_DROP' });
    const out = live([drop], () => 'ns');
    expect(out).toHaveLength(1);
    expect(out[0]?.hops[0]?.drop).toMatchObject({ reason: 'NETFILTER_DROP', isRealDrop: true });
    expect(out[0]?.delivered).toBe(false);
  });

  it('bounds the packets in flight and closes quiet ones', () => {
    const closed: number[] = [];
    const asm = new PacketAssembler({}, { maxOpen: 2, onClose: (p) => closed.push(p.events.length) });
    for (const [i, skb] of ['a', 'b', 'c'].entries()) asm.push(at(syn, i, { skb }));
    expect(asm.overflow).toBe(1);
    asm.sweep(1e9, 250e6);
    expect(closed).toEqual([1, 1]);
  });

  it('calls a packet delivered when its last sighting is an arrival, not a departure', () => {
    const ingress = live([at(syn, 1, { dir: 'ingress', hook: 'netif_receive_skb' })], () => 'ns');
    expect(ingress[0]?.delivered).toBe(true);
    const egress = live([at(syn, 1)], () => 'ns');
    expect(egress[0]?.delivered).toBe(false);
  });
});

describe("a copy's end is not the packet's end (recorded with tcpdump on the bridge kind0)", () => {
  const events = load('ping-promisc-bridge.ndjson');
  const nameOf = namer('lab-names.json');
  const flow = { proto: 'icmp' } as const;
  const request = (e: HopEvent): boolean => e.icmp?.type === 8;
  const freedAsOtherhost = (e: HopEvent): boolean => e.reason === 'OTHERHOST' && request(e);

  it('follow: the original freed as OTHERHOST is a copy, the clone goes on to pod-c: delivered', () => {
    // Formerly: delivered false, ending at host/kind0 OTHERHOST, though ping got its reply.
    const j = buildJourney(events, meta(flow), nameOf);
    expect(j.delivered).toBe(true);
    const ends = j.hops.filter((h) => h.dir === 'end');
    expect(ends.map((h) => [h.netns, h.drop?.reason, h.drop?.isRealDrop, h.drop?.copy])).toEqual([
      ['host', 'OTHERHOST', false, true],
      ['pod-c', 'CONSUMED', false, undefined],
    ]);
    expect(j.reply?.hops.find((h) => h.drop?.copy)?.drop?.reason).toBe('OTHERHOST');
    expect(lanesOf(j.hops)).toEqual(['pod-a', 'node1', 'host', 'node2', 'pod-c']);
  });

  it('live: the same packet, one journey for both skbs, delivered', () => {
    const out = live(events, nameOf).filter((j) => j.hops[0]?.icmp?.type === 8);
    expect(out).toHaveLength(1);
    expect(out[0]?.delivered).toBe(true);
    expect(out[0]?.hops).toEqual(buildJourney(events, meta(flow), nameOf).hops);
  });

  it('the copy freed after the packet was delivered is still a copy (the packet went on)', () => {
    // Move the original's free after the clone's end: the packet's end came first, then the copy's.
    // The request alone: its reply may reuse the freed skb's address, and would then take the free.
    const late = events.filter(request).map((e) => (freedAsOtherhost(e) ? { ...e, tsNs: e.tsNs + 1e9 } : e));
    const j = buildJourney(late, meta(flow), nameOf);
    expect(j.delivered).toBe(true);
    expect(j.hops[j.hops.length - 1]?.drop).toMatchObject({ reason: 'OTHERHOST', isRealDrop: false, copy: true });
  });

  it('without a later sighting elsewhere the OTHERHOST free stays a real drop', () => {
    const clone = events.find((e) => request(e) && e.ifname === 'veth-node2')?.skb;
    const alone = events.filter((e) => !(request(e) && e.skb === clone));
    const j = buildJourney(alone, meta(flow), nameOf);
    expect(j.delivered).toBe(false);
    expect(j.hops[j.hops.length - 1]?.drop).toMatchObject({ reason: 'OTHERHOST', isRealDrop: true });
    expect(j.hops[j.hops.length - 1]?.drop?.copy).toBeUndefined();
  });
  it("a follow is not complete at the copy's end while the clone is still on its way", () => {
    // Formerly the OTHERHOST free looked like a real drop, which ends a follow at once.
    const fj = new FlowJourney(flow);
    const from = events[0]?.netns ?? 0;
    for (const e of events) {
      fj.push(e);
      if (freedAsOtherhost(e)) break;
    }
    expect(fj.complete(from)).toBe(false);
  });

  it("when every copy is really dropped, the last drop is the packet's: not delivered", () => {
    const clone = events.find((e) => request(e) && e.ifname === 'veth-node2')?.skb;
    const both = events.map((e) =>
      request(e) && e.skb === clone && e.hook === 'consume_skb'
        ? { ...e, hook: 'kfree_skb' as const, reason: 'NETFILTER_DROP' }
        : e,
    );
    const j = buildJourney(both, meta(flow), nameOf);
    expect(j.delivered).toBe(false);
    expect(j.hops.filter((h) => h.drop).map((h) => [h.drop?.reason, h.drop?.isRealDrop])).toEqual([
      ['OTHERHOST', false],
      ['NETFILTER_DROP', true],
    ]);
  });
});
