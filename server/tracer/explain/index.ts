// The explainer's entry: reads the facts a finished follow journey needs, in every namespace it crossed,
// within a time budget, then fills `hop.reason`, `hop.programs` and `journey.diagnosis` (explain.ts).
// Never throws and never waits past the budget: a fact not read in time only makes a reason shorter.
import type { Hop, Journey } from '../../protocol/tracer';
import type { NetnsTarget } from '../../sys/exec';
import { findNamespace } from '../../topology/index';
import { BUILTIN_TARGETS, dropNeeds, MAX_JUMPS } from './drop';
import { bridgesNeeded, explainJourney, routeQueryFor, segmentOf } from './explain';
import {
  routeKey,
  type DevProg,
  type Facts,
  type FdbFact,
  type IptChain,
  type NsFacts,
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
}

const fresh = (): Collecting => ({ progs: [], fdb: [], routes: new Map(), sysctl: new Map(), iptables: new Map() });

/** Reads what the journey's hops in namespace `ns` need: links and programs first, then the rest. */
async function collectNs(
  ns: string,
  target: NetnsTarget,
  all: readonly Hop[][],
  c: Collecting,
  known: readonly DevProg[] | undefined,
): Promise<void> {
  const [l, tc] = await Promise.all([readLinks(target), known ? undefined : readTcProgs(target)]);
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
    ...[...chains].map((ch) => readChainTree(target, ch, c.iptables)),
  ];
  if (sysctl.size > 0) jobs.push(readSysctl(target, [...sysctl]).then((m) => m.forEach((v, k) => c.sysctl.set(k, v))));
  if (neigh) jobs.push(readNeigh(target).then((n) => void (c.neigh = n)));
  await Promise.all(jobs);
}

/** A hook chain and the user chains its counted rules jump to (in parallel, MAX_JUMPS deep). */
async function readChainTree(target: NetnsTarget, name: string, into: Map<string, IptChain>, depth = 0): Promise<void> {
  if (into.has(name) || depth > MAX_JUMPS) return;
  const chain = await readChain(target, name);
  if (!chain) return; // not a chain (a target such as LOG), or iptables failed
  into.set(name, chain);
  const jumps = new Set(chain.rules.filter((r) => r.pkts > 0 && !BUILTIN_TARGETS.has(r.target)).map((r) => r.target));
  await Promise.all([...jumps].map((j) => readChainTree(target, j, into, depth + 1)));
}

/** No hop seen: the source's route to the destination and its neighbours. */
async function collectSource(target: NetnsTarget, dst: string, c: Collecting): Promise<void> {
  await Promise.all([
    routeGet(target, { dst }).then((r) => void (r && c.routes.set(routeKey({ dst }), r))),
    readNeigh(target).then((n) => void (c.neigh = n)),
  ]);
}

const snapshot = (c: Collecting): NsFacts => ({
  ...(c.links && { links: [...c.links] }),
  progs: [...c.progs],
  fdb: [...c.fdb],
  routes: new Map(c.routes),
  ...(c.neigh && { neigh: [...c.neigh] }),
  sysctl: new Map(c.sysctl),
  iptables: new Map(c.iptables),
});

let warned = false;

/** Reads the facts (within the budget) and explains the journey; on any failure, returns it unchanged. */
export async function explain(j: Journey, opts: ExplainOptions = {}): Promise<Journey> {
  try {
    const rewriter = socketProgram(j);
    const facts = await gather(j, opts);
    const program = await rewriter;
    const named = program && j.socketRewrite ? { ...j, socketRewrite: { ...j.socketRewrite, program } } : j;
    return explainJourney(named, facts, opts.dst);
  } catch (e) {
    if (!warned) console.error(`explainer failed (logged once): ${String(e)}`);
    warned = true;
    return j;
  }
}

/** Which cgroup program rewrote the follow's connect(): the ones of its kind that apply to our sockets. */
async function socketProgram(j: Journey): Promise<string | undefined> {
  const r = j.socketRewrite;
  if (!r || r.program) return undefined;
  const progs = await readOwnCgroupProgs(r.call === 'connect' ? 'connect4' : 'sendmsg4');
  return progs?.length ? progs.map(cgroupProgText).join(', ') : undefined;
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
      await collectNs(ns, target, sides, c, opts.programsOf?.(ns));
    });
    if (j.hops.length === 0 && opts.from && opts.dst) {
      const c = fresh();
      collecting.set(j.from, c);
      jobs.push(collectSource(opts.from, opts.dst, c));
    }
    await Promise.all(jobs);
  })();
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<void>((r) => (timer = setTimeout(r, opts.budgetMs ?? EXPLAIN_BUDGET_MS)));
  // A reader that fails late must not surface as an unhandled rejection.
  work.catch(() => undefined);
  await Promise.race([work, budget]);
  clearTimeout(timer);
  return new Map([...collecting].map(([ns, c]) => [ns, snapshot(c)]));
}
