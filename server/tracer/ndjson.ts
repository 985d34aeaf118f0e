// The probe loader's stdout, parsed once at the process boundary into readonly domain records
// (hop-event.ts). Records are snake_case, as loader.c prints them; the hops arrive packed as struct
// pj_event (probes/event.h), decoded by the layout the ready record declares and checked against the
// table generated from event.h (event-fields.ts). Nothing downstream sees raw JSON.
import { z } from 'zod';
import { DIR_NAMES, HOOK_NAMES, NETFILTER_LINK_HOOKS, NF_HOOK_NAMES } from '../protocol/probe-names';
import { EVENT_FIELDS } from './event-fields';
import { ipv6FromBytes } from '../protocol/vocab';
import {
  IPV6_EXT_BITS,
  IPV6_EXT_DSR,
  type HookName,
  type HopEvent,
  type Ipv6Extra,
  type NfHookName,
  type ProbeDir,
} from './hop-event';

const HookNameSchema = z.enum(HOOK_NAMES);
const DirSchema = z.enum(DIR_NAMES);
const NfHookSchema = z.enum(NF_HOOK_NAMES);

const u32 = z.number().int().min(0).max(0xffffffff);

// Hop batches (one record per ring-buffer drain, `{"type":"hops","n":N,"data":"<base64>","loc":[[i,"sym"]…]}`)
// are read off their bytes by readHopBatch below; the other records go through zod.

/** Offset of every field of struct pj_event, as the loader declares them. */
export type EventLayout = { readonly size: number } & { readonly [K in keyof typeof EVENT_FIELDS]: number };

const LayoutDecl = z.object({
  size: z.number().int().min(1).max(4096),
  endian: z.string(),
  fields: z.record(z.string(), z.tuple([z.number().int().min(0), z.number().int().min(1)])),
});

/** Offsets by field name, or the reason this server cannot read the loader's events. */
function checkLayout(d: z.infer<typeof LayoutDecl>): EventLayout | string {
  if (d.endian !== 'little') return `probe events are ${d.endian}-endian; this server reads little-endian`;
  const out: Record<string, number> = { size: d.size };
  for (const [name, width] of Object.entries(EVENT_FIELDS)) {
    const f = d.fields[name];
    if (!f) return `probe event has no field ${name}: rebuild with \`make -C probes\``;
    if (f[1] !== width || f[0] + width > d.size)
      return `probe event field ${name} is ${f[1]} bytes at ${f[0]}, expected ${width}: rebuild with \`make -C probes\``;
    out[name] = f[0];
  }
  return out as EventLayout;
}

const ReadyLine = z.object({
  type: z.literal('ready'),
  hook_names: z.array(z.string()).optional(),
  dir_names: z.array(z.string()).optional(),
  nf_hook_names: z.array(z.string()).optional(),
  reason_names: z.array(z.string()).optional(),
  pid: z.number().int(),
  attach_ms: z.number(),
  max_filters: z.number().int(),
  netfilter: z.boolean(),
  drop_reasons: z.number().int(),
  host_netns: u32,
  hooks: z.array(z.string()),
  layout: LayoutDecl.optional(),
  nf_prios: z.array(z.tuple([z.number().int(), z.number().int(), z.number().int()])).optional(),
});

/** Packets a budgeted slot refused since the loader's last stats or ack record: [slot, count] pairs. */
const Skipped = z.array(z.tuple([z.number().int().min(0).max(31), z.number().int().min(0)]));
export type SlotSkips = readonly (readonly [number, number])[];

const AckLine = z.object({
  type: z.literal('ack'),
  id: z.string(),
  ok: z.boolean(),
  error: z.string().optional(),
  netns: u32.optional(),
  links: z.number().int().optional(),
  emitted: z.number().int().optional(),
  lost: z.number().int().optional(),
  consumed: z.number().int().optional(),
  skipped: Skipped.optional(),
});

const StatsLine = z.object({
  type: z.literal('stats'),
  emitted: z.number().int(),
  lost: z.number().int(),
  consumed: z.number().int().optional(),
  nf_netns: z.number().int(),
  skipped: Skipped.optional(),
});

const Line = z.discriminatedUnion('type', [ReadyLine, AckLine, StatsLine]);

/** What the ready record declares: the event layout, and a decoder built from it and the tables the
 * event's codes index (the C enums stay the one definition). */
export interface CodeTables {
  readonly layout: EventLayout;
  /** Drop reason names by value (`enum skb_drop_reason` of the running kernel). */
  readonly reasons: readonly string[];
  /** One packed event at an offset into a batch. */
  readonly decode: Decode;
  /** By hook code: the event ends its packet (kfree_skb, consume_skb); its length is the number of codes. */
  readonly terminal: readonly boolean[];
}

export type LoaderRecord =
  | { readonly type: 'hops'; readonly hops: HopEvent[] }
  | {
      readonly type: 'ready';
      readonly pid: number;
      readonly attachMs: number;
      readonly maxFilters: number;
      readonly netfilter: boolean;
      readonly hostNetns: number;
      readonly tables?: CodeTables;
      /** Why the hop records cannot be read (a probe built from another event.h). */
      readonly layoutError?: string;
    }
  | {
      readonly type: 'ack';
      readonly id: string;
      readonly ok: boolean;
      readonly error?: string;
      readonly emitted?: number;
      readonly lost?: number;
      readonly consumed?: number;
      readonly skipped?: SlotSkips;
    }
  | { readonly type: 'stats'; readonly emitted: number; readonly lost: number; readonly skipped?: SlotSkips };

// Formatting numbers as text is most of the per-hop cost, and a trace sees few distinct MACs, addresses,
// skbs and interfaces (skbs are recycled), so each formatter remembers what it made. Keys are int32 (a
// low word, checked against the rest), which V8 hashes without allocating; a 48-bit key would not be.
interface Memo<E> {
  get(key: number): E | undefined;
  set(key: number, e: E): void;
}
function bounded<E>(max: number): Memo<E> {
  let m = new Map<number, E>();
  return {
    get: (k) => m.get(k),
    set: (k, e) => {
      if (m.size >= max) m = new Map();
      m.set(k, e);
    },
  };
}
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** Text of a 48-bit value given as its high 16 bits and low 32 bits (signed, as read). */
function memo48(f: (hi: number, lo: number) => string, max: number): (hi: number, lo: number) => string {
  const m = bounded<{ hi: number; s: string }>(max);
  return (hi, lo) => {
    const e = m.get(lo);
    if (e && e.hi === hi) return e.s;
    const s = f(hi, lo >>> 0);
    m.set(lo, { hi, s });
    return s;
  };
}
// Kernel addresses all start with 0xffff: the low 48 bits are the skb.
const skbText = memo48((hi, lo) => `ffff${hex(hi, 4)}${hex(lo, 8)}`, 65536);
const mac = memo48((hi, lo) => {
  const h = hex(hi, 4) + hex(lo, 8);
  return `${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}:${h.slice(8, 10)}:${h.slice(10, 12)}`;
}, 8192);
const ipv4Memo = bounded<string>(8192);
function ipv4(n: number): string {
  let s = ipv4Memo.get(n);
  if (s === undefined) {
    s = `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    ipv4Memo.set(n, s);
  }
  return s;
}

const TWO32 = 4294967296;

/** IPv6 text of 16 bytes of an event, remembered by a hash of its four words (checked in full). */
function ipv6Reader(): (buf: Buffer, dv: DataView, at: number) => string {
  const m = bounded<{ a: number; b: number; c: number; d: number; s: string }>(4096);
  return (buf, dv, at) => {
    const a = dv.getInt32(at, true);
    const b = dv.getInt32(at + 4, true);
    const c = dv.getInt32(at + 8, true);
    const d = dv.getInt32(at + 12, true);
    const key = a ^ Math.imul(b, 31) ^ Math.imul(c, 961) ^ Math.imul(d, 29791);
    const e = m.get(key);
    if (e && e.a === a && e.b === b && e.c === c && e.d === d) return e.s;
    const s = ipv6FromBytes(buf, at);
    m.set(key, { a, b, c, d, s });
    return s;
  };
}
const ipv6Text = ipv6Reader();

function ipv6Extra(buf: Buffer, dv: DataView, o: number, L: EventLayout): Ipv6Extra {
  const bits = buf[o + L.ext6] as number;
  const ext = IPV6_EXT_BITS.filter(([b]) => bits & b).map(([, n]) => n);
  return {
    flowLabel: dv.getUint32(o + L.flow_label, true),
    ext,
    ...(bits & IPV6_EXT_DSR && {
      dsr: { addr: ipv6FromBytes(buf, o + L.dsr6), port: dv.getUint16(o + L.dsr6 + 16) },
    }),
  };
}

/**
 * Which events of a batch to build, and for whom: each one's kernel time, filter-slot mask, whether it ends a
 * packet and its skb's low 32 bits are read at their fixed offsets first; it returns the slots to deliver
 * it to (a subset of `mask`), and an event given 0 is never made into an object.
 */
export type BatchPick = (tsNs: number, mask: number, terminal: boolean, skbLo: number) => number;

const HOPS_HEAD = Buffer.from('{"type":"hops","n":');
const DATA_HEAD = Buffer.from(',"data":"');
const LOC_HEAD = Buffer.from(',"loc":');
const QUOTE = 0x22;
const CLOSE = 0x7d; // }

/** A loader line that is a hop batch (checked on its bytes, before any string is made of it). */
export const isHopBatch = (line: Buffer): boolean =>
  line.length > HOPS_HEAD.length && line.compare(HOPS_HEAD, 0, HOPS_HEAD.length, 0, HOPS_HEAD.length) === 0;

// Base64 decoded from the line's bytes into one scratch buffer that every batch reuses: a flood's batches
// (up to ~600 KB of base64 each) then make no string, no JSON value and no new buffer of their own.
const B64 = new Int16Array(256).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries())
  B64[c.charCodeAt(0)] = i;
let scratch = Buffer.allocUnsafe(1 << 19);

/** Decodes src[from, to) (padded base64) into the scratch buffer; its length, or -1 if not base64. */
function unbase64(src: Buffer, from: number, to: number): number {
  const len = to - from;
  if (len % 4 !== 0) return -1;
  let pad = 0;
  if (len > 0 && src[to - 1] === 0x3d) pad = src[to - 2] === 0x3d ? 2 : 1;
  const out = (len / 4) * 3 - pad;
  if (scratch.length < out) scratch = Buffer.allocUnsafe(Math.max(out, scratch.length * 2));
  const d = scratch;
  let o = 0;
  const full = pad ? to - 4 : to;
  for (let i = from; i < full; i += 4) {
    const v =
      ((B64[src[i] as number] as number) << 18) |
      ((B64[src[i + 1] as number] as number) << 12) |
      ((B64[src[i + 2] as number] as number) << 6) |
      (B64[src[i + 3] as number] as number);
    if (v < 0) return -1; // a -1 anywhere sets the sign bit
    d[o++] = v >> 16;
    d[o++] = (v >> 8) & 255;
    d[o++] = v & 255;
  }
  if (pad) {
    const a = B64[src[full] as number] as number;
    const b = B64[src[full + 1] as number] as number;
    const c = pad === 1 ? (B64[src[full + 2] as number] as number) : 0;
    if (a < 0 || b < 0 || c < 0) return -1;
    const v = (a << 18) | (b << 12) | (c << 6);
    d[o++] = v >> 16;
    if (pad === 1) d[o++] = (v >> 8) & 255;
  }
  return o;
}

const LocList = z.array(z.tuple([z.number().int().min(0), z.string()]));

/** The `"n":N,"data":"…"` envelope of a batch line, read off its bytes; undefined if it is not one. */
function envelope(line: Buffer): { n: number; from: number; to: number; rest: number } | undefined {
  let i = HOPS_HEAD.length;
  let n = 0;
  const digits = i;
  for (; i < line.length && (line[i] as number) >= 0x30 && (line[i] as number) <= 0x39; i++)
    n = n * 10 + (line[i] as number) - 0x30;
  if (i === digits || i - digits > 9) return undefined;
  if (line.compare(DATA_HEAD, 0, DATA_HEAD.length, i, i + DATA_HEAD.length) !== 0) return undefined;
  const from = i + DATA_HEAD.length;
  const to = line.indexOf(QUOTE, from);
  return to < 0 ? undefined : { n, from, to, rest: to + 1 };
}

/** The freeing sites (`loc`) after the data, by event index; undefined if malformed. */
function locations(line: Buffer, at: number): Map<number, string> | undefined {
  const end = line.length - (line[line.length - 1] === 0x0d ? 1 : 0);
  if (at === end - 1 && line[at] === CLOSE) return new Map();
  if (line[end - 1] !== CLOSE || line.compare(LOC_HEAD, 0, LOC_HEAD.length, at, at + LOC_HEAD.length) !== 0)
    return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(line.toString('utf8', at + LOC_HEAD.length, end - 1));
  } catch {
    return undefined;
  }
  const l = LocList.safeParse(raw);
  return l.success ? new Map(l.data) : undefined;
}

/**
 * The events of one batch line that `pick` wants, as HopEvents (all of them without `pick`), each one's
 * delivery mask put in `to` (same index); undefined for a line that is not a whole batch (torn, or an event
 * with a code the ready record did not name): count it, use none of it.
 */
export function readHopBatch(line: Buffer, t: CodeTables, pick?: BatchPick, to?: number[]): HopEvent[] | undefined {
  const env = isHopBatch(line) ? envelope(line) : undefined;
  if (!env) return undefined;
  const { size, ts_ns, mask, hook, skb } = t.layout;
  const len = unbase64(line, env.from, env.to);
  if (len < 0 || len !== env.n * size) return undefined;
  const buf = scratch;
  // DataView reads compile to single loads; Buffer's readUInt32LE and friends assemble bytes one by one.
  const dv = new DataView(buf.buffer, buf.byteOffset, len);
  const out: HopEvent[] = [];
  let locs: Map<number, string> | undefined;
  for (let i = 0, o = 0; i < env.n; i++, o += size) {
    const code = buf[o + hook] as number;
    if (code >= t.terminal.length) return undefined;
    const ts = dv.getUint32(o + ts_ns, true) + dv.getUint32(o + ts_ns + 4, true) * TWO32;
    const m = dv.getUint32(o + mask, true);
    const deliver = pick ? pick(ts, m, t.terminal[code] === true, dv.getInt32(o + skb, true)) : m;
    if (deliver === 0) continue;
    locs ??= locations(line, env.rest);
    if (!locs) return undefined;
    const h = t.decode(buf, dv, o, locs.get(i));
    if (!h) return undefined;
    if (to) to[out.length] = deliver;
    out.push(h);
  }
  // Nothing built: the envelope's tail still has to be whole.
  if (!locs && !locations(line, env.rest)) return undefined;
  return out;
}

/** Interface names by (netns, ifindex), checked against the name's 16 bytes (a rename shows at once). */
function ifnameReader(
  ifname: number,
  netns: number,
  ifindex: number,
): (buf: Buffer, dv: DataView, o: number) => string {
  const names = bounded<{ w0: number; w1: number; w2: number; w3: number; s: string }>(4096);
  return (buf, dv, o) => {
    const at = o + ifname;
    const w0 = dv.getInt32(at, true);
    const w1 = dv.getInt32(at + 4, true);
    const w2 = dv.getInt32(at + 8, true);
    const w3 = dv.getInt32(at + 12, true);
    const key = dv.getInt32(o + netns, true) ^ Math.imul(dv.getInt32(o + ifindex, true), 65599);
    const e = names.get(key);
    if (e && e.w0 === w0 && e.w1 === w1 && e.w2 === w2 && e.w3 === w3) return e.s;
    let end = at;
    while (end < at + 16 && buf[end] !== 0) end++;
    const s = buf.toString('utf8', at, end);
    names.set(key, { w0, w1, w2, w3, s });
    return s;
  };
}

type Decode = (buf: Buffer, dv: DataView, o: number, location: string | undefined) => HopEvent | undefined;

/** One event's decoder for a declared layout. Offsets are constants of the closure: reading them off
 * the layout object per field cost more than all the rest of the decoding. */
function decoder(
  L: EventLayout,
  hooks: readonly (HookName | undefined)[],
  dirs: readonly (ProbeDir | undefined)[],
  nfHooks: readonly (NfHookName | undefined)[],
  reasons: readonly string[],
  nfPrios: ReadonlyMap<number, number>,
): Decode {
  const { ts_ns, skb, netns, ifindex, mask, reason, saddr, daddr, sport, dport, ip_id, tot_len } = L;
  const { icmp_id, icmp_seq, hook: hookAt, dir: dirAt, proto: protoAt, ttl, ip_opts, tcp_flags } = L;
  const { icmp_type, icmp_code, nf_hook, has_ip, smac, dmac, ifname, raw, family, saddr6, daddr6 } = L;
  const sockConnect = hooks.indexOf('sock_connect');
  const nfLinks = hooks.map((h) => h !== undefined && (NETFILTER_LINK_HOOKS as readonly string[]).includes(h));
  const name = ifnameReader(ifname, netns, ifindex);
  return (buf, dv, o, location) => {
    const hookCode = buf[o + hookAt] as number;
    const hook = hooks[hookCode];
    const dir = dirs[buf[o + dirAt] as number];
    if (!hook || !dir) return undefined;
    const hasIp = buf[o + has_ip] === 1;
    const v6 = hasIp && buf[o + family] === 6;
    const proto = buf[o + protoAt] as number;
    const l4 = hasIp && (proto === 6 || proto === 17);
    const icmp = hasIp && (v6 ? proto === 58 : proto === 1);
    const nfCode = buf[o + nf_hook] as number;
    const nfHook = nfLinks[hookCode] === true ? nfHooks[nfCode] : undefined;
    const free = hook === 'kfree_skb';
    const reasonCode = free ? dv.getUint32(o + reason, true) : 0;
    return {
      tsNs: dv.getUint32(o + ts_ns, true) + dv.getUint32(o + ts_ns + 4, true) * TWO32,
      skb: skbText(dv.getUint16(o + skb + 4, true), dv.getInt32(o + skb, true)),
      hook,
      dir,
      netns: dv.getUint32(o + netns, true),
      ifindex: dv.getUint32(o + ifindex, true),
      mask: dv.getUint32(o + mask, true),
      ifname: name(buf, dv, o),
      srcMac: mac(dv.getUint16(o + smac), dv.getInt32(o + smac + 2)),
      dstMac: mac(dv.getUint16(o + dmac), dv.getInt32(o + dmac + 2)),
      hasIp,
      ...(v6 && { v6: ipv6Extra(buf, dv, o, L) }),
      // Addresses are in network order, ports and ids in host order (event.h).
      src: v6 ? ipv6Text(buf, dv, o + saddr6) : hasIp ? ipv4(dv.getInt32(o + saddr)) : '',
      dst: v6 ? ipv6Text(buf, dv, o + daddr6) : hasIp ? ipv4(dv.getInt32(o + daddr)) : '',
      proto,
      ttl: buf[o + ttl] as number,
      ipId: dv.getUint16(o + ip_id, true),
      totLen: dv.getUint16(o + tot_len, true),
      ipOptions: buf[o + ip_opts] === 1,
      optionBytes:
        buf[o + ip_opts] === 1 && hookCode !== sockConnect ? buf.toString('hex', o + raw, o + raw + 8) : undefined,
      // sockaddr_in as the caller wrote it: port and address in network order (event.h).
      connect:
        hookCode === sockConnect
          ? {
              asked: { addr: ipv4(dv.getInt32(o + raw + 4)), port: dv.getUint16(o + raw + 2) },
              socket: { addr: ipv4(dv.getInt32(o + reason)), port: dv.getUint16(o + icmp_id, true) },
            }
          : undefined,
      sport: l4 ? dv.getUint16(o + sport, true) : undefined,
      dport: l4 ? dv.getUint16(o + dport, true) : undefined,
      tcpFlags: hasIp && proto === 6 ? buf[o + tcp_flags] : undefined,
      icmp: icmp
        ? {
            type: buf[o + icmp_type] as number,
            code: buf[o + icmp_code] as number,
            id: dv.getUint16(o + icmp_id, true),
            seq: dv.getUint16(o + icmp_seq, true),
          }
        : undefined,
      reason: free ? reasons[reasonCode] || 'UNKNOWN' : undefined,
      reasonCode: free ? reasonCode : undefined,
      location,
      nfHook,
      nfPrio: nfHook ? nfPrios.get(hookCode * 8 + nfCode) : undefined,
    };
  };
}

/** A name the loader declares that this server lacks: it was built from another event.h. ("" is a code
 * with no name.) */
const unknownName = (got: readonly string[], known: readonly string[]): string | undefined =>
  got.find((n) => n !== '' && !known.includes(n));

function readyTables(l: z.infer<typeof ReadyLine>): { tables?: CodeTables; layoutError?: string } {
  if (!l.layout || !l.hook_names || !l.dir_names || !l.nf_hook_names) return {};
  const layout = checkLayout(l.layout);
  if (typeof layout === 'string') return { layoutError: layout };
  const hooks = l.hook_names.map((h) => HookNameSchema.safeParse(h).data);
  const dirs = l.dir_names.map((d) => DirSchema.safeParse(d).data);
  const nfHooks = l.nf_hook_names.map((h) => NfHookSchema.safeParse(h).data);
  const unknown =
    unknownName(l.hook_names, HOOK_NAMES) ??
    unknownName(l.dir_names, DIR_NAMES) ??
    unknownName(l.nf_hook_names, NF_HOOK_NAMES);
  if (unknown !== undefined)
    return { layoutError: `probe names "${unknown}", unknown here: rebuild with \`make -C probes\`` };
  const reasons = l.reason_names ?? [];
  const nfPrios = new Map((l.nf_prios ?? []).map(([code, hook, prio]) => [code * 8 + hook, prio]));
  return {
    tables: {
      layout,
      reasons,
      decode: decoder(layout, hooks, dirs, nfHooks, reasons, nfPrios),
      terminal: hooks.map((h) => h === 'kfree_skb' || h === 'consume_skb'),
    },
  };
}

/** Parses one NDJSON line; undefined for a line that is not a valid record (the caller counts those). */
export function parseLoaderLine(line: string, tables?: CodeTables): LoaderRecord | undefined {
  // Hop records are read off their bytes (readHopBatch; the server's own path starts from bytes).
  if (line.startsWith('{"type":"hops"')) {
    const hops = tables ? readHopBatch(Buffer.from(line, 'latin1'), tables) : undefined;
    return hops ? { type: 'hops', hops } : undefined;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  const r = Line.safeParse(raw);
  if (!r.success) return undefined;
  const l = r.data;
  switch (l.type) {
    case 'ready':
      return {
        type: 'ready',
        pid: l.pid,
        attachMs: l.attach_ms,
        maxFilters: l.max_filters,
        netfilter: l.netfilter,
        hostNetns: l.host_netns,
        ...readyTables(l),
      };
    case 'ack':
      return {
        type: 'ack',
        id: l.id,
        ok: l.ok,
        ...(l.error !== undefined && { error: l.error }),
        ...(l.emitted !== undefined && { emitted: l.emitted }),
        ...(l.lost !== undefined && { lost: l.lost }),
        ...(l.consumed !== undefined && { consumed: l.consumed }),
        ...(l.skipped && { skipped: l.skipped }),
      };
    case 'stats':
      return { type: 'stats', emitted: l.emitted, lost: l.lost, ...(l.skipped && { skipped: l.skipped }) };
  }
}

/** Every hop of a recorded loader stdout (its ready record, then hop batches), for fixtures and benches.
 * Throws on a line that is not a valid record: a recording has no excuse for one. */
export function decodeRecording(ndjson: string): HopEvent[] {
  let tables: CodeTables | undefined;
  const hops: HopEvent[] = [];
  for (const line of ndjson.split('\n')) {
    if (!line) continue;
    const r = parseLoaderLine(line, tables);
    if (!r) throw new Error(`not a loader record: ${line.slice(0, 80)}`);
    if (r.type === 'ready') tables = r.tables;
    else if (r.type === 'hops') for (const h of r.hops) hops.push(h);
  }
  return hops;
}
