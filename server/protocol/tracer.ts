// Wire contract for server/tracer/: the journey of a followed packet (hops in kernel order, request and
// reply), live-mode batches and the probe loader's status. Isomorphic: zod only, no node:* imports.
//
// Shape in one picture:
//   Journey { delivered, hops: Hop[] (request, kernel order), reply?: { hops: Hop[] } }
//   Hop     { netns, ifname, dir, src, dst, proto, sport?, dport?, nat?, verdict?, drop?, rules? ... }
// A hop is one sighting of the packet by the kernel: a device egress/ingress, or its end (`dir: 'end'`,
// with `drop` saying whether that end is a real drop). Netfilter crossings are folded into the hop
// where they happened (`netfilter`, `verdict`), and rule-level detail from iptables TRACE into `rules`.
import { z } from 'zod';
import { NetnsName, type AckFn } from './common';
import { Msg } from './i18n/msg';
import { NF_HOOK_NAMES } from './probe-names';
import { isIp, isIpv6 } from './vocab';

export const TraceProto = z.enum(['icmp', 'tcp', 'udp']);
export type TraceProto = z.infer<typeof TraceProto>;

export const HopDir = z.enum(['egress', 'ingress', 'end']);
export type HopDir = z.infer<typeof HopDir>;

export const NfHook = z.enum(NF_HOOK_NAMES);
export type NfHook = z.infer<typeof NfHook>;

/** One netfilter hook the packet crossed in this namespace, seen by BPF netfilter links. */
export const NfStep = z.object({
  hook: NfHook,
  /** `accept`: seen after the filter table; `drop`: seen before it but not after; `seen`: no filter stage at this hook. */
  verdict: z.enum(['accept', 'drop', 'seen']),
});
export type NfStep = z.infer<typeof NfStep>;

/** Address rewrite: `from`/`to` as `ip` or `ip:port`. */
export const Nat = z.object({
  kind: z.enum(['dnat', 'snat', 'both']),
  from: z.string(),
  to: z.string(),
  /** The netfilter hook after which the new addresses were first seen, when netfilter links saw it. */
  hook: NfHook.optional(),
});
export type Nat = z.infer<typeof Nat>;

/** How the packet's life ended at an `end` hop. */
export const Drop = z.object({
  /** Kernel `enum skb_drop_reason` name without prefix (NO_SOCKET, NETFILTER_DROP…), or CONSUMED. */
  reason: z.string(),
  /** Kernel function that freed the skb, e.g. `nf_hook_slow+0x9c`. */
  where: z.string(),
  /** false for ordinary ends of path: consumed, or an echo reply freed with NO_SOCKET after the raw socket got its copy. */
  isRealDrop: z.boolean(),
  /** The drop was netfilter's (NETFILTER_DROP, or a hook seen before the filter table but never after). */
  byNetfilter: z.boolean(),
  /**
   * The end of a copy, not of the packet: the packet went on in another skb (a promiscuous bridge
   * forwards a clone and frees the original as OTHERHOST). Never a real drop. Absent otherwise.
   */
  copy: z.literal(true).optional(),
  /** A drop no free reported, known from what came after (or did not): how it is known. */
  inferred: z.string().optional(),
});
export type Drop = z.infer<typeof Drop>;

export const IcmpFields = z.object({ type: z.number(), code: z.number(), id: z.number(), seq: z.number() });

/** A BPF program attached where the hop is (its device's tc/tcx hook in the hop's direction, or XDP), as
 * `bpftool net` / `tc filter show` name it, and what it did when that can be known (issue 12). */
export const HopProgram = z.object({
  id: z.number().int(),
  name: z.string(),
  tag: z.string(),
  /** tc-ingress, tc-egress, tcx-ingress, tcx-egress, xdp */
  hook: z.string(),
  /** e.g. `direct-action`, `generic`, `driver`; tc's `obj.o:[section]` when tc shows one. */
  mode: z.string().optional(),
  /**
   * `passed`: the packet went on through the stack; `redirected`: it next appeared on another device
   * without the stack's path between; `dropped`: the kernel freed it with a TC_/XDP_ drop reason here.
   * Absent when nothing tells.
   */
  verdict: z.enum(['passed', 'redirected', 'dropped']).optional(),
  /** For `redirected`: where it went next, and how (inferred from that next sighting). */
  redirect: z
    .object({ netns: z.string(), ifname: z.string(), how: z.enum(['peer', 'neigh', 'egress', 'ingress']) })
    .optional(),
});
export type HopProgram = z.infer<typeof HopProgram>;

/** An IPv4 option change between this hop and the one before (e.g. Cilium's DSR option 0x9a added). */
export const OptionChange = z.object({
  change: z.enum(['added', 'removed', 'changed']),
  /** Option type byte(s) as seen, e.g. [0x9a]. */
  types: z.array(z.number().int()),
  /** Cilium DSR option decoded: the service the reply must come from. */
  dsr: z.object({ addr: z.string(), port: z.number().int() }).optional(),
});
export type OptionChange = z.infer<typeof OptionChange>;

/** What an IPv6 hop carries beyond the IPv4 fields (absent on IPv4 hops). */
export const Ipv6Info = z.object({
  /** The 20-bit flow label. */
  flowLabel: z.number().int().min(0).max(0xfffff),
  /** Extension headers before the transport header, e.g. `destination-options`, `fragment`. */
  ext: z.array(z.string()),
  /** Cilium's IPv6 DSR option (0x1b) in a Destination Options header: the service the reply must come from. */
  dsr: z.object({ addr: z.string(), port: z.number().int() }).optional(),
});
export type Ipv6Info = z.infer<typeof Ipv6Info>;

export const Hop = z.object({
  /** Position in the journey (0-based, request and reply numbered separately). */
  seq: z.number().int(),
  /** ns since the journey's first event (CLOCK_MONOTONIC deltas). */
  tNs: z.number(),
  /** Namespace name from the topology, or `netns:<inode>` when it has none. */
  netns: z.string(),
  netnsInode: z.number().int(),
  ifname: z.string(),
  ifindex: z.number().int(),
  dir: HopDir,
  /** Kernel tracepoint that saw it: net_dev_queue, netif_receive_skb, netif_rx, napi_gro_receive_entry, kfree_skb, consume_skb. */
  hook: z.string(),
  /** skb address (hex): the same along a veth/bridge path. */
  skb: z.string(),
  srcMac: z.string(),
  dstMac: z.string(),
  src: z.string(),
  dst: z.string(),
  proto: z.string(),
  sport: z.number().int().optional(),
  dport: z.number().int().optional(),
  /** TTL, or an IPv6 hop's hop limit. */
  ttl: z.number().int(),
  /** IPv4's identification; IPv6 has none (0, or a fragment header's id). */
  ipId: z.number().int(),
  /** IPv6 hops only: src and dst are IPv6, proto is the next header after the extension headers. */
  ipv6: Ipv6Info.optional(),
  ipOptions: z.boolean(),
  /** With ipOptions: the first 8 bytes of the options as the probe read them, hex. */
  ipOptionBytes: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .optional(),
  totLen: z.number().int(),
  /** e.g. `SYN,ACK` */
  tcpFlags: z.string().optional(),
  icmp: IcmpFields.optional(),
  nat: Nat.optional(),
  netfilter: z.array(NfStep).optional(),
  /** Summary of `netfilter`: drop if any hook dropped, else accept when a filter table passed it. */
  verdict: z.enum(['accept', 'drop']).optional(),
  drop: Drop.optional(),
  /** Rule-level iptables TRACE lines for this namespace, e.g. `nat KUBE-SEP-X DNAT to 10.244.2.2:8080`. */
  rules: z.array(z.string()).optional(),
  /** BPF programs attached at this hop (issue 12). */
  programs: z.array(HopProgram).optional(),
  /**
   * Not seen by a tracepoint but known from what came after, e.g. the arrival on a pod's eth0 after a
   * `bpf_redirect_peer` (which skips `netif_receive_skb`). `via` says how it is known.
   */
  inferred: z.object({ via: z.enum(['peer-redirect']), from: z.string() }).optional(),
  /** IPv4 options gained or lost since the previous hop. */
  options: OptionChange.optional(),
  /** One line of why it went here: bridged by FDB, routed by a route, NATed by a rule, delivered, dropped. */
  reason: z.string().optional(),
  /** The same as a message, for the browser to say in its language; `reason` is its English rendering. */
  reasonMsg: Msg.optional(),
});
export type Hop = z.infer<typeof Hop>;

/** A socket-level rewrite before any packet existed (cgroup connect4/sendmsg4), the journey's first step. */
export const SocketRewrite = z.object({
  call: z.enum(['connect', 'sendmsg']),
  from: z.string(),
  to: z.string(),
  /** The cgroup program that did it, when it can be named, e.g. `cgroup/connect4 sock_lb_connect (id 812)`. */
  program: z.string().optional(),
});
export type SocketRewrite = z.infer<typeof SocketRewrite>;

export const Journey = z.object({
  id: z.string(),
  from: z.string(),
  to: z.string(),
  proto: TraceProto,
  /**
   * The request reached its destination without a real drop: a reply came back, it reached the target
   * namespace, or (no target) its last sighting was an arrival. Computed once, by the journey builder.
   */
  delivered: z.boolean(),
  /** Still waiting for hops (live updates); false in the final answer. */
  pending: z.boolean(),
  timedOut: z.boolean(),
  hops: z.array(Hop),
  reply: z.object({ hops: z.array(Hop) }).optional(),
  /** Namespaces in path order (request then reply), one lane each in the diagram; every hop's is here. */
  lanes: z.array(z.string()),
  /** The traffic generator's outcome, e.g. `ping: 1 received` or `connect: ECONNREFUSED`. */
  generator: z.string().optional(),
  /**
   * The kernel trace was cut while following, e.g. `probe loader crashed: killed by SIGKILL` (it is
   * restarted, but hops in between are lost). Then `delivered: false` means "not seen delivered", not a
   * drop: only a real drop hop says it was dropped. Absent when the trace ran whole.
   */
  interrupted: z.string().optional(),
  durationMs: z.number(),
  /** Where a journey that did not arrive stopped, what stopped it, and a fix hint: one paragraph. */
  diagnosis: z.string().optional(),
  /** The diagnosis as a message; `diagnosis` is its English rendering. */
  diagnosisMsg: Msg.optional(),
  /** connect()/sendmsg() rewritten by a cgroup program before the first packet. */
  socketRewrite: SocketRewrite.optional(),
  /**
   * TCP/UDP follows: the cgroup sock_addr programs (connect4, sendmsg4, …) that apply to the follow's
   * socket, e.g. `cgroup/connect4 sock_lb_connect (id 812)`; absent when none does.
   */
  socketPrograms: z.array(z.string()).optional(),
  /**
   * Live only: the kernel clock (CLOCK_MONOTONIC ns) of the packet's last event, when it could first be
   * sent. A client on the same machine (the soak bench) reads from it how far behind the kernel it is.
   */
  endNs: z.number().optional(),
});
export type Journey = z.infer<typeof Journey>;

/**
 * A trace id the client chooses (a follow's or a live trace's), so it can tell its own events from the
 * first one on, before any ack. Unique among the socket's running traces; the server checks that.
 */
const TRACE_ID_RULE = 'not a valid trace id (1 to 32 letters, digits, _ or -)';
export const TraceId = z
  .string()
  .min(1, TRACE_ID_RULE)
  .max(32, TRACE_ID_RULE)
  .regex(/^[A-Za-z0-9_-]+$/, TRACE_ID_RULE);

/** What the browser (or CLI) asks to follow. `to` is an IP, a namespace or a pod name. */
/** The longest pcap-filter expression a follow or live view takes. */
export const FILTER_EXPR_MAX = 2000;
/** A pcap-filter expression (tcpdump's syntax), compiled by the server with libpcap. */
export const FilterExpr = z
  .string()
  .max(FILTER_EXPR_MAX, `a filter expression is at most ${FILTER_EXPR_MAX} characters`)
  .regex(/^[^\0\n\r]*$/, 'a filter expression is one line');

export const FollowRequest = z.object({
  /** The journey's id (partial and final); the server makes one up when absent (the CLI). */
  id: TraceId.optional(),
  from: NetnsName,
  to: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_.:-]+$/, 'not an IP or namespace name')
    .refine((s) => !s.includes(':') || isIpv6(s), 'not an IPv6 address'),
  /** The address family to send with when `to` names a namespace (6: its IPv6 address); an address says its own. */
  family: z.union([z.literal(4), z.literal(6)]).optional(),
  proto: TraceProto.default('icmp'),
  port: z.number().int().min(1).max(65535).optional(),
  timeoutMs: z.number().int().min(200).max(30_000).default(3000),
  /** Run iptables TRACE in the namespaces on the way for rule-level detail (slower: adds rules, then removes them). */
  rules: z.boolean().default(false),
  /** Only where the packet also matches this pcap-filter expression does its trace start. */
  expr: FilterExpr.optional(),
});
export type FollowRequest = z.input<typeof FollowRequest>;

/** A continuous kernel-side filter; every field optional means all IPv4 and IPv6 traffic. */
export const LiveFilter = z.object({
  /** A pcap-filter expression, ANDed with the fields below (which are its shortcuts). */
  expr: FilterExpr.optional(),
  proto: TraceProto.optional(),
  addr: z.string().max(45).refine(isIp, 'not an IPv4 or IPv6 address').optional(),
  port: z.number().int().min(1).max(65535).optional(),
  /** Only namespaces with these names (empty or absent: all). */
  netns: z.array(NetnsName).max(64).optional(),
});
export type LiveFilter = z.infer<typeof LiveFilter>;

/** `tracer:live:start`: the filter, and the view's id, which stops it (made up by the server when absent). */
export const LiveStartRequest = LiveFilter.extend({ liveId: TraceId.optional() });
export const LiveStopRequest = z.object({ liveId: TraceId });

/**
 * The start's answer. Viewers of one filter share one trace: its batches carry the trace's key, not the
 * view's id, so each batch is encoded once for all of them. Batches of the trace come after this answer.
 */
export const LiveStarted = z.object({
  liveId: z.string(),
  trace: z.string(),
  /** The position (LiveBatch.from) of the first journey this view will get: a shared trace may be running. */
  from: z.number().int().min(0),
});
export type LiveStarted = z.infer<typeof LiveStarted>;

/** `tracer:live:resume`: after a reconnect, the view's id and the position of the last journey the page applied (-1: none). */
export const LiveResumeRequest = z.object({ liveId: TraceId, after: z.number().int().min(-1) });

/**
 * The resume's answer: the journeys sent after `after` that the server still holds (positions from
 * `from`), and how many it no longer holds (`missed`, between `after` and `from`). Later batches follow it.
 */
export const LiveResumed = z.union([
  z.object({
    liveId: z.string(),
    trace: z.string(),
    from: z.number().int().min(0),
    journeys: z.array(Journey),
    missed: z.number().int().min(0),
  }),
  /** The server no longer has the view (past the grace, or restarted): the page starts it again. */
  z.object({ liveId: z.string(), gone: z.literal(true) }),
]);
export type LiveResumed = z.infer<typeof LiveResumed>;

/** `tracer:status:watch` takes nothing today; an object keeps room for options. */
export const TracerStatusWatchReq = z.object({}).strict().optional();

export const LiveBatch = z.object({
  /** The shared trace's key (LiveStarted.trace); journey ids are `${trace}-${seq}`. */
  trace: z.string(),
  /**
   * The position of `journeys[0]` in everything this trace has sent (0, 1, 2, … with no gaps; journeys
   * dropped before sending take no position): a page that has applied up to p expects `from === p + 1`,
   * and after a reconnect resumes from p.
   */
  from: z.number().int().min(0),
  journeys: z.array(Journey),
  /** Journeys not sent: the browser could not keep up, or the server was more than 1 s behind the kernel. */
  dropped: z.number().int(),
  /** Kernel ring-buffer events lost so far (from the loader). */
  lost: z.number().int(),
});
export type LiveBatch = z.infer<typeof LiveBatch>;

/** The shared probe loader's health, for the UI's banner. */
export const LoaderStatus = z.object({
  state: z.enum(['stopped', 'starting', 'ready', 'crashed']),
  pid: z.number().int().optional(),
  restarts: z.number().int(),
  /** Why it last stopped (exit code, stderr's last line). */
  lastError: z.string().optional(),
  attachMs: z.number().optional(),
  netfilter: z.boolean().optional(),
  emitted: z.number().int(),
  lost: z.number().int(),
  /** NDJSON lines the server could not parse. */
  badLines: z.number().int(),
});
export type LoaderStatus = z.infer<typeof LoaderStatus>;

/** The loader status is a watch (see events.ts): `tracer:status:update` carries state changes (crash
 * banner) and, while ready, counters about once a second. */
export interface TracerServerEvents {
  /** Partial journeys of a follow, batched (at most one emit per 50 ms), each with the follow's id. */
  'tracer:journeys': (journeys: Journey[]) => void;
  /** Live-mode journeys, batched: one emit per batch to every viewer of the trace. */
  'tracer:live': (batch: LiveBatch) => void;
}

export interface TracerClientEvents {
  /** Sends the traffic and follows it; partial journeys arrive as `tracer:journeys`, the final one in the ack. */
  'tracer:follow': (req: unknown, ack: AckFn<Journey>) => void;
  'tracer:live:start': (req: unknown, ack: AckFn<LiveStarted>) => void;
  'tracer:live:stop': (req: unknown, ack: AckFn<null>) => void;
  /** After a reconnect: the journeys missed (or how many), then the batches again. */
  'tracer:live:resume': (req: unknown, ack: AckFn<LiveResumed>) => void;
}
