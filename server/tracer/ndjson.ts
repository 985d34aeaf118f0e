// The probe loader's stdout, parsed once at the process boundary into readonly domain records.
// Field names mirror probes/event.h + loader.c's printf (snake_case); nothing downstream sees raw JSON.
import { z } from 'zod';

const HookName = z.enum([
  'net_dev_queue',
  'netif_receive_skb',
  'netif_rx',
  'napi_gro_receive_entry',
  'kfree_skb',
  'consume_skb',
  'nf_nat',
  'nf_pre_filter',
  'nf_post_filter',
]);
export type HookName = z.infer<typeof HookName>;
const NfHookName = z.enum(['PRE_ROUTING', 'LOCAL_IN', 'FORWARD', 'LOCAL_OUT', 'POST_ROUTING']);

const u32 = z.number().int().min(0).max(0xffffffff);

// The hot path: up to hundreds of thousands of lines a second. Plain types (the loader prints fixed-width
// integers), no regexes or ranges, so zod's compiled object parser stays cheap.
const num = z.number();
const HopLine = z.object({
  type: z.literal('hop'),
  ts_ns: num,
  skb: z.string(),
  hook: HookName,
  dir: z.enum(['egress', 'ingress', 'none']),
  netns: num,
  ifindex: num,
  mask: num,
  cpu: num,
  ifname: z.string(),
  src_mac: z.string(),
  dst_mac: z.string(),
  src: z.string().optional(),
  dst: z.string().optional(),
  proto: num.optional(),
  ttl: num.optional(),
  ip_id: num.optional(),
  tot_len: num.optional(),
  ip_opts: z.boolean().optional(),
  sport: num.optional(),
  dport: num.optional(),
  tcp_flags: num.optional(),
  icmp_type: num.optional(),
  icmp_code: num.optional(),
  icmp_id: num.optional(),
  icmp_seq: num.optional(),
  reason_code: num.optional(),
  reason: z.string().optional(),
  location: z.string().optional(),
  nf_hook: NfHookName.optional(),
  nf_prio: num.optional(),
});

// `loader --batch`: one columnar record per ring-buffer drain, same field names, absent values 0 / "".
// Column checks as tight loops inside zod: z.array(z.number()) costs ~150 ns per element here, which
// across 30 columns would cap the server at ~200k hops/s.
const isNums = (v: unknown): v is number[] => {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'number') return false;
  return true;
};
const isStrs = (v: unknown): v is string[] => {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return false;
  return true;
};
const nums = z.custom<number[]>(isNums, 'expected an array of numbers');
const strs = z.custom<string[]>(isStrs, 'expected an array of strings');
const HopBatchLine = z.object({
  type: z.literal('hops'),
  n: z.number().int().min(0),
  ts_ns: nums,
  skb: nums,
  hook: nums,
  dir: nums,
  netns: nums,
  ifindex: nums,
  mask: nums,
  cpu: nums,
  ifname: strs,
  src_mac: nums,
  dst_mac: nums,
  has_ip: nums,
  src: nums,
  dst: nums,
  proto: nums,
  ttl: nums,
  ip_id: nums,
  tot_len: nums,
  ip_opts: nums,
  sport: nums,
  dport: nums,
  tcp_flags: nums,
  icmp_type: nums,
  icmp_code: nums,
  icmp_id: nums,
  icmp_seq: nums,
  reason_code: nums,
  location: strs,
  nf_hook: nums,
  nf_prio: nums,
});
type HopBatchLine = z.infer<typeof HopBatchLine>;

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
});

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
});

const StatsLine = z.object({
  type: z.literal('stats'),
  emitted: z.number().int(),
  lost: z.number().int(),
  consumed: z.number().int().optional(),
  nf_netns: z.number().int(),
});

const Line = z.discriminatedUnion('type', [HopLine, ReadyLine, AckLine, StatsLine]);

/** One kernel sighting of a traced packet. */
export interface HopEvent {
  readonly tsNs: number;
  readonly skb: string;
  readonly hook: HookName;
  readonly dir: 'egress' | 'ingress' | 'none';
  readonly netns: number;
  readonly ifindex: number;
  /** Bit i: filter slot i matched. */
  readonly mask: number;
  readonly ifname: string;
  readonly srcMac: string;
  readonly dstMac: string;
  /** false when the packet was not IPv4 (address fields are then empty). */
  readonly hasIp: boolean;
  readonly src: string;
  readonly dst: string;
  readonly proto: number;
  readonly ttl: number;
  readonly ipId: number;
  readonly totLen: number;
  readonly ipOptions: boolean;
  readonly sport?: number;
  readonly dport?: number;
  readonly tcpFlags?: number;
  readonly icmp?: { readonly type: number; readonly code: number; readonly id: number; readonly seq: number };
  readonly reason?: string;
  readonly reasonCode?: number;
  readonly location?: string;
  readonly nfHook?: z.infer<typeof NfHookName>;
  readonly nfPrio?: number;
}

/** The ready record's tables that `--batch` codes index (the C enums stay the one definition). */
export interface CodeTables {
  readonly hooks: readonly (HookName | undefined)[];
  readonly dirs: readonly (HopEvent['dir'] | undefined)[];
  readonly nfHooks: readonly (z.infer<typeof NfHookName> | undefined)[];
  readonly reasons: readonly string[];
}

export type LoaderRecord =
  | { readonly type: 'hop'; readonly hop: HopEvent }
  | { readonly type: 'hops'; readonly hops: HopEvent[] }
  | {
      readonly type: 'ready';
      readonly pid: number;
      readonly attachMs: number;
      readonly maxFilters: number;
      readonly netfilter: boolean;
      readonly hostNetns: number;
      readonly tables?: CodeTables;
    }
  | {
      readonly type: 'ack';
      readonly id: string;
      readonly ok: boolean;
      readonly error?: string;
      readonly emitted?: number;
      readonly lost?: number;
      readonly consumed?: number;
    }
  | { readonly type: 'stats'; readonly emitted: number; readonly lost: number };

function toHop(l: z.infer<typeof HopLine>): HopEvent {
  // Built in one literal (no conditional spreads): this runs for every event.
  return {
    tsNs: l.ts_ns,
    skb: l.skb,
    hook: l.hook,
    dir: l.dir,
    netns: l.netns,
    ifindex: l.ifindex,
    mask: l.mask,
    ifname: l.ifname,
    srcMac: l.src_mac,
    dstMac: l.dst_mac,
    hasIp: l.src !== undefined,
    src: l.src ?? '',
    dst: l.dst ?? '',
    proto: l.proto ?? 0,
    ttl: l.ttl ?? 0,
    ipId: l.ip_id ?? 0,
    totLen: l.tot_len ?? 0,
    ipOptions: l.ip_opts ?? false,
    sport: l.sport,
    dport: l.dport,
    tcpFlags: l.tcp_flags,
    icmp:
      l.icmp_type !== undefined
        ? { type: l.icmp_type, code: l.icmp_code ?? 0, id: l.icmp_id ?? 0, seq: l.icmp_seq ?? 0 }
        : undefined,
    reason: l.reason,
    reasonCode: l.reason_code,
    location: l.location,
    nfHook: l.nf_hook,
    nfPrio: l.nf_prio,
  };
}

// Formatting numbers as text is most of the per-hop cost, and a trace sees few distinct MACs, addresses
// and skbs (they are recycled), so each formatter remembers what it made.
function memo(f: (n: number) => string, max = 8192): (n: number) => string {
  let m = new Map<number, string>();
  return (n) => {
    let s = m.get(n);
    if (s === undefined) {
      if (m.size >= max) m = new Map();
      s = f(n);
      m.set(n, s);
    }
    return s;
  };
}
const skbText = memo((n) => `ffff${n.toString(16).padStart(12, '0')}`, 65536);
const ipv4 = memo((n) => `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`);
const mac = memo((n) => {
  const h = n.toString(16).padStart(12, '0');
  return `${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}:${h.slice(8, 10)}:${h.slice(10, 12)}`;
});

function fromBatch(b: HopBatchLine, t: CodeTables): HopEvent[] | undefined {
  const n = b.n;
  const cols: readonly { length: number }[] = [
    b.ts_ns,
    b.skb,
    b.hook,
    b.dir,
    b.netns,
    b.ifindex,
    b.mask,
    b.cpu,
    b.ifname,
    b.src_mac,
    b.dst_mac,
    b.has_ip,
    b.src,
    b.dst,
    b.proto,
    b.ttl,
    b.ip_id,
    b.tot_len,
    b.ip_opts,
    b.sport,
    b.dport,
    b.tcp_flags,
    b.icmp_type,
    b.icmp_code,
    b.icmp_id,
    b.icmp_seq,
    b.reason_code,
    b.location,
    b.nf_hook,
    b.nf_prio,
  ];
  if (cols.some((c) => c.length !== n)) return undefined; // a torn record: count it, use none of it
  const out: HopEvent[] = new Array<HopEvent>(n);
  for (let i = 0; i < n; i++) {
    const hook = t.hooks[b.hook[i] as number];
    const dir = t.dirs[b.dir[i] as number];
    if (!hook || !dir) return undefined;
    const hasIp = b.has_ip[i] === 1;
    const proto = b.proto[i] as number;
    const l4 = hasIp && (proto === 6 || proto === 17);
    const nfHook = t.nfHooks[b.nf_hook[i] as number];
    const location = b.location[i];
    const free = hook === 'kfree_skb';
    out[i] = {
      tsNs: b.ts_ns[i] as number,
      // Same text as the per-hop record: kernel addresses all start with 0xffff.
      skb: skbText(b.skb[i] as number),
      hook,
      dir,
      netns: b.netns[i] as number,
      ifindex: b.ifindex[i] as number,
      mask: b.mask[i] as number,
      ifname: b.ifname[i] as string,
      srcMac: mac(b.src_mac[i] as number),
      dstMac: mac(b.dst_mac[i] as number),
      hasIp,
      src: hasIp ? ipv4(b.src[i] as number) : '',
      dst: hasIp ? ipv4(b.dst[i] as number) : '',
      proto,
      ttl: b.ttl[i] as number,
      ipId: b.ip_id[i] as number,
      totLen: b.tot_len[i] as number,
      ipOptions: b.ip_opts[i] === 1,
      sport: l4 ? b.sport[i] : undefined,
      dport: l4 ? b.dport[i] : undefined,
      tcpFlags: hasIp && proto === 6 ? b.tcp_flags[i] : undefined,
      icmp:
        hasIp && proto === 1
          ? {
              type: b.icmp_type[i] as number,
              code: b.icmp_code[i] as number,
              id: b.icmp_id[i] as number,
              seq: b.icmp_seq[i] as number,
            }
          : undefined,
      reason: free ? t.reasons[b.reason_code[i] as number] || 'UNKNOWN' : undefined,
      reasonCode: free ? b.reason_code[i] : undefined,
      location: location ? location : undefined,
      nfHook,
      nfPrio: nfHook ? b.nf_prio[i] : undefined,
    };
  }
  return out;
}

/** Parses one NDJSON line; undefined for a line that is not a valid record (the caller counts those). */
export function parseLoaderLine(line: string, tables?: CodeTables): LoaderRecord | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  // Hop records skip the union dispatch: they are nearly all of the traffic.
  if (line.startsWith('{"type":"hops"')) {
    const b = HopBatchLine.safeParse(raw);
    const hops = b.success && tables ? fromBatch(b.data, tables) : undefined;
    return hops ? { type: 'hops', hops } : undefined;
  }
  if (line.startsWith('{"type":"hop"')) {
    const h = HopLine.safeParse(raw);
    return h.success ? { type: 'hop', hop: toHop(h.data) } : undefined;
  }
  const r = Line.safeParse(raw);
  if (!r.success) return undefined;
  const l = r.data;
  switch (l.type) {
    case 'hop':
      return { type: 'hop', hop: toHop(l) };
    case 'ready':
      return {
        type: 'ready',
        pid: l.pid,
        attachMs: l.attach_ms,
        maxFilters: l.max_filters,
        netfilter: l.netfilter,
        hostNetns: l.host_netns,
        ...(l.hook_names &&
          l.dir_names &&
          l.nf_hook_names && {
            tables: {
              hooks: l.hook_names.map((h) => HookName.safeParse(h).data),
              dirs: l.dir_names.map((d) => z.enum(['egress', 'ingress', 'none']).safeParse(d).data),
              nfHooks: l.nf_hook_names.map((h) => NfHookName.safeParse(h).data),
              reasons: l.reason_names ?? [],
            },
          }),
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
      };
    case 'stats':
      return { type: 'stats', emitted: l.emitted, lost: l.lost };
  }
}
