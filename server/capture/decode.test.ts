import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from './pcap';
import type { DecodedPacket, PacketField } from '../protocol/capture';
import { decodeFrame, LINKTYPE, toHex } from './decode';
import { ipv6 as ipv6Text } from './decode/ctx';
import {
  MAC_A,
  MAC_B,
  SEED000_FRAME,
  SEED000_IP,
  allOptionsFrame,
  arpRequest,
  concat,
  eth,
  geneveDsrFrame,
  icmp6Ns,
  ipv4,
  ipv6DsrFrame,
  sampleFrames,
  tcp,
  udp,
  vlanPing,
  vxlanFrame,
} from './fixtures/frames';
import { encapFrames } from './fixtures/encap-frames';

const dec = (f: Uint8Array, linktype: number = LINKTYPE.ETHERNET, len = f.length): DecodedPacket =>
  decodeFrame(f, { index: 0, linktype, tsSec: 1, tsNsec: 0, len });

function allFields(p: DecodedPacket): PacketField[] {
  const out: PacketField[] = [];
  const walk = (fs: readonly PacketField[]): void => {
    for (const f of fs) {
      out.push(f);
      if (f.children) walk(f.children);
    }
  };
  for (const l of p.layers) walk(l.fields);
  return out;
}
const field = (p: DecodedPacket, name: string): PacketField | undefined => allFields(p).find((f) => f.name === name);

describe("the lab's dsr scenario, captured on node2's eth0 (fixtures/record-dsr.sh)", () => {
  it('finds the service on every SYN and UDP datagram node1 forwarded, and on nothing else', () => {
    const f = readCaptureFile(readFileSync(new URL('./fixtures/corpus-lab-dsr.pcap', import.meta.url)));
    const packets = f.records.map((r, index) =>
      decodeFrame(r.data, { index, linktype: f.interfaces[0]?.linktype ?? 1, tsSec: 0, tsNsec: 0, len: r.len }),
    );
    const carrying = packets.filter((p) => p.dsr);
    expect(carrying.length).toBeGreaterThanOrEqual(4);
    for (const p of carrying) expect(p.dsr).toMatchObject({ addr: '172.18.0.2', port: 31400 });
    // TCP carries it on the SYN only; UDP on every datagram; the backends' replies never.
    expect(carrying.every((p) => /Flags \[S\],|: UDP,/.test(p.summary))).toBe(true);
    expect(carrying.filter((p) => /: UDP,/.test(p.summary)).length).toBeGreaterThan(0);
    expect(packets.filter((p) => /Flags \[S\],/.test(p.summary) && !p.dsr)).toEqual([]);
    const replies = packets.filter((p) => p.summary.includes('172.18.0.2.31400 >'));
    expect(replies.length).toBeGreaterThan(0);
    expect(replies.filter((p) => p.dsr)).toEqual([]);
  });
});

describe('seed 000: Cilium DSR IPv4 option', () => {
  const p = dec(SEED000_FRAME);

  it('decodes 9a08 a87a 0200 12ac as 172.18.0.2:31400 in little-endian order', () => {
    expect(p.malformed).toBeNull();
    expect(p.dsr).toEqual({
      addr: '172.18.0.2',
      port: 31400,
      encoding: 'ipv4-option',
      byteOrder: 'little-endian',
      option: [34, 42],
      portRange: [36, 38],
      addrRange: [38, 42],
      portHex: 'a87a',
      addrHex: '020012ac',
    });
  });

  it('prints the tcpdump -e -n line of the workshop', () => {
    expect(p.summary).toBe(
      '02:42:ac:12:00:02 > 02:42:ac:12:00:05, ethertype IPv4 (0x0800), length 82: 172.18.0.1.50074 > 10.244.3.250.8080: ' +
        'Flags [S], seq 327033400, win 64240, options [mss 1460,sackOK,TS val 704972761 ecr 0,nop,wscale 7], length 0',
    );
  });

  it('gives every field a byte range inside the frame, and the option fields the right bytes', () => {
    for (const f of allFields(p)) {
      expect(f.start).toBeGreaterThanOrEqual(0);
      expect(f.end).toBeLessThanOrEqual(SEED000_FRAME.length);
      expect(f.end).toBeGreaterThan(f.start);
    }
    const port = field(p, 'Service port (little-endian)');
    expect(port).toMatchObject({ start: 36, end: 38 });
    expect(port?.value).toContain('31400');
    expect(field(p, 'Header Checksum')?.value).toBe('0x1657 [correct]');
    expect(field(p, 'Header Length')?.value).toBe('28 bytes (7)');
    expect(p.layers.map((l) => l.proto)).toEqual(['eth', 'ipv4', 'tcp']);
  });

  it('also decodes the bare IP bytes as DLT_RAW', () => {
    const r = dec(SEED000_IP, LINKTYPE.RAW);
    expect(r.dsr?.addr).toBe('172.18.0.2');
    expect(r.dsr?.port).toBe(31400);
    expect(r.dsr?.option).toEqual([20, 28]);
  });

  it('marks every truncation malformed, keeps the layers before the cut, never throws', () => {
    for (let n = 0; n < SEED000_FRAME.length; n++) {
      const t = dec(SEED000_FRAME.subarray(0, n), LINKTYPE.ETHERNET, 82);
      expect(t.malformed, `cut at ${n}`).not.toBeNull();
      expect(t.malformed?.reason).not.toMatch(/internal/);
      if (n >= 14) expect(t.layers[0]?.proto).toBe('eth');
    }
  });

  it('flags a corrupted option length at the option, with the earlier fields intact', () => {
    const bad = SEED000_FRAME.slice();
    bad[35] = 30; // option length past the 28-byte header
    const t = dec(bad);
    expect(t.malformed?.field).toContain('Cilium DSR');
    expect(t.malformed?.offset).toBe(35);
    expect(t.dsr).toBeNull();
    expect(field(t, 'Source Address')?.value).toBe('172.18.0.1');
  });
});

describe('other DSR encodings', () => {
  it('IPv6 Destination Option 0x1B, network order', () => {
    const p = dec(ipv6DsrFrame());
    expect(p.malformed).toBeNull();
    expect(p.dsr).toMatchObject({ addr: 'fd00::10', port: 8443, encoding: 'ipv6-destopt', byteOrder: 'network' });
    expect(p.layers.map((l) => l.proto)).toEqual(['eth', 'ipv6', 'ipv6-ext', 'tcp']);
    expect(p.summary).toContain('fd00::1.40000 > fd00::2.8080: Flags [S]');
  });

  it('Geneve option class 0x014B type 0x81, with the inner frame decoded', () => {
    const p = dec(geneveDsrFrame());
    expect(p.malformed).toBeNull();
    expect(p.dsr).toMatchObject({
      addr: '172.18.0.2',
      port: 31400,
      encoding: 'geneve-option',
      byteOrder: 'network',
      portHex: '7aa8',
    });
    expect(p.layers.map((l) => l.proto)).toEqual(['eth', 'ipv4', 'udp', 'geneve', 'eth', 'ipv4', 'tcp']);
    expect(p.summary).toContain('10.0.1.5.50000 > 10.0.2.7.8080: Flags [S]');
    expect(p.summary).toContain('Geneve');
  });

  it('a packet without DSR has dsr: null', () => {
    expect(dec(vlanPing()).dsr).toBeNull();
  });
});

describe('layers', () => {
  it('VXLAN on 8472 with the inner ICMP echo', () => {
    const p = dec(vxlanFrame());
    expect(p.malformed).toBeNull();
    expect(p.layers.map((l) => l.proto)).toEqual(['eth', 'ipv4', 'udp', 'vxlan', 'eth', 'ipv4', 'icmp', 'payload']);
    expect(field(p, 'VXLAN Network Identifier (VNI)')?.value).toBe('4097');
    expect(p.summary).toContain('VXLAN, flags [I] (0x08), vni 4097: 0a:00:00:00:00:01 > 0a:00:00:00:00:02');
    expect(p.summary).toContain('10.244.1.2 > 10.244.2.2: ICMP echo request, id 77, seq 3, length 16');
  });

  it('802.1Q tag', () => {
    const p = dec(vlanPing());
    expect(p.layers.map((l) => l.proto)).toEqual(['eth', 'vlan', 'ipv4', 'icmp', 'payload']);
    expect(field(p, 'VLAN ID')?.value).toBe('100');
    expect(field(p, 'Priority (PCP)')?.value).toBe('3');
    expect(p.summary).toContain('vlan 100, p 3, ethertype IPv4 (0x0800)');
  });

  it('ARP request with Ethernet padding', () => {
    const p = dec(arpRequest());
    expect(p.malformed).toBeNull();
    expect(p.summary).toBe(
      `${MAC_A} > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60: Request who-has 10.0.0.2 tell 10.0.0.1, length 28`,
    );
    expect(field(p, 'Padding')).toMatchObject({ start: 42, end: 60 });
  });

  it('ICMPv6 neighbour solicitation', () => {
    const p = dec(icmp6Ns());
    expect(p.malformed).toBeNull();
    expect(p.summary).toContain('fe80::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has fe80::2, length 32');
    expect(field(p, 'Source link-layer address')?.value).toBe(MAC_A);
  });

  it('TCP flags and options', () => {
    const opts = new Uint8Array([2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0xfe, 4, 0xca, 0xfe]);
    const f = concat(
      eth(MAC_B, MAC_A, 0x0800),
      ipv4('1.1.1.1', '2.2.2.2', 6, tcp(1, 2, 0x12, opts, new Uint8Array([1, 2, 3]))),
    );
    const p = dec(f);
    expect(p.malformed).toBeNull();
    expect(p.summary).toContain(
      'Flags [S.], seq 1:4, ack 0, win 64240, options [mss 1460,nop,wscale 7,sackOK,TS val 1 ecr 2,unknown-254 0xcafe], length 3',
    );
    expect(p.layers.find((l) => l.proto === 'tcp')?.fields.find((f) => f.name === 'Flags')?.value).toBe(
      '0x0012 (SYN, ACK)',
    );
  });

  it('names every IPv4 option and shows unknown ones with raw bytes', () => {
    const { frame } = allOptionsFrame();
    const p = dec(frame);
    expect(p.malformed).toBeNull();
    const ip = p.layers.find((l) => l.proto === 'ipv4');
    const opts = ip?.fields.find((f) => f.name === 'Options')?.children ?? [];
    expect(opts.map((o) => o.name)).toEqual([
      'IP Option - No Operation (NOP)',
      'IP Option - Router Alert (RTRALT)',
      'IP Option - Stream ID (SID)',
      'IP Option - Record Route (RR)',
      'IP Option - Time Stamp (TS)',
      'IP Option - Unknown',
      'IP Option - Security (SEC)',
      'IP Option - Loose Source Route (LSR)',
      'IP Option - End of Options List (EOOL)',
      'Padding',
    ]);
    const unknown = opts[5];
    expect(unknown?.children?.find((c) => c.name === 'Data')).toMatchObject({
      value: 'dead',
      start: 14 + 20 + 26,
      end: 14 + 20 + 28,
    });
    expect(field(p, 'Stream Identifier')?.value).toBe('4660');
    expect(field(p, 'Time stamp')?.value).toBe('12345');
    expect(field(p, 'Recorded Route')?.value ?? field(p, 'Empty Route')?.value).toBe('10.0.0.1');
  });

  it('strict source route and a DSR option with a wrong length stay raw', () => {
    const opts = new Uint8Array([137, 7, 4, 10, 9, 9, 9, 0x9a, 4, 1, 2, 0, 0]);
    const p = dec(concat(eth(MAC_B, MAC_A, 0x0800), ipv4('1.1.1.1', '2.2.2.2', 17, udp(1, 2, new Uint8Array()), opts)));
    expect(p.malformed).toBeNull();
    expect(field(p, 'IP Option - Strict Source Route (SSR)')).toBeDefined();
    expect(field(p, 'Data (unexpected length for Cilium DSR)')?.value).toBe('0102');
    expect(p.dsr).toBeNull();
  });

  it('non-first IPv4 fragments are not decoded as TCP', () => {
    const f = concat(eth(MAC_B, MAC_A, 0x0800), ipv4('1.1.1.1', '2.2.2.2', 6, new Uint8Array(16)));
    f[14 + 6] = 0x00;
    f[14 + 7] = 0x10; // offset 128
    const p = dec(f);
    expect(p.layers.map((l) => l.proto)).toEqual(['eth', 'ipv4', 'payload']);
    expect(p.summary).toContain('frag 4660:16@128');
  });
});

/** The outer IP addresses when Ethernet and the whole IP header are intact (else null). */
function intactIpAddresses(f: Uint8Array): [string, string] | null {
  const type = ((f[12] ?? 0) << 8) | (f[13] ?? 0);
  const b0 = f[14] ?? 0;
  if (type === 0x0800 && b0 >> 4 === 4 && (b0 & 15) >= 5 && f.length >= 14 + (b0 & 15) * 4)
    return [Array.from(f.subarray(26, 30)).join('.'), Array.from(f.subarray(30, 34)).join('.')];
  if (type === 0x86dd && b0 >> 4 === 6 && f.length >= 54) return [ipv6Text(f, 22), ipv6Text(f, 38)];
  return null;
}

describe('partial decodes: what was read before the bad field stays', () => {
  it('a bad IPv4 option is marked, and the datagram decoded on inside IHL (as tshark does)', () => {
    const bad = SEED000_FRAME.slice();
    bad[35] = 30;
    const p = dec(bad);
    expect(p.summary).toBe(
      '02:42:ac:12:00:02 > 02:42:ac:12:00:05, ethertype IPv4 (0x0800), length 82: 172.18.0.1.50074 > 10.244.3.250.8080: ' +
        'Flags [S], seq 327033400, win 64240, options [mss 1460,sackOK,TS val 704972761 ecr 0,nop,wscale 7], length 0 ' +
        '[malformed: IPv4 option 154 has length 30, which does not fit the 8 byte(s) left in the header]',
    );
    const ip = p.layers.find((l) => l.proto === 'ipv4');
    expect(ip?.fields.find((f) => f.name === 'Malformed')).toMatchObject({ start: 35 });
    expect(ip?.fields.find((f) => f.name === 'Destination Address')?.value).toBe('10.244.3.250');
    expect(p.layers.map((l) => l.proto)).toEqual(['eth', 'ipv4', 'tcp']);
  });

  it('an IPv4 header cut after the source address keeps the source', () => {
    const p = dec(SEED000_FRAME.subarray(0, 14 + 16), LINKTYPE.ETHERNET, 82);
    expect(p.layers[1]?.fields.find((f) => f.name === 'Source Address')?.value).toBe('172.18.0.1');
    expect(p.summary).toContain('[|ipv4] [malformed: truncated: Destination Address');
  });

  it('a truncated TCP option keeps the addresses and ports: `10.0.0.1.80 > 10.0.0.2.1234: [|tcp]`', () => {
    const f = concat(
      eth(MAC_B, MAC_A, 0x0800),
      ipv4('10.0.0.1', '10.0.0.2', 6, tcp(80, 1234, 0x12, new Uint8Array([2, 4, 5, 0xb4, 8, 10, 0, 0]))),
    );
    const p = dec(f);
    expect(p.summary).toContain('10.0.0.1.80 > 10.0.0.2.1234: [|tcp] [malformed: TCP option 8 has length 10');
    const t = p.layers.find((l) => l.proto === 'tcp');
    expect(t?.fields.map((x) => x.name)).toEqual(
      expect.arrayContaining(['Source Port', 'Destination Port', 'Malformed']),
    );
    expect(t?.fields.find((x) => x.name === 'Malformed')?.start).toBe(14 + 20 + 20 + 5);
  });

  it('a frame cut inside the UDP header keeps the IP addresses', () => {
    const f = concat(eth(MAC_B, MAC_A, 0x0800), ipv4('10.0.0.1', '10.0.0.2', 17, udp(53, 53, new Uint8Array(4))));
    const p = dec(f.subarray(0, 14 + 20 + 3), LINKTYPE.ETHERNET, f.length);
    expect(p.summary).toContain('10.0.0.1 > 10.0.0.2: [|udp] [malformed: truncated');
  });

  it('an IPv6 extension header running past the frame keeps the IPv6 addresses', () => {
    const f = ipv6DsrFrame();
    const p = dec(f.subarray(0, 14 + 40 + 10), LINKTYPE.ETHERNET, f.length);
    expect(p.summary).toContain('fd00::1 > fd00::2: [|ipv6-ext]');
  });
});

describe('fuzz: random and mutated frames never throw', () => {
  // Deterministic PRNG so a failure is reproducible.
  let seed = 0x5eed;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const bases = [...sampleFrames(), ...Object.values(encapFrames())];
  const linktypes = [LINKTYPE.ETHERNET, LINKTYPE.RAW, LINKTYPE.LINUX_SLL, LINKTYPE.LINUX_SLL2, 999];

  const check = (f: Uint8Array, lt: number): void => {
    const p = dec(f, lt);
    if (p.malformed) expect(p.malformed.reason).not.toMatch(/internal decoder error/);
    const addrs = lt === LINKTYPE.ETHERNET ? intactIpAddresses(f) : null;
    if (addrs && !p.summary.includes(`${addrs[0]} > ${addrs[1]}`) && !p.summary.includes(`${addrs[0]}.`))
      throw new Error(`addresses ${addrs.join(' > ')} lost from "${p.summary}" (${toHex(f)})`);
    for (const fl of allFields(p)) {
      if (fl.start < 0 || fl.end > f.length || fl.end < fl.start)
        throw new Error(`field ${fl.name} range ${fl.start}-${fl.end} outside ${f.length}`);
    }
  };

  it('5000 random frames on every link type', () => {
    for (let i = 0; i < 5000; i++) {
      const f = new Uint8Array(Math.floor(rnd() * 200));
      for (let j = 0; j < f.length; j++) f[j] = Math.floor(rnd() * 256);
      // Bias towards decodable starts so deeper layers get exercised.
      if (f.length > 14 && rnd() < 0.6) {
        f[12] = [0x08, 0x86, 0x81, 0x08][i % 4] as number;
        f[13] = [0x00, 0xdd, 0x00, 0x06][i % 4] as number;
        f[14] = rnd() < 0.5 ? 0x45 + Math.floor(rnd() * 4) : 0x60;
      }
      check(f, linktypes[i % linktypes.length] as number);
    }
  });

  it('8000 byte-flipped and truncated valid frames', () => {
    for (let i = 0; i < 8000; i++) {
      const base = bases[i % bases.length] as Uint8Array;
      const f = base.slice(0, rnd() < 0.3 ? Math.floor(rnd() * base.length) : base.length);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < flips && f.length; k++) f[Math.floor(rnd() * f.length)] = Math.floor(rnd() * 256);
      check(f, LINKTYPE.ETHERNET);
    }
  });
});

describe('light decode (live rows)', () => {
  it('gives the same summary, DSR and malformed verdict as the full decode, without fields', () => {
    const frames = [...sampleFrames(), SEED000_FRAME.subarray(0, 40)];
    for (const f of frames) {
      const full = dec(f, LINKTYPE.ETHERNET, 82);
      const light = decodeFrame(
        f,
        { index: 0, linktype: LINKTYPE.ETHERNET, tsSec: 1, tsNsec: 0, len: 82 },
        { light: true },
      );
      expect(light.summary).toBe(full.summary);
      expect(light.dsr).toEqual(full.dsr);
      expect(light.malformed).toEqual(full.malformed);
      expect(light.layers.map((l) => l.proto)).toEqual(full.layers.map((l) => l.proto));
      expect(light.layers.every((l) => l.fields.length === 0 || l.proto === 'eth')).toBe(true);
    }
  });
});
