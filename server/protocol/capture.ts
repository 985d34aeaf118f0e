// Wire contract for server/capture/ (zod schemas + inferred types, socket events). Owned by that capability.
// Isomorphic: the app imports these types; the server parses every browser request with these schemas.
import { z } from 'zod';
import { IfName, NetnsName, type AckFn } from './common';

// ---------------------------------------------------------------------------------------------------------
// Decoded packets (server -> browser only, so plain readonly types rather than schemas)

/** A decoded field. `start`/`end` are byte offsets into the frame (end exclusive) for the hex view. */
export interface PacketField {
  readonly name: string;
  /** Display value, e.g. `172.18.0.2` or `0x1657 [correct]`. */
  readonly value: string;
  readonly start: number;
  readonly end: number;
  readonly children?: readonly PacketField[];
}

export const LayerProtos = [
  'eth',
  'sll',
  'vlan',
  'arp',
  'ipv4',
  'ipv6',
  'ipv6-ext',
  'icmp',
  'icmpv6',
  'tcp',
  'udp',
  'vxlan',
  'geneve',
  'payload',
] as const;
export type LayerProto = (typeof LayerProtos)[number];

export interface PacketLayer {
  readonly proto: LayerProto;
  readonly title: string;
  readonly start: number;
  readonly end: number;
  readonly fields: readonly PacketField[];
}

export const DsrEncodings = ['ipv4-option', 'ipv6-destopt', 'geneve-option'] as const;
export type DsrEncoding = (typeof DsrEncodings)[number];

/**
 * The service a Cilium DSR packet was addressed to. `byteOrder` says how the stored bytes are read:
 * the IPv4 option is in x86 host (little-endian) order because Cilium htons/htonl's values that are
 * already in network order; the IPv6 and Geneve forms are in network order.
 */
export interface DsrInfo {
  readonly addr: string;
  readonly port: number;
  readonly encoding: DsrEncoding;
  readonly byteOrder: 'little-endian' | 'network';
  /** The whole option (type and length included). */
  readonly option: readonly [number, number];
  readonly portRange: readonly [number, number];
  readonly addrRange: readonly [number, number];
  /** Hex of the stored bytes, in wire order, e.g. `a87a` and `020012ac`. */
  readonly portHex: string;
  readonly addrHex: string;
}

export interface Malformed {
  readonly layer: string;
  readonly field: string;
  readonly offset: number;
  readonly reason: string;
}

export interface DecodedPacket {
  readonly index: number;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly caplen: number;
  readonly len: number;
  readonly layers: readonly PacketLayer[];
  /** One line in the style of `tcpdump -e -n`. */
  readonly summary: string;
  readonly dsr: DsrInfo | null;
  readonly malformed: Malformed | null;
}

/** What the live list shows; the full decode and bytes are fetched on click. */
export interface PacketRow {
  readonly index: number;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly len: number;
  readonly summary: string;
  readonly dsr: DsrInfo | null;
  readonly malformed: boolean;
}

/** A per-packet annotation written as a pcapng `opt_comment` (`<source>: <text>`). */
export interface PacketAnnotation {
  readonly source: 'dsr' | 'note' | 'hop' | 'decoder';
  readonly text: string;
}

// ---------------------------------------------------------------------------------------------------------
// Captures

export const CaptureStates = ['starting', 'running', 'stopped', 'failed'] as const;
export type CaptureState = (typeof CaptureStates)[number];

export interface CaptureInfo {
  readonly id: string;
  readonly netns: string;
  readonly iface: string;
  readonly filter: string;
  readonly fileName: string | null;
  readonly state: CaptureState;
  readonly packets: number;
  readonly bytes: number;
  /** tcpdump's own counters, read from its exit summary. */
  readonly kernel: { readonly received: number; readonly dropped: number } | null;
  /** Rows not sent to a browser because it could not keep up. */
  readonly uiDropped: number;
  readonly startedAt: number;
  readonly exit: { readonly code: number | null; readonly signal: string | null; readonly reason: string } | null;
  readonly watchers: number;
}

export interface SavedCapture {
  readonly name: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface CaptureTarget {
  readonly netns: string;
  readonly ifaces: readonly { readonly name: string; readonly kind: string; readonly up: boolean }[];
}

/** pcap-filter expressions travel to tcpdump as one argv element; cap the length, forbid control chars. */
export const CaptureFilter = z
  .string()
  .max(1024)
  .refine(
    (s) => ![...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f),
    'filter contains control characters',
  );

/** Names in the captures folder: a flat file name, never a path. */
export const CaptureFileName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*\.pcapng$/, 'capture names are letters, digits, _ . - and end in .pcapng')
  .refine((s) => !s.includes('..'), 'capture names may not contain ".."');

export const CaptureStartReq = z.object({
  netns: NetnsName,
  iface: IfName,
  filter: CaptureFilter.default(''),
  count: z.number().int().min(1).max(10_000_000).optional(),
  /** Save to the captures folder as it streams (default on). */
  save: z.boolean().default(true),
  name: CaptureFileName.optional(),
});
export type CaptureStartReq = z.infer<typeof CaptureStartReq>;

export const CaptureIdReq = z.object({ id: z.string().regex(/^c[0-9a-z]{1,24}$/, 'not a capture id') });
export const CaptureFilterCheckReq = z.object({
  netns: NetnsName.default('host'),
  iface: IfName.optional(),
  filter: CaptureFilter,
});
export const CaptureNameReq = z.object({ name: CaptureFileName });
export const CapturePacketReq = z.object({ id: CaptureIdReq.shape.id, index: z.number().int().min(0) });
export const CaptureNoteReq = z.object({
  id: CaptureIdReq.shape.id,
  index: z.number().int().min(0),
  text: z.string().max(2000),
});
/** Base64 of a pcap/pcapng, e.g. a crafted DSR packet. Checked for size before decoding. */
export const CaptureDecodeFileReq = z.object({
  name: z.string().max(128).default('upload.pcap'),
  base64: z.string().min(1),
});
export const CAPTURE_UPLOAD_MAX_BYTES = 8 * 1024 * 1024;

// Limits: global ones, and per client (socket) below them, so one client cannot take every slot.
/** Live captures (each one a tcpdump), all clients together. */
export const CAPTURE_LIVE_MAX = 16;
export const CAPTURE_LIVE_PER_CLIENT = 4;
/** Decoded uploads held in memory per client; an upload belongs to its socket and goes with it. */
export const CAPTURE_UPLOADS_PER_CLIENT = 4;
/** Bytes of uploaded files held in memory, all clients together (PJ_CAPTURE_UPLOADS_MAX_BYTES overrides). */
export const CAPTURE_UPLOADS_MAX_BYTES = 32 * 1024 * 1024;
/** Total size of the captures folder (PJ_CAPTURE_QUOTA_BYTES overrides). */
export const CAPTURE_FOLDER_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;

export interface FilterCheck {
  readonly filter: string;
  /** `tcpdump -d` output: one cBPF instruction per line. */
  readonly bytecode: string;
}

export interface PacketDetail {
  readonly packet: DecodedPacket;
  readonly hex: string;
  /** The user's note(s) on this packet. */
  readonly notes: readonly string[];
  /** Other annotations (the tracer's hops), shown read-only and exported as comments. */
  readonly annotations: readonly PacketAnnotation[];
}

export interface CapturePacketsMsg {
  readonly id: string;
  readonly rows: readonly PacketRow[];
  /** Rows dropped by the batcher since the previous message. */
  readonly dropped: number;
}

export interface CaptureServerEvents {
  'capture:packets': (m: CapturePacketsMsg) => void;
  'capture:status': (c: CaptureInfo) => void;
}

export interface CaptureClientEvents {
  'capture:targets': (req: unknown, ack: AckFn<readonly CaptureTarget[]>) => void;
  'capture:filter-check': (req: unknown, ack: AckFn<FilterCheck>) => void;
  'capture:start': (req: unknown, ack: AckFn<CaptureInfo>) => void;
  'capture:stop': (req: unknown, ack: AckFn<CaptureInfo>) => void;
  /** Subscribe to a capture's rows; the ack carries the rows already captured (most recent first trimmed). */
  'capture:watch': (
    req: unknown,
    ack: AckFn<{ readonly info: CaptureInfo; readonly rows: readonly PacketRow[] }>,
  ) => void;
  'capture:unwatch': (req: unknown, ack: AckFn<null>) => void;
  'capture:packet': (req: unknown, ack: AckFn<PacketDetail>) => void;
  'capture:note': (req: unknown, ack: AckFn<null>) => void;
  'capture:list': (
    req: unknown,
    ack: AckFn<{ readonly live: readonly CaptureInfo[]; readonly saved: readonly SavedCapture[] }>,
  ) => void;
  'capture:delete': (req: unknown, ack: AckFn<null>) => void;
  /** Decode an uploaded file into a read-only capture the panel can browse like a live one. */
  'capture:decode-file': (
    req: unknown,
    ack: AckFn<{ readonly info: CaptureInfo; readonly rows: readonly PacketRow[] }>,
  ) => void;
  /** Open a saved capture from the folder the same way. */
  'capture:open': (
    req: unknown,
    ack: AckFn<{ readonly info: CaptureInfo; readonly rows: readonly PacketRow[] }>,
  ) => void;
}
