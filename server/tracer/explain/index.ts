// The explainer's entry: reads the facts a finished follow journey needs, in every namespace it crossed,
// within a time budget, then fills `hop.reason`, `hop.programs` and `journey.diagnosis` (explain.ts).
// Never throws and never waits past the budget: a fact not read in time only makes a reason shorter.
import type { Hop, Journey } from '../../protocol/tracer';
import type { NetnsTarget } from '../../sys/exec';
import { findNamespace, getDiscovery } from '../../topology/index';
import { BUILTIN_TARGETS, dropNeeds, MAX_JUMPS } from './drop';
import { bridgesNeeded, explainJourney, routeQueryFor, segmentOf } from './explain';
import {
  routeKey,
  type DevProg,
  type Facts,
  type FdbFact,
  type IptChain,
  type NsFacts,
  type PeerFact,
  type RouteFact,
  type RouteQuery,
} from './facts';
import {
  readChain,
  readFdb,
  readLinks,
  readNeigh,
  readOwnCgroupProgs,
  readSysctl,
  readTcProgs,
  routeGet,
} from './read';
import { cgroupProgText } from './words';

export { explainJourney } from './explain';
export { progsFromIfaces, type DevProg, type Facts, type NsFacts } from './facts';

export const EXPLAIN_BUDGET_MS = 100;
/** How old a discovery may be to tell a veth's other end (pairs change rarely; a follow just looked). */
const PEERS_MAX_AGE_MS = 60_000;

export interface ExplainOptions {
  /** The follow's source namespace: read when no hop was seen (its route and neighbour say why). */
  readonly from?: NetnsTarget;
  /** The destination address (the journey's `to` may be a name). */
  readonly dst?: string;
  readonly budgetMs?: number;
  /** Where a hop's namespace is, by its name (default: the topology's look-up, checked against the inode). */
  readonly targetOf?: (name: string, inode: number) => Promise<NetnsTarget | undefined>;
  /**
   * The programs on a namespace's devices when something already knows them (the topology's
   * `Iface.programs`, through `progsFromIfaces`); undefined: read them with bpftool and ip.
   */
  readonly programsOf?: (name: string) => readonly DevProg[] | undefined;
  /**
   * A namespace's links and programs already being read (`readBase`), by its inode: a cold follow starts
   * them while its loader attaches, so only the hop-dependent facts (routes, FDB) are read after.
   */
  readonly early?: ReadonlyMap<number, Promise<NsBase>>;
}

/** The facts every hop of a namespace needs: its links (with XDP programs) and its tc/tcx programs. */
export type NsBase = readonly [Awaited<ReturnType<typeof readLinks>>, Awaited<ReturnType<typeof readTcProgs>>];

/** Starts reading a namespace's links and programs (never rejects: a failed read is a missing fact). */
export function readBase(target: NetnsTarget): Promise<NsBase> {
  return Promise.all([readLinks(target), readTcProgs(target)]).catch(() => [undefined, undefined] as const);
}

async function defaultTargetOf(name: string, inode: number): Promise<NetnsTarget | undefined> {
  const ns = await findNamespace(name);
  return ns && ns.inode === inode ? ns.target : undefined;
}

/** Filled in as readers answer; snapshotted when the budget runs out. */
interface Collecting {
  links?: NsFacts['links'];
  progs: DevProg[];
  fdb: FdbFact[];
  routes: Map<string, RouteFact>;
  neigh?: NsFacts['neigh'];
  sysctl: Map<string, string>;
  iptables: Map<string, IptChain>;
  peers?: PeerFact[];
}

const fresh = (): Collecting => ({ progs: [], fdb: [], routes: new Map(), sysctl: new Map(), iptables: new Map() });

/** Reads what the journey's hops in namespace `ns` need: links and programs first, then the rest. */
async function collectNs(
  ns: string,
  target: NetnsTarget,
  all: readonly Hop[][],
  c: Collecting,
  known: readonly DevProg[] | undefined,
  early: Promise<NsBase> | undefined,
): Promise<void> {
  const [l, tc] = await (early ?? Promise.all([readLinks(target), known ? undefined : readTcProgs(target)] as const));
  if (l) c.links = l.links;
  c.progs.push(...(known ?? [...(l?.xdp ?? []), ...(tc ?? [])]));
  const f: NsFacts = { ...(c.links && { links: c.links }) };
  const routes = new Map<string, RouteQuery>();
  const sysctl = new Set<string>();
  const chains = new Set<string>();
  let neigh = false;
  for (const hops of all)
    hops.forEach((h, i) => {
      if (h.netns !== ns) return;
      const q = routeQueryFor(hops, i, f);
      if (q) routes.set(routeKey(q), q);
      if (!h.drop?.isRealDrop) return;
      const need = dropNeeds(h, segmentOf(hops, i));
      for (const r of need.routes) routes.set(routeKey(r), r);
      need.sysctl.forEach((k) => sysctl.add(k));
      need.chains.forEach((k) => chains.add(k));
      neigh ||= need.neigh;
    });
  const jobs: Promise<void>[] = [
    ...bridgesNeeded(all.flat(), ns, f).map((br) => readFdb(target, br).then((e) => void c.fdb.push(...(e ?? [])))),
    ...[...routes].map(([k, q]) => routeGet(target, q).then((r) => void (r && c.routes.set(k, r)))),
    ...[...chains].map((ch) =>
      readChainTree(target, ch, c.iptables, all.flat().some((h) => h.ipv6) ? 'ip6tables' : 'iptables'),
    ),
  ];
  if (sysctl.size > 0) jobs.push(readSysctl(target, [...sysctl]).then((m) => m.forEach((v, k) => c.sysctl.set(k, v))));
  if (neigh) jobs.push(readNeigh(target).then((n) => void (c.neigh = n)));
  await Promise.all(jobs);
}

/** A hook chain and the user chains its counted rules jump to (in parallel, MAX_JUMPS deep). */
async function readChainTree(
  target: NetnsTarget,
  name: string,
  into: Map<string, IptChain>,
  tool: 'iptables' | 'ip6tables',
  depth = 0,
): Promise<void> {
  if (into.has(name) || depth > MAX_JUMPS) return;
  const chain = await readChain(target, name, tool);
  if (!chain) return; // not a chain (a target such as LOG), or iptables failed
  into.set(name, chain);
  const jumps = new Set(chain.rules.filter((r) => r.pkts > 0 && !BUILTIN_TARGETS.has(r.target)).map((r) => r.target));
  await Promise.all([...jumps].map((j) => readChainTree(target, j, into, tool, depth + 1)));
}

/** No hop seen: the source's route to the destination, its neighbours, and what sits on its veths' peers. */
async function collectSource(target: NetnsTarget, from: string, dst: string, c: Collecting): Promise<void> {
  await Promise.all([
    routeGet(target, { dst }).then((r) => void (r && c.routes.set(routeKey({ dst }), r))),
    readNeigh(target).then((n) => void (c.neigh = n)),
    readPeers(from).then((p) => void (c.peers = p)),
  ]);
}

/**
 * The programs on the other end of each of the source's veths, read now in the peer's namespace: one
 * that drops ARP there (drop-all does) keeps the packet from ever leaving. Which end is which comes from
 * the topology as last discovered (a veth pair outlives many polls).
 */
async function readPeers(from: string): Promise<PeerFact[]> {
  const d = await getDiscovery(PEERS_MAX_AGE_MS);
  const ns = d.topology.namespaces.find((n) => n.name === from);
  const peers = (ns?.interfaces ?? []).flatMap((i) => (i.peer ? [{ dev: i.name, ...i.peer }] : []));
  return Promise.all(
    peers.map(async (p) => {
      const at = await findNamespace(p.netns);
      if (!at) return { ...p, progs: [] };
      const [l, tc] = await Promise.all([readLinks(at.target), readTcProgs(at.target)]);
      const progs = [...(l?.xdp ?? []), ...(tc ?? [])].filter((x) => x.ifname === p.ifname);
      return { ...p, progs };
    }),
  );
}

const snapshot = (c: Collecting): NsFacts => ({
  ...(c.links && { links: [...c.links] }),
  progs: [...c.progs],
  fdb: [...c.fdb],
  routes: new Map(c.routes),
  ...(c.neigh && { neigh: [...c.neigh] }),
  sysctl: new Map(c.sysctl),
  iptables: new Map(c.iptables),
  ...(c.peers && { peers: [...c.peers] }),
});

let warned = false;

/** Reads the facts (within the budget) and explains the journey; on any failure, returns it unchanged. */
export async function explain(j: Journey, opts: ExplainOptions = {}): Promise<Journey> {
  try {
    const sock = j.proto === 'icmp' ? undefined : withTimeout(readOwnCgroupProgs(), opts.budgetMs ?? EXPLAIN_BUDGET_MS);
    const facts = await gather(j, opts);
    return explainJourney(withSocketPrograms(j, await sock), facts, opts.dst);
  } catch (e) {
    if (!warned) console.error(`explainer failed (logged once): ${String(e)}`);
    warned = true;
    return j;
  }
}

/** sock_addr hooks: the ones that can change or see a socket's addresses. */
const SOCK_ADDR = /^(bind|connect|sendmsg|recvmsg|getpeername|getsockname)[46]$/;

/**
 * The cgroup sock_addr programs on the follow's socket, and the one(s) of the rewrite's kind named as
 * having done it (connect4 for a connect()).
 */
function withSocketPrograms(j: Journey, progs: Awaited<ReturnType<typeof readOwnCgroupProgs>>): Journey {
  const on = (progs ?? []).filter((p) => SOCK_ADDR.test(p.attachType));
  if (!on.length) return j;
  const r = j.socketRewrite;
  const kind = r?.call === 'connect' ? 'connect4' : 'sendmsg4';
  const did = on.filter((p) => p.attachType === kind).map(cgroupProgText);
  return {
    ...j,
    socketPrograms: on.map(cgroupProgText),
    ...(r && !r.program && did.length && { socketRewrite: { ...r, program: did.join(', ') } }),
  };
}

/** `p`'s value, or undefined once `ms` have passed; an early failure still throws. */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  p.catch(() => undefined); // a reader that fails after the deadline must not surface as unhandled
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function gather(j: Journey, opts: ExplainOptions = {}): Promise<Facts> {
  const targetOf = opts.targetOf ?? defaultTargetOf;
  const sides = [j.hops, ...(j.reply ? [j.reply.hops] : [])];
  const byNs = new Map<string, number>();
  for (const h of sides.flat()) byNs.set(h.netns, h.netnsInode);
  const collecting = new Map<string, Collecting>();
  const work = (async () => {
    const jobs = [...byNs].map(async ([ns, inode]) => {
      const target = await targetOf(ns, inode);
      if (!target) return;
      const c = fresh();
      collecting.set(ns, c);
      const known = opts.programsOf?.(ns);
      await collectNs(ns, target, sides, c, known, known ? undefined : opts.early?.get(inode));
    });
    if (j.hops.length === 0 && opts.from && opts.dst) {
      const c = fresh();
      collecting.set(j.from, c);
      jobs.push(collectSource(opts.from, j.from, opts.dst, c));
    }
    await Promise.all(jobs);
  })();
  await withTimeout(work, opts.budgetMs ?? EXPLAIN_BUDGET_MS);
  return new Map([...collecting].map(([ns, c]) => [ns, snapshot(c)]));
}
