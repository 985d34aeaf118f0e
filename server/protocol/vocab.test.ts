// The one vocabulary: names both ways, and the NAT/verdict/drop wording that the CLI table, the pcapng
// comments and the diagram all print.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { layoutJourney } from '../../app/components/hop-diagram/layout';
import { outcome } from '../../app/components/hop-diagram/format';
import { hopText } from '../capture/hop-annotate';
import { IP_PROTOCOLS } from '../capture/decode/names';
import { formatJourney } from '../tracer/format';
import { Journey, LiveFilter } from './tracer';
import * as v from './vocab';

const recorded = (name: string): Journey =>
  Journey.parse(
    JSON.parse(readFileSync(new URL(`../../app/components/hop-diagram/fixtures/${name}`, import.meta.url), 'utf8')),
  );

describe('vocab: names', () => {
  it('maps protocol numbers and names both ways, and the decoder agrees', () => {
    expect(v.protoName(6)).toBe('tcp');
    expect(v.protoName(58)).toBe('icmpv6');
    expect(v.protoName(99)).toBe('99');
    expect(v.protoNumber('udp')).toBe(17);
    expect(v.protoNumber('99')).toBe(99);
    expect(v.protoNumber('toString')).toBeUndefined();
    expect(v.traceProtoNumber('icmp')).toBe(1);
    for (const [name, n] of Object.entries(v.IP_PROTO)) expect(IP_PROTOCOLS[n]).toBe(name.toUpperCase());
  });

  it('names TCP flags and ICMP types', () => {
    expect(v.tcpFlagString(0x12)).toBe('SYN,ACK');
    expect(v.tcpFlagString(0)).toBe('');
    expect(v.packetKind({ icmp: { type: 3, code: 1, id: 0, seq: 0 } })).toBe('destination unreachable');
    expect(v.packetKind({ icmp: { type: 42, code: 0, id: 0, seq: 0 } })).toBe('type 42');
    expect(v.packetKind({ tcpFlags: 'FIN,ACK' })).toBe('FIN,ACK');
    expect(v.ICMP6_TYPES[128]).toBe('echo request');
  });

  it('checks IPv4 addresses the same way in the schema and the helpers', () => {
    expect(v.isIpv4('10.244.1.2')).toBe(true);
    expect(v.isIpv4('256.1.1.1')).toBe(false);
    expect(v.isIpv4('10.244.1')).toBe(false);
    expect(LiveFilter.safeParse({ addr: '300.1.1.1' }).success).toBe(false);
    expect(LiveFilter.safeParse({ addr: '10.96.0.10' }).success).toBe(true);
  });

  it('formats endpoints', () => {
    expect(v.endpoint('10.96.0.10', 80)).toBe('10.96.0.10:80');
    expect(v.endpoint('10.96.0.10', undefined)).toBe('10.96.0.10');
    expect(v.flowLine({ src: '1.1.1.1', sport: 5, dst: '2.2.2.2' })).toBe('1.1.1.1:5 → 2.2.2.2');
  });
});

describe('vocab: one wording for a NAT, a verdict and a drop', () => {
  const tcp = recorded('tcp-clusterip.json');
  const drop = recorded('netfilter-drop.json');
  const natHop = tcp.hops.find((h) => h.nat)!;
  const dropHop = drop.hops.find((h) => h.drop?.isRealDrop)!;

  it('words them', () => {
    expect(v.natText(natHop.nat!)).toMatch(/^DNAT 10\.96\.0\.10:80 → 10\.244\.2\.[23]:8080$/);
    expect(v.verdictText({ netfilter: [{ hook: 'FORWARD', verdict: 'drop' }] })).toBe('FORWARD DROP');
    expect(v.verdictText({ netfilter: [{ hook: 'FORWARD', verdict: 'seen' }] })).toBeUndefined();
    expect(v.dropText({ reason: 'CONSUMED', where: 'x', isRealDrop: false, byNetfilter: false })).toBe('end: CONSUMED');
    expect(v.dropLine(dropHop.drop!)).toBe('DROP NETFILTER_DROP at nf_hook_slow+0x9c');
    expect(v.droppedInText(v.firstDrop(drop)!)).toBe('dropped in pjt-hd-r (NETFILTER_DROP, netfilter)');
  });

  it('the CLI, the pcapng comments and the diagram print the same words', () => {
    const nat = v.natText(natHop.nat!);
    const dropLine = v.dropLine(dropHop.drop!);
    expect(formatJourney(tcp)).toContain(nat);
    expect(hopText(tcp, 'request', natHop)).toContain(nat);
    const box = layoutJourney(tcp).hops.find((b) => b.hop === natHop)!;
    expect(box.lines.filter((l) => l.role === 'nat').map((l) => l.text)).toEqual(v.natParts(natHop.nat!));
    expect(formatJourney(drop)).toContain(dropLine);
    expect(hopText(drop, 'request', dropHop)).toContain(dropLine);
    const dropBox = layoutJourney(drop).hops.find((b) => b.hop === dropHop)!;
    expect(dropBox.lines.map((l) => l.text).join(' ')).toContain(dropLine);
    expect(formatJourney(drop)).toContain(outcome(drop).label);
  });
});

describe("vocab: a copy's end and an interrupted trace claim no drop", () => {
  const tcp = recorded('tcp-clusterip.json');
  const drop = recorded('netfilter-drop.json');
  const why = 'probe loader crashed: killed by SIGKILL';

  it("words a copy's end as an end, not a drop", () => {
    const copy = {
      reason: 'OTHERHOST',
      where: 'ip_rcv_core+0x22c',
      isRealDrop: false,
      byNetfilter: false,
      copy: true as const,
    };
    expect(v.dropLine(copy)).toBe("copy's end: OTHERHOST");
  });

  it('an interrupted journey not seen delivered says so, in the CLI and the diagram, without "dropped"', () => {
    const cut: Journey = { ...tcp, delivered: false, reply: undefined, hops: tcp.hops.slice(0, 2), interrupted: why };
    expect(outcome(cut)).toEqual({ label: v.interruptedText(why), tone: 'lost' });
    const text = formatJourney(cut);
    expect(text).toContain(`${v.interruptedText(why)}, delivery unknown`);
    expect(text).not.toMatch(/NOT delivered|dropped/);
  });

  it('a drop seen before the interruption is still reported', () => {
    const cut: Journey = { ...drop, interrupted: why };
    expect(outcome(cut).tone).toBe('drop');
    expect(formatJourney(cut)).toMatch(/NOT delivered, dropped in pjt-hd-r/);
  });
});
