// Reads the explainer's facts from the kernel, inside a namespace, at follow time: `ip -j` (links,
// routes, neighbours), `bridge -j fdb`, `bpftool net`/`bpftool prog`, `sysctl` and `iptables`. Each
// reader returns undefined when its tool fails: a missing fact only leaves a reason shorter.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { exec, inNetns, type NetnsTarget } from '../../sys/exec';
import type { CgroupProg } from '../../protocol/topology';
import { parseCgroupEffective, parseNetShow, withTcx } from '../../topology/bpf-parse';
import { cgroup2Mount, TCX_PATH } from '../../topology/bpf-programs';
import type { DevProg, FdbFact, IptChain, IptRule, LinkFact, NeighFact, RouteFact, RouteQuery } from './facts';

async function run(target: NetnsTarget, cmd: string, args: readonly string[]): Promise<string | undefined> {
  const r = await exec(inNetns(target, cmd, args), { timeoutMs: 2000 });
  return r.code === 0 ? r.stdout : undefined;
}

function parseJson<T>(schema: z.ZodType<T>, text: string | undefined): T | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    const r = schema.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

const ProgRef = z.object({ id: z.number(), name: z.string().optional(), tag: z.string().optional() });
const IpLink = z.array(
  z.object({
    ifname: z.string(),
    master: z.string().optional(),
    address: z.string().optional(),
    linkinfo: z.object({ info_kind: z.string().optional() }).optional(),
    xdp: z.object({ mode: z.number().optional(), prog: ProgRef.optional() }).optional(),
  }),
);
const XDP_MODES: Readonly<Record<number, string>> = { 1: 'driver', 2: 'generic', 3: 'offload' };

/** Links with their bridge master and kind, and the XDP program of each (ip -d link shows it). */
export async function readLinks(target: NetnsTarget): Promise<{ links: LinkFact[]; xdp: DevProg[] } | undefined> {
  const raw = parseJson(IpLink, await run(target, 'ip', ['-j', '-d', 'link', 'show']));
  if (!raw) return undefined;
  const links = raw.map((l) => ({
    ifname: l.ifname,
    ...(l.linkinfo?.info_kind && { kind: l.linkinfo.info_kind }),
    ...(l.master && { master: l.master }),
    ...(l.address && { mac: l.address }),
  }));
  const xdp = raw.flatMap((l): DevProg[] => {
    const p = l.xdp?.prog;
    if (!p) return [];
    const mode = XDP_MODES[l.xdp?.mode ?? 0];
    return [{ ifname: l.ifname, id: p.id, name: p.name ?? '', tag: p.tag ?? '', hook: 'xdp', ...(mode && { mode }) }];
  });
  return { links, xdp };
}

const BpftoolProg = z.object({ id: z.number(), name: z.string().optional(), tag: z.string().optional() });

/**
 * tc and tcx programs on every device of the namespace (bpftool, and probes/build/tcx for the tcx ones
 * bpftool 7.1 does not list; then each program's name and tag).
 */
export async function readTcProgs(target: NetnsTarget): Promise<DevProg[] | undefined> {
  const [bpftool, tcx] = await Promise.all([
    run(target, 'bpftool', ['net', 'show', '-j']),
    run(target, TCX_PATH, ['show']),
  ]);
  const listed = bpftool === undefined ? undefined : parseNetShow(bpftool);
  if (!listed) return undefined;
  const entries = withTcx(listed, (tcx === undefined ? undefined : parseNetShow(tcx)) ?? []);
  return Promise.all(
    entries.map(async (e): Promise<DevProg> => {
      const p = parseJson(
        BpftoolProg,
        await run({ kind: 'host' }, 'bpftool', ['prog', 'show', 'id', String(e.id), '-j']),
      );
      const tcx = e.hook.startsWith('tcx-');
      return {
        ifname: e.ifname,
        id: e.id,
        name: p?.name ?? e.detail ?? '',
        tag: p?.tag ?? '',
        hook: e.hook,
        // clsact: tc's `obj.o:[section]`; a tcx entry's detail is the program's own name.
        ...(e.detail && !tcx && { mode: e.detail }),
      };
    }),
  );
}

const BridgeFdb = z.array(
  z.object({
    mac: z.string(),
    ifname: z.string(),
    master: z.string().optional(),
    flags: z.array(z.string()).optional(),
  }),
);

/** The bridge's learnt and static entries (the device's own `self` entries say nothing about forwarding). */
export async function readFdb(target: NetnsTarget, bridge: string): Promise<FdbFact[] | undefined> {
  const raw = parseJson(BridgeFdb, await run(target, 'bridge', ['-j', 'fdb', 'show', 'br', bridge]));
  return raw
    ?.filter((e) => !(e.flags ?? []).includes('self'))
    .map((e) => ({ mac: e.mac, ifname: e.ifname, ...(e.master && { master: e.master }) }));
}

const IpRoute = z.array(
  z.object({
    dst: z.string(),
    gateway: z.string().optional(),
    dev: z.string(),
    table: z.string().optional(),
    prefsrc: z.string().optional(),
  }),
);

/** The route the kernel picks for this packet (fibmatch: the matched prefix, not a /32), or its error. */
export async function routeGet(target: NetnsTarget, q: RouteQuery): Promise<RouteFact | undefined> {
  const args = ['-j', 'route', 'get', 'fibmatch', q.dst];
  if (q.src) args.push('from', q.src);
  if (q.iif) args.push('iif', q.iif);
  const r = await exec(inNetns(target, 'ip', args), { timeoutMs: 2000 });
  if (r.code !== 0) {
    // `RTNETLINK answers: Network is unreachable` -> `Network is unreachable`
    const why = r.stderr
      .trim()
      .split('\n')
      .pop()
      ?.replace(/^RTNETLINK answers:\s*/, '');
    return why ? { error: why } : undefined;
  }
  const route = parseJson(IpRoute, r.stdout)?.[0];
  if (!route) return undefined;
  return {
    dst: route.dst,
    dev: route.dev,
    ...(route.gateway && { gateway: route.gateway }),
    ...(route.table && { table: route.table }),
    ...(route.prefsrc && { prefsrc: route.prefsrc }),
  };
}

const IpNeigh = z.array(z.object({ dst: z.string(), dev: z.string(), state: z.array(z.string()).optional() }));

export async function readNeigh(target: NetnsTarget): Promise<NeighFact[] | undefined> {
  return parseJson(IpNeigh, await run(target, 'ip', ['-j', 'neigh', 'show']))?.map((n) => ({
    dst: n.dst,
    dev: n.dev,
    state: n.state ?? [],
  }));
}

/** `key = value` for each key that exists (sysctl prints the others' errors and exits non-zero). */
export async function readSysctl(target: NetnsTarget, keys: readonly string[]): Promise<Map<string, string>> {
  const r = await exec(inNetns(target, 'sysctl', keys), { timeoutMs: 2000 });
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+) = (.*)$/.exec(line);
    if (m) out.set(m[1] as string, m[2] as string);
  }
  return out;
}

/** A filter-table chain: `-S` for the rules' text, `-L -v -x --line-numbers` for their counters. */
export async function readChain(
  target: NetnsTarget,
  chain: string,
  tool: 'iptables' | 'ip6tables' = 'iptables',
): Promise<IptChain | undefined> {
  const [spec, list] = await Promise.all([
    run(target, tool, ['-t', 'filter', '-S', chain]),
    run(target, tool, ['-t', 'filter', '-L', chain, '-v', '-n', '-x', '--line-numbers']),
  ]);
  if (spec === undefined || list === undefined) return undefined;
  return parseChain(chain, spec, list);
}

/** Joins `iptables -S CHAIN` and `iptables -L CHAIN -v -n -x --line-numbers` (same order, one rule a line). */
export function parseChain(chain: string, spec: string, list: string): IptChain {
  const policy = new RegExp(`^-P ${chain} (\\S+)`, 'm').exec(spec)?.[1];
  const specs = spec
    .split('\n')
    .filter((l) => l.startsWith(`-A ${chain} `))
    .map((l) => l.slice(`-A ${chain} `.length));
  const counts = new Map<number, number>();
  for (const line of list.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+\d+/.exec(line);
    if (m) counts.set(Number(m[1]), Number(m[2]));
  }
  const rules = specs.map((s, i): IptRule => {
    const target = / -j (\S+)/.exec(` ${s}`)?.[1] ?? '';
    return { num: i + 1, spec: s, target, pkts: counts.get(i + 1) ?? 0 };
  });
  return { ...(policy && { policy }), rules };
}

/**
 * The cgroup programs that apply to this process's sockets, and so to a follow's generator, which runs in
 * our cgroup: `bpftool cgroup show … effective` on our cgroup v2 path.
 */
export async function readOwnCgroupProgs(): Promise<Omit<CgroupProg, 'cgroup'>[] | undefined> {
  const [root, self] = await Promise.all([cgroup2Mount(), readFile('/proc/self/cgroup', 'utf8').catch(() => '')]);
  const path = /^0::(\/.*)$/m.exec(self)?.[1];
  if (!root || path === undefined) return undefined;
  const r = await exec(['bpftool', '--json', 'cgroup', 'show', `${root}${path === '/' ? '' : path}`, 'effective'], {
    timeoutMs: 2000,
  });
  return r.code === 0 ? parseCgroupEffective(r.stdout) : undefined;
}
