// The BPF programs on the topology. XDP comes for free with the `ip -d` batch (iproute.ts). tc clsact
// attachments are read with one `bpftool --json net show` per namespace, pref and direct-action from one
// `tc -j -b -` where a namespace has tc programs, names and tags from one machine-wide `bpftool --json prog
// show`, and cgroup programs from `bpftool --json cgroup tree` on the cgroup v2 root. tcx programs, which
// bpftool 7.1 does not list, come from probes/build/tcx in one process for all the namespaces read.
// That machine-wide list is also the change signal: while no new tc-capable id appears, the per-namespace reads
// of namespaces without programs are reused (a tc filter attach changes no link, but it loads a program
// with a new id); namespaces with programs are re-read every time (few, and a detach must show at once).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { AttachedProg, CgroupProg, Topology } from '../protocol/topology';
import { exec, inNetns } from '../sys/exec';
import type { NsEntry } from './enumerate';
import { nsPath, xargsInNetns } from './xargs';
import {
  cgroup2RootOf,
  isCgroupProg,
  isTcProg,
  parseCgroupTree,
  parseNetShow,
  parseProgShow,
  parseTcFilters,
  withTcx,
  type NetAttachment,
  type ProgInfo,
  type TcFilterInfo,
} from './bpf-parse';

/** `tcx show [NETNS_PATH…]` (probes/tcx.c): tcx attachments in bpftool's `net show` shape, a line each. */
export const TCX_PATH = fileURLToPath(new URL('../../probes/build/tcx', import.meta.url));

/** tcx attachments per entry name, from one tcx process entering each namespace in turn. */
async function tcxAttachments(entries: readonly NsEntry[]): Promise<Map<string, NetAttachment[]>> {
  const out = new Map<string, NetAttachment[]>();
  if (!entries.length) return out;
  const r = await exec([TCX_PATH, 'show', ...entries.map((e) => nsPath(e) ?? '-')], { timeoutMs: 5000 });
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  // No tool (an unbuilt checkout) or a short answer: nothing known about tcx, which only hides tcx.
  if (r.code !== 0 || lines.length !== entries.length) return out;
  entries.forEach((e, i) => {
    const a = parseNetShow(lines[i] ?? '');
    if (a?.length) out.set(e.name, a);
  });
  return out;
}

/** ifname -> its programs, for one namespace. */
export type DevicePrograms = ReadonlyMap<string, readonly AttachedProg[]>;

export interface ProgramsRead {
  /** Entry name -> its devices' programs (namespaces without any are absent). */
  readonly byNs: ReadonlyMap<string, DevicePrograms>;
  readonly cgroup: readonly CgroupProg[];
  readonly warnings: readonly string[];
  /** Namespaces read this time (the others were reused: the change signal did not move). */
  readonly readNamespaces: number;
}

export interface ProgramReader {
  read(entries: readonly NsEntry[]): Promise<ProgramsRead>;
}

/**
 * A pinned program attached again (`bpftool net attach pinned …`) changes no id. So each read also
 * re-reads one slice of the program-less namespaces (by inode): at least this many slices, and at most
 * SLICE_SIZE namespaces in one, so a poll costs a few namespaces' reads and never a spike; every
 * namespace is looked at again within max(20, n/4) polls (10 s for a small lab, ~25 s for 200).
 */
export const PROGRAMS_SLICES = 20;
const SLICE_SIZE = 4;

/** `bpftool net show` in many namespaces through xargs (see xargs.ts): one JSON line each. */
function netShowXargs(entries: readonly NsEntry[], streams: number): Promise<Map<string, string> | undefined> {
  return xargsInNetns(entries, ['bpftool', '--json', 'net', 'show'], { streams, linesEach: 1 });
}

/** Raw attachments per entry name; a namespace that cannot be read (it vanished) is left out. */
async function readAttachments(entries: readonly NsEntry[]): Promise<Map<string, NetAttachment[]>> {
  const viaX = entries.filter((e) => nsPath(e) !== undefined);
  // Two chains use both cores; for a handful of namespaces one chain is cheaper than two spawns.
  const [batched, tcx] = await Promise.all([
    viaX.length ? netShowXargs(viaX, viaX.length > 16 ? 2 : 1) : new Map<string, string>(),
    tcxAttachments(entries),
  ]);
  const out = new Map<string, NetAttachment[]>();
  await Promise.all(
    entries.map(async (e) => {
      let text = batched?.get(e.name);
      if (text === undefined) {
        const r = await exec(inNetns(e.target, 'bpftool', ['--json', 'net', 'show']), { timeoutMs: 5000 });
        if (r.code !== 0) return;
        text = r.stdout;
      }
      // XDP is already in the ip batch, fresher than anything cached here.
      const tc = withTcx(parseNetShow(text) ?? [], tcx.get(e.name) ?? []);
      if (tc?.length) out.set(e.name, tc);
    }),
  );
  return out;
}

/** pref and direct-action of each tc program in one namespace: one `tc -b` for all its hooks. */
async function tcDetails(e: NsEntry, atts: readonly NetAttachment[]): Promise<Map<string, TcFilterInfo>> {
  const hooks = [
    ...new Set(
      atts.filter((a) => a.hook === 'tc-ingress' || a.hook === 'tc-egress').map((a) => `${a.ifname} ${a.hook}`),
    ),
  ];
  const out = new Map<string, TcFilterInfo>();
  if (!hooks.length) return out;
  // One line per hook, in order; a device name is kernel-validated (no spaces), so it is safe in a batch.
  const lines = hooks.map((h) => {
    const [dev, hook] = h.split(' ');
    return `filter show dev ${dev ?? ''} ${hook === 'tc-ingress' ? 'ingress' : 'egress'}`;
  });
  const r = await exec(inNetns(e.target, 'tc', ['-j', '-b', '-']), { input: lines.join('\n') + '\n', timeoutMs: 5000 });
  if (r.code !== 0) return out;
  parseTcFilters(r.stdout).forEach((filters, i) => {
    for (const f of filters) out.set(`${hooks[i] ?? ''} ${f.id}`, f);
  });
  return out;
}

/** Joins an attachment with the machine-wide program list and tc's filter details. */
function toAttached(a: NetAttachment, info: ProgInfo | undefined, tc: TcFilterInfo | undefined): AttachedProg {
  const isTc = a.hook === 'tc-ingress' || a.hook === 'tc-egress';
  const obj = tc?.bpfName ?? a.detail;
  const mode = isTc ? [tc?.directAction ? 'direct-action' : undefined, obj].filter(Boolean).join(' ') : a.detail;
  return {
    id: a.id,
    name: info?.name ?? '',
    tag: info?.tag ?? '',
    hook: a.hook,
    ...(mode ? { mode } : {}),
    ...(tc?.pref !== undefined ? { pref: tc.pref } : {}),
  };
}

const HOOK_ORDER: readonly AttachedProg['hook'][] = ['xdp', 'tcx-ingress', 'tc-ingress', 'tcx-egress', 'tc-egress'];

async function programsOfNs(
  e: NsEntry,
  atts: readonly NetAttachment[],
  progs: ReadonlyMap<number, ProgInfo>,
): Promise<DevicePrograms> {
  const tc = await tcDetails(e, atts);
  const out = new Map<string, AttachedProg[]>();
  for (const a of atts) {
    const list = out.get(a.ifname) ?? [];
    list.push(toAttached(a, progs.get(a.id), tc.get(`${a.ifname} ${a.hook} ${a.id}`)));
    out.set(a.ifname, list);
  }
  for (const list of out.values())
    list.sort((x, y) => HOOK_ORDER.indexOf(x.hook) - HOOK_ORDER.indexOf(y.hook) || (x.pref ?? 0) - (y.pref ?? 0));
  return out;
}

/** The cgroup v2 mount point (not always /sys/fs/cgroup: here it is /sys/fs/cgroup/unified), if any. */
export async function cgroup2Mount(): Promise<string | undefined> {
  return cgroup2RootOf(await readFile('/proc/self/mounts', 'utf8').catch(() => ''));
}

async function readCgroupPrograms(): Promise<CgroupProg[] | string> {
  const root = await cgroup2Mount();
  if (!root) return [];
  const r = await exec(['bpftool', '--json', 'cgroup', 'tree', root], { timeoutMs: 5000 });
  const parsed = r.code === 0 ? parseCgroupTree(r.stdout, root) : undefined;
  return parsed ?? `bpftool cgroup tree ${root} failed: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`}`;
}

/** `slices: 1` re-reads every namespace on every read (the bench's "signal moved" worst case). */
export function createProgramReader(opts: { slices?: number } = {}): ProgramReader {
  const fixed = opts.slices;
  let known = new Set<number>();
  let turn = 0;
  // By netns inode: a namespace that appeared since is read on its own, the rest are reused.
  let perInode = new Map<number, DevicePrograms>();
  let cgroup: readonly CgroupProg[] = [];

  return {
    async read(entries) {
      const warnings: string[] = [];
      const r = await exec(['bpftool', '--json', 'prog', 'show'], { timeoutMs: 5000 }).catch(() => undefined);
      const progs = r?.code === 0 ? parseProgShow(r.stdout) : undefined;
      if (!progs) {
        warnings.push('bpftool prog show failed: BPF programs on interfaces are not shown');
        return { byNs: new Map(), cgroup: [], warnings, readNamespaces: 0 };
      }
      const all = [...progs.values()];
      const tcIds = all.filter(isTcProg).map((p) => p.id);
      const anyDevice = tcIds.length > 0;
      // Only a new tc-capable id can be attached somewhere unknown; a removed one was in a namespace
      // re-read anyway (XDP and cgroup programs are read in full every time, so they need no signal).
      if (!anyDevice || tcIds.some((id) => !known.has(id))) perInode = new Map();
      known = new Set(tcIds);
      const slices = Math.max(1, fixed ?? Math.max(PROGRAMS_SLICES, Math.ceil(entries.length / SLICE_SIZE)));
      const slice = turn++ % slices;
      // Namespaces that had programs are always re-read: a detach frees its program only after an RCU
      // grace period (~20 ms here), so the id set may not have moved yet on the next poll.
      const due = (e: NsEntry): boolean => (perInode.get(e.inode)?.size ?? 1) > 0 || e.inode % slices === slice;
      const todo = anyDevice ? entries.filter(due) : [];
      const [atts, cg] = await Promise.all([
        readAttachments(todo),
        // The cgroup tree is one call: read whenever the machine has cgroup programs at all.
        all.some(isCgroupProg) ? readCgroupPrograms() : [],
      ]);
      await Promise.all(
        todo.map(async (e) => {
          const a = atts.get(e.name);
          perInode.set(e.inode, a ? await programsOfNs(e, a, progs) : new Map());
        }),
      );
      if (typeof cg === 'string') warnings.push(cg);
      else cgroup = cg;
      const byNs = new Map<string, DevicePrograms>();
      for (const e of entries) {
        const p = perInode.get(e.inode);
        if (p?.size) byNs.set(e.name, p);
      }
      return { byNs, cgroup, warnings, readNamespaces: todo.length };
    },
  };
}

/** Copies the programs into the topology's interfaces (namespace name = entry name). */
export function withPrograms(t: Topology, read: ProgramsRead): Topology {
  return {
    ...t,
    namespaces: t.namespaces.map((n) => {
      const dev = read.byNs.get(n.name);
      if (!dev) return n;
      return {
        ...n,
        interfaces: n.interfaces.map((f) => {
          const p = dev.get(f.name);
          return p?.length ? { ...f, programs: [...(f.programs ?? []), ...p] } : f;
        }),
      };
    }),
    warnings: [...t.warnings, ...read.warnings],
    ...(read.cgroup.length ? { cgroupPrograms: [...read.cgroup] } : {}),
  };
}

/**
 * The programs attached at (netns, ifname) in a topology, optionally at one hook, in the order a packet
 * meets them (XDP, then ingress, then egress; lower tc pref first). Empty when none or unknown.
 */
export function programsAt(
  t: Topology,
  netns: string,
  ifname: string,
  hook?: AttachedProg['hook'],
): readonly AttachedProg[] {
  const f = t.namespaces.find((n) => n.name === netns)?.interfaces.find((i) => i.name === ifname);
  const all = f?.programs ?? [];
  return hook ? all.filter((p) => p.hook === hook) : all;
}
