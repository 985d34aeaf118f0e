// Offloaded super-packets (issue 15, item 1): GSO/GRO frames over 64 KiB whose IP or UDP length is 0.
// offload-lab.pcap is real: iperf3 through a veth pair with GRO and BIG TCP on (fixtures/record-offload.sh).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DecodedPacket } from '../protocol/capture';
import { decodeFrame, LINKTYPE } from './decode';
import { bigTcp4, bigTcp6, udpGso } from './fixtures/encap-frames';
import { readCaptureFile } from './pcap';

const NOTE = 'length from capture (TSO/BIG TCP)';
const dec = (f: Uint8Array, len = f.length): DecodedPacket =>
  decodeFrame(f, { index: 0, linktype: LINKTYPE.ETHERNET, tsSec: 0, tsNsec: 0, len });
const fieldValue = (p: DecodedPacket, proto: string, name: string): string | undefined =>
  p.layers.find((l) => l.proto === proto)?.fields.find((f) => f.name === name)?.value;

describe('recorded iperf3 super-packets (IPv4 and IPv6 BIG TCP, snaplen 160)', () => {
  const file = readCaptureFile(readFileSync(join(__dirname, 'fixtures/offload-lab.pcap')));
  const big = file.records.filter((r) => r.len > 65535 + 54);

  it('holds IPv4 and IPv6 super-packets longer than 64 KiB with a zero length field', () => {
    const v4 = big.filter((r) => r.data[12] === 0x08 && r.data[16] === 0 && r.data[17] === 0);
    const v6 = big.filter((r) => r.data[12] === 0x86 && r.data[18] === 0 && r.data[19] === 0);
    expect(v4.length).toBeGreaterThanOrEqual(3);
    expect(v6.length).toBeGreaterThanOrEqual(3);
  });

  it('decodes each one like tshark: not malformed, TCP length from the wire length, the note said', () => {
    for (const r of big) {
      const p = dec(r.data, r.len);
      expect(p.malformed, p.summary).toBeNull();
      expect(p.summary).toContain(`[${NOTE}]`);
      const v6 = r.data[12] === 0x86;
      expect(p.summary).toMatch(
        v6 ? /fd99::1\.\d+ > fd99::2\.5201: Flags \[/ : /10\.99\.0\.1\.\d+ > 10\.99\.0\.2\.5201: Flags \[/,
      );
      // Ethernet 14, IP 20 or 40 + the 8-byte Hop-by-Hop jumbo header, TCP 32 (timestamps).
      const hdr = v6 ? 14 + 40 + 8 + 32 : 14 + 20 + 32;
      expect(p.summary).toContain(`length ${r.len - hdr} [`);
      expect(fieldValue(p, v6 ? 'ipv6' : 'ipv4', v6 ? 'Payload Length' : 'Total Length')).toContain(NOTE);
    }
  });

  it('decodes the pings of the same capture as before', () => {
    const pings = file.records.filter((r) => r.len < 200).map((r) => dec(r.data, r.len));
    expect(pings.length).toBe(8);
    for (const p of pings) {
      expect(p.malformed).toBeNull();
      expect(p.summary).not.toContain(NOTE);
      expect(p.summary).toMatch(/ICMP6?,? echo (request|reply)/);
    }
  });
});

describe('crafted super-packets', () => {
  it('IPv4 total length 0 (BIG TCP)', () => {
    const p = dec(bigTcp4(70000));
    expect(p.malformed).toBeNull();
    expect(p.summary).toContain(
      '10.99.0.1.52000 > 10.99.0.2.5201: Flags [P.], seq 1:70001, ack 0, win 64240, length 70000',
    );
    expect(fieldValue(p, 'ipv4', 'Total Length')).toBe(`0 (${NOTE}: 70040)`);
    expect(p.layers.map((l) => l.proto)).toEqual(['eth', 'ipv4', 'tcp', 'payload']);
  });

  it('IPv6 payload length 0 with a Hop-by-Hop Jumbo Payload option', () => {
    const p = dec(bigTcp6(70000));
    expect(p.malformed).toBeNull();
    expect(p.summary).toContain('fd99::1.52000 > fd99::2.5201: Flags [P.], seq 1:70001');
    expect(p.summary).toContain(`length 70000 [${NOTE}]`);
    const hbh = p.layers.find((l) => l.proto === 'ipv6-ext');
    expect(
      hbh?.fields.find((f) => f.name === 'Jumbo Payload')?.children?.find((c) => c.name === 'Jumbo Payload Length')
        ?.value,
    ).toBe('70028');
  });

  it('UDP length 0 on a GSO super-packet', () => {
    const p = dec(udpGso(70000));
    expect(p.malformed).toBeNull();
    expect(p.summary).toContain(`10.99.0.1.40000 > 10.99.0.2.9000: UDP, length 70000 [${NOTE}]`);
    expect(fieldValue(p, 'udp', 'Length')).toBe(`0 (${NOTE}: 70008)`);
  });

  it('a header-only snap of a BIG TCP frame takes the length from the wire length, not the bytes kept', () => {
    const f = bigTcp4(70000);
    const p = dec(f.subarray(0, 120), f.length);
    expect(p.malformed).toBeNull();
    expect(p.summary).toContain('length 70000');
    expect(p.summary).toContain('[|capture cut at 120 of 70054 bytes]');
  });

  it('a non-zero IPv4 total length shorter than the header is still malformed', () => {
    const f = bigTcp4(10);
    f[17] = 12;
    expect(dec(f).malformed?.reason).toBe('IPv4 total length 12 is shorter than its header (20)');
  });
});
