// One follow: claim a filter slot for a unique flow (ICMP id or client port), link netfilter in the
// namespaces on the way, send the packet from inside the source namespace, and build the journey from
// the hops as they arrive until it is complete or times out. Everything it adds is released at the end.
import { msg } from '../protocol/i18n/msg';
import { randomInt } from 'node:crypto';
import { UserError } from '../sys/errors';
import { exec, inNetns, type NetnsTarget } from '../sys/exec';
import { FollowRequest as FollowRequestSchema, type Journey, type TraceProto } from '../protocol/tracer';
import { isIpv4, isIpv6, traceProtoNumber } from '../protocol/vocab';
import { findNamespace, namedNamespaces, netnsNames, resolveDestination, sourceAddressFor } from '../topology/index';
import { FlowJourney, journeyComplete, type FlowKey } from './journey';
import { getLoader, type KernelFilter, type ProbeLoader } from './loader';
import type { HopEvent } from './hop-event';
import { startRuleTrace, type RuleTrace, type TracedPacket } from './rules';
import { explain, readBase, type NsBase } from './explain/index';

export class FollowError extends UserError {}

const DEFAULT_PORT: Readonly<Record<'tcp' | 'udp', number>> = { tcp: 80, udp: 53 };
/** Hops can trail the generator's exit by a ring-buffer flush; wait this long before the final build. */
const GRACE_MS = 30;
const UPDATE_MS = 50;
/** A reply that arrived home is usually freed within this long: its `end` hop ends the follow sooner. */
const HOME_GRACE_MS = 20;

export interface FollowOptions {
  readonly loader?: ProbeLoader;
  /** Partial journeys while hops arrive (at most one per 50 ms). */
  readonly onUpdate?: (j: Journey) => void;
  /** Time the explainer may take to read why each hop went where it did (default explain/EXPLAIN_BUDGET_MS). */
  readonly explainBudgetMs?: number;
}

type ParsedFollow = ReturnType<typeof FollowRequestSchema.parse>;

/**
 * Follows one packet. With `rules`, a first packet finds the path and a second one is followed with
 * iptables TRACE in exactly the namespaces it crossed, so rules are added only where they matter.
 */
export async function follow(input: unknown, opts: FollowOptions = {}): Promise<Journey> {
  const parsed = FollowRequestSchema.safeParse(input);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new FollowError(i ? `${i.path.join('.') || 'request'}: ${i.message}` : 'invalid follow request');
  }
  const req = parsed.data;
  if (!req.rules) return followOnce(req, opts, { explain: true });
  const first = await followOnce(req, opts, { explain: false });
  const crossed = new Set([...first.hops, ...(first.reply?.hops ?? [])].map((h) => h.netnsInode));
  const known = await namedNamespaces();
  const targets = known.filter((n) => crossed.has(n.inode));
  return followOnce(req, opts, { explain: true, ruleTargets: targets });
}

/** What makes this follow's packets its own: its id, and an ICMP id or client port nobody else uses. */
function flowIdentity(req: ParsedFollow, clientAddr: string, v6: boolean) {
  const proto = req.proto;
  // The client names its follow (so it knows its partial journeys); the CLI leaves it to us.
  const id = req.id ?? `f${Date.now().toString(36)}${randomInt(1 << 20).toString(36)}`;
  // Unique per follow: the kernel filter matches only this flow, so concurrent follows never mix.
  const icmpId = randomInt(1, 0xffff);
  const clientPort = randomInt(20000, 60000);
  const port = proto === 'icmp' ? undefined : (req.port ?? DEFAULT_PORT[proto]);
  const flow: FlowKey = proto === 'icmp' ? { proto, clientAddr } : { proto, clientPort, clientAddr };
  const expr = req.expr?.trim() ? { expr: req.expr.trim() } : {};
  const filter: KernelFilter =
    proto === 'icmp'
      ? { ...expr, proto: v6 ? 58 : 1, icmpId }
      : { ...expr, proto: traceProtoNumber(proto), port: clientPort, sock: true };
  return { id, icmpId, clientPort, port, flow, filter };
}

async function followOnce(
  req: ParsedFollow,
  opts: FollowOptions,
  how: { explain: boolean; ruleTargets?: readonly { target: NetnsTarget; inode: number }[] },
): Promise<Journey> {
  const { ruleTargets } = how;
  const started = Date.now();
  const loader = opts.loader ?? getLoader();
  const { from, dest, clientAddr } = await resolveEnds(req);
  const { proto } = req;
  const v6 = isIpv6(dest.ip);
  const { id, icmpId, clientPort, port, flow, filter } = flowIdentity(req, clientAddr, v6);

  const names = netnsNames();
  const nfTargets = await netfilterTargets(from, dest.ns);
  await names.refresh();

  // Incremental: each hop is assembled as it comes; the whole journey is built only for an update.
  const journey = new FlowJourney(flow);
  let generatorDone: string | undefined;
  let timedOut = false;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((r) => (finish = r));
  let graceTimer: NodeJS.Timeout | undefined;

  const build = (pending: boolean): Journey =>
    journey.build(
      {
        id,
        from: from.name,
        to: req.to,
        ...(dest.ns && { targetNetns: dest.ns.inode }),
        pending,
        timedOut,
        ...(generatorDone !== undefined && { generator: generatorDone }),
        ...(cut.why !== undefined && { interrupted: cut.why }),
        durationMs: Date.now() - started,
      },
      names.nameOf,
    );

  const update = throttle(UPDATE_MS, () => opts.onUpdate?.(build(true)));
  let ending = false;
  const onHop = (h: HopEvent): void => {
    journey.push(h);
    if (opts.onUpdate) update.request();
    if (ending || !journey.complete(from.inode)) return;
    if (journey.ended(from.inode)) {
      // The reply's free is the packet's last event: every other one was written to the ring buffer
      // before it, and a sync barrier delivers them. No timer to wait out.
      ending = true;
      void loader.sync().then(finish, finish);
    } else graceTimer ??= setTimeout(finish, HOME_GRACE_MS);
  };

  // A loader still to attach (a cold CLI follow) leaves ~0.4 s of verifier time: read the links and
  // programs the explanation needs meanwhile, in every namespace netfilter is linked in (the ones a
  // hop can be in), instead of after the packet.
  const early =
    how.explain && loader.status.state !== 'ready'
      ? new Map<number, Promise<NsBase>>(nfTargets.map((n) => [n.inode, readBase(n.target)]))
      : undefined;
  const sub = await loader.subscribe(filter, onHop);
  const cut = watchCut(loader);
  let release: (() => Promise<void>) | undefined;
  let rules: RuleTrace | undefined;
  try {
    release = (await loader.attachNetfilter(nfTargets)).release;
    if (ruleTargets) rules = await startRuleTrace(ruleTargets, { proto, clientPort, icmpId, tag: id });

    const timeout = setTimeout(() => {
      timedOut = true;
      finish();
    }, req.timeoutMs);
    const waitS = Math.max(1, Math.ceil(req.timeoutMs / 1000));
    void generate(proto, from.target, dest.ip, { icmpId, clientPort, port, waitS }).then((g) => {
      generatorDone = g;
      // The packet's hops are all in the ring buffer by now: a sync barrier drains them.
      void loader.sync().then(() => (graceTimer ??= setTimeout(finish, GRACE_MS)));
    });
    await finished;
    clearTimeout(timeout);
    if (graceTimer) clearTimeout(graceTimer);
    update.cancel();
  } finally {
    cut.off();
    await sub.close();
    await release?.();
  }
  await names.resolveMissing(); // names learnt from the topology show in the final build
  let j = build(false);
  if (rules) j = attachRules(j, await rules.stop());
  // A timeout is only worth reporting if the journey did not otherwise end cleanly.
  if (timedOut && journeyComplete(j, from.inode)) j = { ...j, timedOut: false };
  // Why each hop went where it did, read now, while the state that decided it is still there.
  if (how.explain) j = await explain(j, { from: from.target, dst: dest.ip, budgetMs: opts.explainBudgetMs, early });
  return j;
}

type Ns = { target: NetnsTarget; inode: number };

/**
 * Whether the loader's trace is cut while a follow runs: a crash (or a stop) loses the hops until the
 * restarted loader has the filter again. `why` is the first such status, e.g. `probe loader crashed: …`.
 */
function watchCut(loader: ProbeLoader): { readonly why: string | undefined; off(): void } {
  const cut: { why: string | undefined; off(): void } = { why: undefined, off: () => undefined };
  cut.off = loader.onStatus((s) => {
    if (s.state === 'crashed' || s.state === 'stopped')
      cut.why ??= `probe loader ${s.state}${s.lastError ? `: ${s.lastError}` : ''}`;
  });
  return cut;
}

/** The source namespace, the destination and the client address the packet will carry. */
async function resolveEnds(req: ParsedFollow) {
  const from = await findNamespace(req.from);
  if (!from) throw new FollowError(msg('err.unknownNsSee', { ns: req.from }));
  const literal = isIpv4(req.to) ? 4 : isIpv6(req.to) ? 6 : undefined;
  if (req.family !== undefined && literal !== undefined && literal !== req.family)
    throw new FollowError(`--to ${req.to} is an IPv${literal} address, but IPv${req.family} was asked for`);
  const dest = await resolveDestination(req.to, req.family ?? 4);
  if ('error' in dest) throw new FollowError(dest.error);
  // iptables TRACE rules are IPv4's (rules.ts): an IPv6 follow would get no rule lines, so say so up front.
  if (req.rules && isIpv6(dest.ip))
    throw new FollowError('--rules follows IPv4 only (iptables TRACE); drop -6 or --rules');
  const clientAddr = await sourceAddressFor(from.target, dest.ip);
  if (!clientAddr) throw new FollowError(msg('err.noRouteFrom', { ns: req.from, ip: dest.ip }));
  return { from, dest, clientAddr };
}

/**
 * Netfilter links in the source, the destination, the host and every `ip netns` namespace: the path is
 * not known before the packet walks it. They are released when the follow ends.
 */
async function netfilterTargets(from: Ns, to: Ns | undefined): Promise<Ns[]> {
  const everyNs = await namedNamespaces();
  return [
    { target: from.target, inode: from.inode },
    ...(to ? [{ target: to.target, inode: to.inode }] : []),
    ...everyNs.filter((n) => n.inode !== from.inode && n.inode !== to?.inode),
  ];
}

/** Runs `fn` at most once per `ms` for any number of requests in between (the last state wins). */
function throttle(ms: number, fn: () => void): { request(): void; cancel(): void } {
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    request() {
      if (timer) return;
      timer = setTimeout(
        () => {
          timer = undefined;
          last = Date.now();
          fn();
        },
        Math.max(0, last + ms - Date.now()),
      );
    },
    cancel() {
      if (timer) clearTimeout(timer);
    },
  };
}

/** Rule lines go on the first hop in each namespace whose packet (same IP id) netfilter traced there. */
export function attachRules(j: Journey, byNetns: ReadonlyMap<number, readonly TracedPacket[]>): Journey {
  const put = (hops: Journey['hops']): Journey['hops'] => {
    const done = new Set<number>();
    return hops.map((h) => {
      if (done.has(h.netnsInode) || h.dir === 'end') return h;
      const pk = byNetns
        .get(h.netnsInode)
        ?.find((p) => p.ipId === h.ipId && (p.src === h.src || p.dst === h.dst || p.lines.length > 0));
      if (!pk || pk.lines.length === 0) return h;
      done.add(h.netnsInode);
      return { ...h, rules: pk.lines };
    });
  };
  return { ...j, hops: put(j.hops), ...(j.reply && { reply: { hops: put(j.reply.hops) } }) };
}

/** Sends the packet from inside the source namespace; resolves with a one-line outcome. */
async function generate(
  proto: TraceProto,
  target: Parameters<typeof inNetns>[0],
  dst: string,
  o: { icmpId: number; clientPort: number; port: number | undefined; waitS: number },
): Promise<string> {
  const v6 = isIpv6(dst);
  if (proto === 'icmp') {
    const r = await exec(
      inNetns(target, 'ping', [
        ...(v6 ? ['-6'] : []),
        '-n',
        '-q',
        '-c1',
        '-W',
        String(o.waitS),
        '-e',
        String(o.icmpId),
        dst,
      ]),
    );
    const m = /(\d+) received/.exec(r.stdout);
    return `ping: ${m?.[1] ?? 0} received`;
  }
  // socat's IPv6 addresses go in brackets: TCP6:[fd00:10:96::10]:80.
  const at = v6 ? `${proto.toUpperCase()}6:[${dst}]:${o.port}` : `${proto.toUpperCase()}4:${dst}:${o.port}`;
  const addr =
    proto === 'tcp'
      ? `${at},sourceport=${o.clientPort},reuseaddr,connect-timeout=${o.waitS}`
      : `${at},sourceport=${o.clientPort},reuseaddr`;
  const r = await exec(inNetns(target, 'socat', ['-u', 'STDIN', addr]), {
    input: proto === 'udp' ? 'packet-journey\n' : '',
    timeoutMs: (o.waitS + 1) * 1000,
  });
  if (r.code === 0) return proto === 'tcp' ? 'connect: ok' : 'udp: sent';
  // socat: `... E connect(5, AF=2 10.244.2.2:9, 16): Connection refused` -> the reason only.
  const why = r.stderr.trim().split('\n').pop()?.split(': ').pop() ?? `exit ${r.code}`;
  return `${proto === 'tcp' ? 'connect' : 'udp'}: ${why}`;
}
