// Name tables (IANA registries) used by the decoder and its summaries. Where the tracer names the same
// thing (protocols, ICMP types) the name comes from the shared vocabulary.
import { IP_PROTO, protoName } from '../../protocol/vocab';

export { ICMP_TYPES, ICMP6_TYPES } from '../../protocol/vocab';

export const ETHERTYPES: Readonly<Record<number, string>> = {
  0x0800: 'IPv4',
  0x0806: 'ARP',
  0x86dd: 'IPv6',
  0x8100: '802.1Q',
  0x88a8: '802.1Q-QinQ',
  0x9100: '802.1Q-9100',
  0x8847: 'MPLS unicast',
  0x8848: 'MPLS multicast',
  0x88cc: 'LLDP',
  0x8035: 'RARP',
  0x6558: 'Transparent Ethernet Bridging',
  0x88e5: 'MACsec',
  0x894f: 'NSH',
  0x88be: 'ERSPAN',
  0x22eb: 'ERSPAN Type III',
  0x880b: 'PPP',
};

/** IPv4 option types (IANA "IP Option Numbers"), plus Cilium's unassigned 154 used for DSR. */
export const IPV4_OPTIONS: Readonly<Record<number, string>> = {
  0: 'End of Options List (EOOL)',
  1: 'No Operation (NOP)',
  7: 'Record Route (RR)',
  10: 'Experimental Measurement (ZSU)',
  11: 'MTU Probe (MTUP)',
  12: 'MTU Reply (MTUR)',
  15: 'ENCODE',
  25: 'Quick-Start (QS)',
  30: 'RFC3692-style Experiment (EXP)',
  68: 'Time Stamp (TS)',
  82: 'Traceroute (TR)',
  94: 'RFC3692-style Experiment (EXP)',
  130: 'Security (SEC)',
  131: 'Loose Source Route (LSR)',
  133: 'Extended Security (E-SEC)',
  134: 'Commercial IP Security (CIPSO)',
  136: 'Stream ID (SID)',
  137: 'Strict Source Route (SSR)',
  142: 'Expermental Access Control (VISA)',
  144: 'IMI Traffic Descriptor (IMITD)',
  145: 'Extended Internet Protocol (EIP)',
  147: 'Address Extension (ADDEXT)',
  148: 'Router Alert (RTRALT)',
  149: 'Selective Directed Broadcast (SDB)',
  151: 'Dynamic Packet State (DPS)',
  152: 'Upstream Multicast Packet (UMP)',
  154: 'Cilium DSR (unassigned by IANA)',
  158: 'RFC3692-style Experiment (EXP)',
  205: 'Experimental Flow Control (FINN)',
  222: 'RFC3692-style Experiment (EXP)',
};

export const IP_PROTOCOLS: Readonly<Record<number, string>> = {
  0: 'IPv6 Hop-by-Hop Options',
  2: 'IGMP',
  4: 'IPIP',
  41: 'IPv6',
  43: 'IPv6 Routing',
  44: 'IPv6 Fragment',
  51: 'AH',
  58: 'ICMPv6',
  59: 'IPv6 No Next Header',
  60: 'IPv6 Destination Options',
  89: 'OSPF',
  112: 'VRRP',
  135: 'Mobility Header',
  139: 'HIP',
  140: 'Shim6',
  // The tracer's protocols, in the decoder's capitals (ICMP, TCP, UDP, GRE, ESP, SCTP).
  ...Object.fromEntries(Object.values(IP_PROTO).map((n) => [n, protoName(n).toUpperCase()])),
};

export const IPV6_TLV_OPTIONS: Readonly<Record<number, string>> = {
  0x00: 'Pad1',
  0x01: 'PadN',
  0x04: 'Tunnel Encapsulation Limit',
  0x05: 'Router Alert',
  0x1b: 'Cilium DSR (unassigned by IANA)',
  0x26: 'Quick-Start',
  0x31: 'IOAM',
  0x63: 'RPL Option',
  0x6d: 'MPL Option',
  0x8b: 'ILNP Nonce',
  0x8c: 'Line-Identification',
  0xc2: 'Jumbo Payload',
  0xc9: 'Home Address',
  0xee: 'IP_DFF',
};

export const TCP_OPTIONS: Readonly<Record<number, string>> = {
  0: 'End of Option List',
  1: 'No-Operation',
  2: 'Maximum Segment Size',
  3: 'Window Scale',
  4: 'SACK Permitted',
  5: 'SACK',
  8: 'Timestamps',
  19: 'MD5 Signature',
  28: 'User Timeout',
  29: 'TCP-AO',
  30: 'Multipath TCP',
  34: 'TCP Fast Open Cookie',
  253: 'RFC3692-style Experiment 1',
  254: 'RFC3692-style Experiment 2',
};

export const ICMP_UNREACH: Readonly<Record<number, string>> = {
  0: 'net unreachable',
  1: 'host unreachable',
  2: 'protocol unreachable',
  3: 'port unreachable',
  4: 'fragmentation needed',
  5: 'source route failed',
  6: 'network unknown',
  7: 'host unknown',
  9: 'net prohibited',
  10: 'host prohibited',
  13: 'administratively prohibited',
};

export const ARP_OPS: Readonly<Record<number, string>> = {
  1: 'Request',
  2: 'Reply',
  3: 'RARP Request',
  4: 'RARP Reply',
};

export const SLL_PKTTYPES: Readonly<Record<number, string>> = {
  0: 'In (to us)',
  1: 'B (broadcast)',
  2: 'M (multicast)',
  3: 'P (other host)',
  4: 'Out (from us)',
};

/** Cilium's DSR option identifiers. */
export const DSR = {
  IPV4_OPT_TYPE: 0x9a,
  IPV4_OPT_LEN: 8,
  IPV6_OPT_TYPE: 0x1b,
  GENEVE_CLASS: 0x014b,
  GENEVE_TYPE: 0x81,
} as const;

export const VXLAN_PORTS: ReadonlySet<number> = new Set([4789, 8472]);
export const GENEVE_PORT = 6081;
export const VXLAN_GPE_PORT = 4790;
export const WIREGUARD_PORT = 51820;
export const MPLS_UDP_PORT = 6635;

/** BSD loopback (DLT_NULL, DLT_LOOP) address families that mean IPv6: Linux, NetBSD/OpenBSD, FreeBSD, Darwin. */
export const AF_INET6S: ReadonlySet<number> = new Set([10, 24, 28, 30]);
