// The structured prefilter derived from compiled pcap-filter programs (libpcap through tcpdump, no kernel):
// what it finds for expressions whose every match has a protocol, address, port or echo id, what it leaves
// alone when a match can lack one, and the check the probe runs with it.
import { describe, expect, it } from 'vitest';
import { compileFilter, type Insn } from './pcap-filter';
import { derivePrefilter, prefilterPasses, type Prefilter } from './pcap-prefilter';

const ip = (s: string): number => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
const pre = async (expr: string): Promise<Prefilter> => (await compileFilter(expr)).pre;

describe('derivePrefilter', () => {
  it('finds the fields every match has', async () => {
    expect(await pre('host 10.244.9.9 and tcp port 9')).toEqual({ proto: 6, addrs: [ip('10.244.9.9')], port: 9 });
    expect(await pre('tcp dst port 80')).toEqual({ proto: 6, port: 80 });
    expect(await pre('udp')).toEqual({ proto: 17 });
    expect(await pre('ip proto 47')).toEqual({ proto: 47 });
    expect(await pre('icmp and icmp[4:2] == 4660')).toEqual({ proto: 1, icmpId: 4660 });
    expect(await pre('icmp[icmptype] == icmp-echo')).toEqual({ proto: 1 });
    expect(await pre('port 53')).toEqual({ port: 53 }); // tcp, udp or sctp: no protocol, and IPv6 paths left out
    expect(await pre('tcp[tcpflags] & tcp-syn != 0 and host 1.2.3.4')).toEqual({ proto: 6, addrs: [ip('1.2.3.4')] });
    expect(await pre('host 1.2.3.4 and (port 1 or port 2)')).toEqual({ addrs: [ip('1.2.3.4')] });
  });

  it('weakens a source or destination address to "the source or the destination"', async () => {
    expect(await pre('ip src 1.2.3.4')).toEqual({ addrs: [ip('1.2.3.4')] });
    expect(await pre('dst host 1.2.3.4')).toEqual({ addrs: [ip('1.2.3.4')] });
    expect(await pre('src host 1.2.3.4 and dst host 5.6.7.8')).toEqual({ addrs: [ip('1.2.3.4'), ip('5.6.7.8')] });
  });

  it('derives nothing when some match lacks the field', async () => {
    for (const e of [
      '',
      'ether host 02:00:00:00:00:01',
      'not host 1.2.3.4',
      'host 1.2.3.4 or host 5.6.7.8',
      'tcp or udp',
      'icmp or host 1.2.3.4',
      'net 10.0.0.0/8', // a masked load: not the whole address
      'ip[6:2] & 0x3fff != 0',
      'less 100',
    ])
      expect(await pre(e), e).toEqual({});
  });

  it('says no IPv4 packet matches an expression whose every match has another EtherType', async () => {
    for (const e of ['vlan', 'vlan and host 1.2.3.4', 'arp', 'ip6', 'ip6 and tcp port 80'])
      expect(await pre(e), e).toEqual({ noIpv4: true });
  });

  it('trusts a byte fact at a field of the IPv4 header only at its fixed offset', async () => {
    // ip[9] is the protocol byte in both programs (at 23 after an Ethernet header, at 9 from the IP header).
    expect(await pre('ip[9] == 6')).toEqual({ proto: 6 });
    // ether[23] is it after an Ethernet header, but the RAW program reads byte 23 of the IP header.
    expect(await pre('ether[23] == 6')).toEqual({});
    expect(derivePrefilter((await compileFilter('ether[23] == 6')).l2, [])).toEqual({ proto: 6 });
    expect(await pre('ether[24] == 6')).toEqual({});
    // In a VLAN frame the IP header is 4 bytes further: no IPv4 packet at 14 matches `vlan and …`.
    expect(await pre('vlan and tcp')).toEqual({ noIpv4: true });
  });

  it('forgets what A held when the paths into an instruction disagree, and after arithmetic', () => {
    // ldb [23]; jeq #6 → L1 else ldb [24]; L1: jeq #17 → accept: A is not one load at 17's test.
    const prog: Insn[] = [
      { code: 0x30, jt: 0, jf: 0, k: 23 },
      { code: 0x15, jt: 1, jf: 0, k: 6 },
      { code: 0x30, jt: 0, jf: 0, k: 24 },
      { code: 0x15, jt: 0, jf: 1, k: 17 },
      { code: 0x06, jt: 0, jf: 0, k: 1 },
      { code: 0x06, jt: 0, jf: 0, k: 0 },
    ];
    expect(derivePrefilter(prog, [])).toEqual({});
    // ldb [23]; add #0; jeq #6 → accept: arithmetic forgets the load.
    const alu: Insn[] = [
      { code: 0x30, jt: 0, jf: 0, k: 23 },
      { code: 0x04, jt: 0, jf: 0, k: 0 },
      { code: 0x15, jt: 0, jf: 1, k: 6 },
      { code: 0x06, jt: 0, jf: 0, k: 1 },
      { code: 0x06, jt: 0, jf: 0, k: 0 },
    ];
    expect(derivePrefilter(alu, [])).toEqual({});
  });

  it('takes what both programs need (each packet runs one), and an empty L3 program matches nothing', async () => {
    const c = await compileFilter('host 10.244.9.9 and tcp port 9');
    expect(derivePrefilter(c.l2, c.l3)).toEqual(derivePrefilter(c.l2, []));
    expect(derivePrefilter([], c.l3)).toEqual(c.pre);
    expect(derivePrefilter([], [])).toEqual({ noIpv4: true });
  });
});

describe('prefilterPasses (the probe check, on the bytes a program sees)', () => {
  // An Ethernet + IPv4 + TCP header: 10.0.0.1:1234 > 10.244.9.9:9.
  const frame = (over: Record<number, number> = {}): Uint8Array => {
    const b = new Uint8Array(54);
    b.set([0x08, 0x00], 12);
    b.set([0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 244, 9, 9], 14);
    b.set([0x04, 0xd2, 0x00, 0x09], 34);
    for (const [k, v] of Object.entries(over)) b[Number(k)] = v;
    return b;
  };
  const p: Prefilter = { proto: 6, addrs: [ip('10.244.9.9')], port: 9 };

  it('passes a packet with every field, fails one without', () => {
    expect(prefilterPasses(p, frame(), 'en10mb')).toBe(true);
    expect(prefilterPasses(p, frame({ 23: 17 }), 'en10mb')).toBe(false);
    expect(prefilterPasses(p, frame({ 33: 8 }), 'en10mb')).toBe(false);
    expect(prefilterPasses(p, frame({ 37: 10 }), 'en10mb')).toBe(false);
    expect(prefilterPasses(p, frame().subarray(14), 'raw')).toBe(true);
    expect(prefilterPasses(p, frame({ 37: 10 }).subarray(14), 'raw')).toBe(false);
  });

  it('leaves every packet that is not IPv4 where it looks to the programs', () => {
    expect(prefilterPasses(p, frame({ 12: 0x81 }), 'en10mb')).toBe(true); // a VLAN tag
    expect(prefilterPasses({ noIpv4: true }, frame({ 12: 0x81 }), 'en10mb')).toBe(true);
    expect(prefilterPasses({ noIpv4: true }, frame(), 'en10mb')).toBe(false);
    expect(prefilterPasses(p, frame().subarray(0, 30), 'en10mb')).toBe(true); // not all copied
  });
});
