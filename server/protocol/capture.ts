// Wire contract for server/capture/ (zod schemas + inferred types, socket events). Owned by that capability.
// Isomorphic: the server parses every browser request with these schemas, and the browser every push
// and answer.
import { z } from 'zod';
import { IfName, NetnsName, type AckFn } from './common';

// ---------------------------------------------------------------------------------------------------------
// Decoded packets (server -> browser: the browser parses them with these schemas at the boundary)

const Range = z.tuple([z.number().int(), z.number().int()]).readonly();

/** A decoded field. `start`/`end` are byte offsets into the frame (end exclusive) for the hex view. */
export interface PacketField {
  readonly name: string;
  /** Display value, e.g. `172.18.0.2` or `0x1657 [correct]`. */
  readonly value: string;
  readonly start: number;
  readonly end: number;
  readonly children?: readonly PacketField[];
}
// Recursive, so typed by hand; the schema checks it is the same shape.
export const PacketField: z.ZodType<PacketField> = z.lazy(() =>
  z
    .object({
      name: z.string(),
      value: z.string(),
      start: z.number().int(),
      end: z.number().int(),
      children: z.array(PacketField).readonly().optional(),
    })
    .readonly(),
);

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
  // Added for the encapsulations and link types of issue 15 (additive: older values unchanged).
  'loopback',
  'nflog',
  'gre',
  'erspan',
  'mpls',
  'macsec',
  'wireguard',
  'nsh',
  'payload',
] as const;
export type LayerProto = (typeof LayerProtos)[number];

export const PacketLayer = z
  .object({
    proto: z.enum(LayerProtos),
    title: z.string(),
    start: z.number().int(),
    end: z.number().int(),
    fields: z.array(PacketField).readonly(),
  })
  .readonly();
export type PacketLayer = z.infer<typeof PacketLayer>;

export const DsrEncodings = ['ipv4-option', 'ipv6-destopt', 'geneve-option'] as const;
export type DsrEncoding = (typeof DsrEncodings)[number];

/**
 * The service a Cilium DSR packet was addressed to. `byteOrder` says how the stored bytes are read:
 * the IPv4 option is in x86 host (little-endian) order because Cilium htons/htonl's values that are
 * already in network order; the IPv6 and Geneve forms are in network order.
 */
export const DsrInfo = z
  .object({
    addr: z.string(),
    port: z.number().int(),
    encoding: z.enum(DsrEncodings),
    byteOrder: z.enum(['little-endian', 'network']),
    /** The whole option (type and length included). */
    option: Range,
    portRange: Range,
    addrRange: Range,
    /** Hex of the stored bytes, in wire order, e.g. `a87a` and `020012ac`. */
    portHex: z.string(),
    addrHex: z.string(),
  })
  .readonly();
export type DsrInfo = z.infer<typeof DsrInfo>;

export const Malformed = z
  .object({ layer: z.string(), field: z.string(), offset: z.number().int(), reason: z.string() })
  .readonly();
export type Malformed = z.infer<typeof Malformed>;

export const DecodedPacket = z
  .object({
    index: z.number().int(),
    tsSec: z.number(),
    tsNsec: z.number(),
    caplen: z.number().int(),
    len: z.number().int(),
    layers: z.array(PacketLayer).readonly(),
    /** One line in the style of `tcpdump -e -n`. */
    summary: z.string(),
    dsr: DsrInfo.nullable(),
    malformed: Malformed.nullable(),
  })
  .readonly();
export type DecodedPacket = z.infer<typeof DecodedPacket>;

/** What the live list shows; the full decode and bytes are fetched on click. */
export const PacketRow = z
  .object({
    index: z.number().int(),
    tsSec: z.number(),
    tsNsec: z.number(),
    len: z.number().int(),
    summary: z.string(),
    dsr: DsrInfo.nullable(),
    malformed: z.boolean(),
  })
  .readonly();
export type PacketRow = z.infer<typeof PacketRow>;

/** A per-packet annotation written as a pcapng `opt_comment` (`<source>: <text>`). */
export const PacketAnnotation = z
  .object({ source: z.enum(['dsr', 'note', 'hop', 'decoder']), text: z.string() })
  .readonly();
export type PacketAnnotation = z.infer<typeof PacketAnnotation>;

// ---------------------------------------------------------------------------------------------------------
// Captures

export const CaptureStates = ['starting', 'running', 'stopped', 'failed'] as const;
export type CaptureState = (typeof CaptureStates)[number];

export const CaptureInfo = z
  .object({
    id: z.string(),
    netns: z.string(),
    iface: z.string(),
    filter: z.string(),
    fileName: z.string().nullable(),
    state: z.enum(CaptureStates),
    packets: z.number().int(),
    bytes: z.number(),
    /** tcpdump's own counters, read from its exit summary. */
    kernel: z.object({ received: z.number().int(), dropped: z.number().int() }).readonly().nullable(),
    /** Rows not sent to a browser because it could not keep up. */
    uiDropped: z.number().int(),
    startedAt: z.number(),
    exit: z
      .object({ code: z.number().int().nullable(), signal: z.string().nullable(), reason: z.string() })
      .readonly()
      .nullable(),
    watchers: z.number().int(),
  })
  .readonly();
export type CaptureInfo = z.infer<typeof CaptureInfo>;

export const SavedCapture = z.object({ name: z.string(), size: z.number(), mtimeMs: z.number() }).readonly();
export type SavedCapture = z.infer<typeof SavedCapture>;

export const CaptureTarget = z
  .object({
    netns: z.string(),
    ifaces: z.array(z.object({ name: z.string(), kind: z.string(), up: z.boolean() }).readonly()).readonly(),
  })
  .readonly();
export type CaptureTarget = z.infer<typeof CaptureTarget>;

/** A capture shown in the panel: its info and the rows captured so far (watch, upload, open). */
export const CaptureShown = z
  .object({
    info: CaptureInfo,
    rows: z.array(PacketRow).readonly(),
    /**
     * A resumed watch (`after` given): rows between `after` and the first row sent that the server no
     * longer holds (or would not resend at once); the page shows what it got instead of what it had.
     */
    missed: z.number().int().min(0).optional(),
  })
  .readonly();
export type CaptureShown = z.infer<typeof CaptureShown>;

export const CaptureList = z
  .object({ live: z.array(CaptureInfo).readonly(), saved: z.array(SavedCapture).readonly() })
  .readonly();
export type CaptureList = z.infer<typeof CaptureList>;

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
/** `capture:watch`; after a reconnect, `after` is the index of the last row the page applied: it gets the rows after it. */
export const CaptureWatchReq = CaptureIdReq.extend({ after: z.number().int().min(-1).optional() });
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

export const FilterCheck = z
  .object({
    filter: z.string(),
    /** `tcpdump -d` output: one cBPF instruction per line. */
    bytecode: z.string(),
  })
  .readonly();
export type FilterCheck = z.infer<typeof FilterCheck>;

export const PacketDetail = z
  .object({
    packet: DecodedPacket,
    hex: z.string(),
    /** The user's note(s) on this packet. */
    notes: z.array(z.string()).readonly(),
    /** Other annotations (the tracer's hops), shown read-only and exported as comments. */
    annotations: z.array(PacketAnnotation).readonly(),
  })
  .readonly();
export type PacketDetail = z.infer<typeof PacketDetail>;

export const CapturePacketsMsg = z
  .object({
    id: z.string(),
    rows: z.array(PacketRow).readonly(),
    /** Rows dropped by the batcher since the previous message. */
    dropped: z.number().int(),
  })
  .readonly();
export type CapturePacketsMsg = z.infer<typeof CapturePacketsMsg>;

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
  'capture:watch': (req: unknown, ack: AckFn<CaptureShown>) => void;
  'capture:unwatch': (req: unknown, ack: AckFn<null>) => void;
  'capture:packet': (req: unknown, ack: AckFn<PacketDetail>) => void;
  'capture:note': (req: unknown, ack: AckFn<null>) => void;
  'capture:list': (req: unknown, ack: AckFn<CaptureList>) => void;
  'capture:delete': (req: unknown, ack: AckFn<null>) => void;
  /** Decode an uploaded file into a read-only capture the panel can browse like a live one. */
  'capture:decode-file': (req: unknown, ack: AckFn<CaptureShown>) => void;
  /** Open a saved capture from the folder the same way. */
  'capture:open': (req: unknown, ack: AckFn<CaptureShown>) => void;
}
