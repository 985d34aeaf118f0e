// Encapsulations CNIs and data centres use, and the extra link types (issue 15, items 3 and 4). The same
// frames are checked field by field against tshark in decode-tshark.test.ts; here, what the user reads.
import { describe, expect, it } from 'vitest';
import type { DecodedPacket, PacketField } from '../protocol/capture';
import { decodeFrame, LINKTYPE } from './decode';
import * as E from './fixtures/encap-frames';

const dec = (f: Uint8Array, linktype: number = LINKTYPE.ETHERNET): DecodedPacket =>
  decodeFrame(f, { index: 0, linktype, tsSec: 0, tsNsec: 0, len: f.length });
const protos = (p: DecodedPacket): string[] => p.layers.map((l) => l.proto);
function field(p: DecodedPacket, proto: string, name: string): PacketField | undefined {
  const walk = (fs: readonly PacketField[]): PacketField | undefined => {
    for (const f of fs) {
      if (f.name === name) return f;
      const c = f.children && walk(f.children);
      if (c) return c;
    }
    return undefined;
  };
  for (const l of p.layers) if (l.proto === proto) return walk(l.fields);
  return undefined;
}
const seedDsr = { addr: '172.18.0.2', port: 31400, encoding: 'ipv4-option' } as const;

describe('IP in IP', () => {
  it('Calico IPIP (protocol 4): the inner SYN in full, its DSR option found', () => {
    const p = dec(E.ipipFrame());
    expect(p.malformed).toBeNull();
    expect(protos(p)).toEqual(['eth', 'ipv4', 'ipv4', 'tcp']);
    expect(p.summary).toContain('172.18.0.2 > 172.18.0.3: IPIP: 10.244.1.2.40000 > 10.244.2.2.8080: Flags [S]');
    expect(p.dsr).toMatchObject(seedDsr);
    expect(p.dsr?.option).toEqual([14 + 20 + 20, 14 + 20 + 28]);
  });

  it('IPv6 in IPv4 (41), with the IPv6 DSR destination option inside', () => {
    const p = dec(E.sixInFourFrame());
    expect(protos(p)).toEqual(['eth', 'ipv4', 'ipv6', 'ipv6-ext', 'tcp']);
    expect(p.summary).toContain('IP6 in IP: fd00::1.40000 > fd00::2.8080');
    expect(p.dsr).toMatchObject({ addr: 'fd00::10', port: 8443, encoding: 'ipv6-destopt' });
  });
});

describe('GRE and ERSPAN', () => {
  it('checksum, key and sequence number, then IPv4 with DSR', () => {
    const p = dec(E.greKeySeqFrame());
    expect(p.malformed).toBeNull();
    expect(protos(p)).toEqual(['eth', 'ipv4', 'gre', 'ipv4', 'tcp']);
    expect(field(p, 'gre', 'Key')?.value).toBe('0x01020304');
    expect(field(p, 'gre', 'Sequence Number')?.value).toBe('42');
    expect(field(p, 'gre', 'Checksum')).toMatchObject({ start: 38, end: 40 });
    expect(p.summary).toContain('GREv0, key=0x1020304, seq 42, proto IPv4 (0x0800), length 64: 10.244.1.2.40000 >');
    expect(p.dsr).toMatchObject(seedDsr);
  });

  it('transparent Ethernet bridging (gretap): the inner Ethernet frame', () => {
    const p = dec(E.greTebFrame());
    expect(protos(p)).toEqual(['eth', 'ipv4', 'gre', 'eth', 'ipv4', 'udp', 'payload']);
    expect(p.summary).toContain('key=0x7, proto Transparent Ethernet Bridging (0x6558)');
    expect(p.summary).toContain('0a:00:00:00:00:01 > 0a:00:00:00:00:02');
    expect(p.summary).toContain('10.244.1.2.5000 > 10.244.2.3.53: UDP, length 8');
  });

  it('ERSPAN type II: session, vlan and index, then the mirrored frame', () => {
    const p = dec(E.erspan2Frame());
    expect(protos(p)).toEqual(['eth', 'ipv4', 'gre', 'erspan', 'eth', 'ipv4', 'udp', 'payload']);
    expect(field(p, 'erspan', 'Session ID')?.value).toBe('5');
    expect(field(p, 'erspan', 'Vlan')?.value).toBe('10');
    expect(field(p, 'erspan', 'Index')?.value).toBe('3');
    expect(p.summary).toContain('ERSPAN, type II, session 5, vlan 10: 0a:00:00:00:00:01');
  });

  it('ERSPAN type III: timestamp, security group tag, direction', () => {
    const p = dec(E.erspan3Frame());
    expect(p.malformed).toBeNull();
    expect(field(p, 'erspan', 'Session ID')?.value).toBe('6');
    expect(field(p, 'erspan', 'Timestamp')?.value).toBe('123456');
    expect(field(p, 'erspan', 'Security Group Tag')?.value).toBe('4660');
    expect(field(p, 'erspan', 'Direction')?.value).toBe('Egress');
    expect(p.summary).toContain('10.244.1.2.5000 > 10.244.2.3.53');
  });
});

describe('label and service headers', () => {
  it('MPLS: the label stack, then IPv4 by its version nibble', () => {
    const p = dec(E.mplsFrame());
    expect(protos(p)).toEqual(['eth', 'mpls', 'ipv4', 'icmp', 'payload']);
    const labels = p.layers[1]?.fields.filter((f) => f.name === 'MPLS Label') ?? [];
    expect(labels.map((l) => l.value)).toEqual(['100', '200']);
    expect(labels[1]?.children?.find((c) => c.name === 'Bottom of Stack')?.value).toBe('1');
    expect(p.summary).toContain(
      'MPLS (label 100, tc 0, ttl 64), (label 200, tc 5, [S], ttl 63) 10.1.0.1 > 10.2.0.1: ICMP echo request',
    );
  });

  it('NSH: service path 42, index 255, the inner IPv4 SYN with its DSR option', () => {
    const p = dec(E.nshFrame());
    expect(protos(p)).toEqual(['eth', 'nsh', 'ipv4', 'tcp']);
    expect(field(p, 'nsh', 'Service Path Identifier')?.value).toBe('42');
    expect(field(p, 'nsh', 'Service Index')?.value).toBe('255');
    expect(field(p, 'nsh', 'Context Headers')).toMatchObject({ start: 22, end: 26 });
    expect(p.dsr).toMatchObject(seedDsr);
  });

  it('NSH inside VXLAN-GPE, carrying Ethernet', () => {
    const p = dec(E.vxlanGpeNshFrame());
    expect(protos(p)).toEqual(['eth', 'ipv4', 'udp', 'vxlan', 'nsh', 'eth', 'ipv4', 'udp', 'payload']);
    expect(p.summary).toContain('VXLAN-GPE, flags [0x0c], vni 100, next-protocol 0x04: NSH');
    expect(p.summary).toContain('service-path-id 7, service-index 254');
  });

  it('MACsec integrity only: the SecTAG, the clear inner datagram, the ICV', () => {
    const f = E.macsecFrame();
    const p = dec(f);
    expect(p.malformed).toBeNull();
    expect(protos(p)).toEqual(['eth', 'macsec', 'ipv4', 'udp', 'payload']);
    expect(field(p, 'macsec', 'Packet Number')?.value).toBe('77');
    expect(field(p, 'macsec', 'Association Number (AN)')?.value).toBe('1');
    expect(field(p, 'macsec', 'ICV')).toMatchObject({ start: f.length - 16, end: f.length });
    expect(field(p, 'eth', 'Padding')).toBeUndefined();
    expect(p.summary).toContain(
      'MACsec, an 1, pn 77, sci 02000000000a0001, ethertype IPv4 (0x0800): 10.3.0.1.1234 > 10.3.0.2.5678',
    );
  });

  it('MACsec encrypted: the data stays opaque', () => {
    const p = dec(E.macsecEncryptedFrame());
    expect(protos(p)).toEqual(['eth', 'macsec', 'payload']);
    expect(p.summary).toContain('MACsec, an 0, pn 78, encrypted, length 40');
  });
});

describe('WireGuard on UDP 51820', () => {
  it('transport data: receiver index and counter (little-endian on the wire)', () => {
    const p = dec(E.wireguardDataFrame());
    expect(protos(p)).toEqual(['eth', 'ipv4', 'udp', 'wireguard', 'payload']);
    expect(field(p, 'wireguard', 'Receiver')?.value).toBe('0x11223344');
    expect(field(p, 'wireguard', 'Counter')?.value).toBe('5');
    expect(p.summary).toContain(
      '172.18.0.2.40000 > 172.18.0.3.51820: WireGuard transport data, receiver 0x11223344, counter 5, length 48',
    );
  });

  it('handshake initiation: the sender index', () => {
    const p = dec(E.wireguardInitFrame());
    expect(field(p, 'wireguard', 'Sender')?.value).toBe('0xdeadbeef');
    expect(p.summary).toContain('WireGuard handshake initiation, sender 0xdeadbeef, length 148');
  });
});

describe('link types', () => {
  it('DLT_NULL, little-endian AF_INET', () => {
    const p = dec(E.nullFrame(), LINKTYPE.NULL);
    expect(protos(p)).toEqual(['loopback', 'ipv4', 'udp', 'payload']);
    expect(p.summary).toBe('AF IPv4 (2), length 36: 127.0.0.1.1 > 127.0.0.2.2: UDP, length 4');
  });

  it('DLT_NULL from a big-endian host, IPv6 family 28', () => {
    const p = dec(E.nullFrame6BE(), LINKTYPE.NULL);
    expect(protos(p)).toEqual(['loopback', 'ipv6', 'udp', 'payload']);
    expect(p.summary).toContain('::1.3 > ::2.4: UDP');
  });

  it('DLT_LOOP, network order', () => {
    const p = dec(E.loopFrame(), LINKTYPE.LOOP);
    expect(p.layers[0]?.title).toBe('OpenBSD loopback (DLT_LOOP)');
    expect(p.summary).toContain('127.0.0.3.5 > 127.0.0.4.6: Flags [S]');
  });

  it('NFLOG: group, prefix and input interface, then the logged packet', () => {
    const p = dec(E.nflogFrame(), LINKTYPE.NFLOG);
    expect(p.malformed).toBeNull();
    expect(protos(p)).toEqual(['nflog', 'ipv4', 'tcp']);
    expect(p.layers[0]?.title).toBe('Linux Netfilter NFLOG, group 5, prefix "pj-drop "');
    expect(field(p, 'nflog', 'Input interface index')?.value).toBe('3');
    expect(p.summary).toBe(
      'NFLOG group 5 "pj-drop " in 3: 10.244.1.2.41000 > 10.96.0.10.80: Flags [S], seq 1, win 64240, length 0',
    );
  });

  it('SLL2: interface index and direction in the title and the summary', () => {
    const p = dec(E.sll2Frame(), LINKTYPE.LINUX_SLL2);
    expect(p.layers[0]?.title).toBe('Linux cooked capture v2, ifindex 7, Out');
    expect(field(p, 'sll', 'Interface index')?.value).toBe('7');
    expect(field(p, 'sll', 'Packet type')?.value).toBe('Out (from us) (4)');
    expect(p.summary).toMatch(/^ifindex 7 Out ethertype IPv4/);
  });
});
