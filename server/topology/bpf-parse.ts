// Parsers for bpftool's and tc's JSON about attached BPF programs: `bpftool --json prog show` (the whole
// machine's loaded programs, the change signal and the name/tag source), `bpftool --json net show` (one
// namespace's tc and XDP attachments), `tc -j filter show` (pref and direct-action) and `bpftool --json
// cgroup tree` (cgroup programs). Pure functions, unit-tested on recorded output.
import { z } from 'zod';
import type { AttachedProg, CgroupProg } from '../protocol/topology';

export interface ProgInfo {
  readonly id: number;
  /** bpftool's type name, or the kernel's number where bpftool 7.1 has no name (e.g. netfilter is 32). */
  readonly type: string;
  readonly name: string;
  readonly tag: string;
}

const ProgRow = z.object({
  id: z.number().int(),
  type: z.union([z.string(), z.number()]),
  name: z.string().optional(),
  tag: z.string().optional(),
});

/** `bpftool --json prog show`: id -> program; undefined when the output is not JSON of that shape. */
export function parseProgShow(stdout: string): Map<number, ProgInfo> | undefined {
  const rows = z.array(z.unknown()).safeParse(safeJson(stdout));
  if (!rows.success) return undefined;
  const out = new Map<number, ProgInfo>();
  for (const r of rows.data) {
    const p = ProgRow.safeParse(r);
    if (p.success)
      out.set(p.data.id, { id: p.data.id, type: String(p.data.type), name: p.data.name ?? '', tag: p.data.tag ?? '' });
  }
  return out;
}

/**
 * Types tc can run (tc/tcx: sched_cls, old tc actions: sched_act). Their ids are the change signal:
 * `tc filter add … obj` loads a program with a new id, and a detach frees it (unless something pins it).
 */
const TC_TYPES = new Set(['sched_cls', 'sched_act']);
export const isTcProg = (p: ProgInfo): boolean => TC_TYPES.has(p.type);
export const isCgroupProg = (p: ProgInfo): boolean => p.type.startsWith('cgroup_') || p.type === 'sock_ops';

const NetTc = z.object({ devname: z.string(), kind: z.string(), name: z.string().optional(), id: z.number().int() });
const NetXdp = z.object({ devname: z.string(), mode: z.string().optional(), id: z.number().int() });
const NetShow = z.array(
  z.object({ xdp: z.array(z.unknown()).optional(), tc: z.array(z.unknown()).optional() }).passthrough(),
);

/** One attachment as `bpftool net show` reports it, before names and tags are joined in. */
export interface NetAttachment {
  readonly ifname: string;
  readonly hook: AttachedProg['hook'];
  readonly id: number;
  /** tc: `obj.o:[section]` (or the program name for libbpf attachments); XDP: generic, driver, offload. */
  readonly detail?: string;
}

const TC_KINDS: Readonly<Record<string, AttachedProg['hook']>> = {
  'clsact/ingress': 'tc-ingress',
  'clsact/egress': 'tc-egress',
  'tcx/ingress': 'tcx-ingress',
  'tcx/egress': 'tcx-egress',
};
const XDP_MODES: Readonly<Record<string, string>> = { generic: 'generic', driver: 'driver', offload: 'offload' };

/** `bpftool --json net show` in one namespace; undefined when it is not that output. */
export function parseNetShow(stdout: string): NetAttachment[] | undefined {
  const p = NetShow.safeParse(safeJson(stdout));
  if (!p.success) return undefined;
  const out: NetAttachment[] = [];
  for (const block of p.data) {
    for (const raw of block.tc ?? []) {
      const t = NetTc.safeParse(raw);
      const hook = t.success ? TC_KINDS[t.data.kind] : undefined;
      if (t.success && hook)
        out.push({ ifname: t.data.devname, hook, id: t.data.id, ...(t.data.name ? { detail: t.data.name } : {}) });
    }
    for (const raw of block.xdp ?? []) {
      const x = NetXdp.safeParse(raw);
      if (x.success) {
        const mode = x.data.mode !== undefined ? (XDP_MODES[x.data.mode] ?? x.data.mode) : undefined;
        out.push({ ifname: x.data.devname, hook: 'xdp', id: x.data.id, ...(mode ? { detail: mode } : {}) });
      }
    }
  }
  return out;
}

/**
 * bpftool's tc attachments plus the tcx ones probes/build/tcx lists (a bpftool that knows tcx lists them
 * too: each once), XDP left out.
 */
export function withTcx(bpftool: readonly NetAttachment[], tcx: readonly NetAttachment[]): NetAttachment[] {
  const key = (x: NetAttachment): string => `${x.ifname} ${x.hook} ${x.id}`;
  const seen = new Set(bpftool.map(key));
  return [...bpftool, ...tcx.filter((x) => !seen.has(key(x)))].filter((x) => x.hook !== 'xdp');
}

const TcFilterRow = z.object({
  pref: z.number().int().optional(),
  options: z
    .object({
      bpf_name: z.string().optional(),
      'direct-action': z.boolean().optional(),
      prog: z.object({ id: z.number().int() }).optional(),
    })
    .optional(),
});

export interface TcFilterInfo {
  readonly id: number;
  readonly pref?: number;
  readonly directAction: boolean;
  readonly bpfName?: string;
}

/**
 * `tc -j -b -` output for `filter show` lines: one JSON array per line (tc prints `[]` for a hook
 * without filters). Filters without a BPF program (u32, flower) are left out.
 */
export function parseTcFilters(stdout: string): TcFilterInfo[][] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const rows = z.array(z.unknown()).safeParse(safeJson(line));
      if (!rows.success) return [];
      return rows.data.flatMap((r) => {
        const f = TcFilterRow.safeParse(r);
        const o = f.success ? f.data.options : undefined;
        if (!f.success || !o?.prog) return [];
        return [
          {
            id: o.prog.id,
            ...(f.data.pref !== undefined ? { pref: f.data.pref } : {}),
            directAction: o['direct-action'] === true,
            ...(o.bpf_name ? { bpfName: o.bpf_name } : {}),
          },
        ];
      });
    });
}

/** libbpf's attach type names (what bpftool 7.1 prints) -> the short names users know (`connect4`). */
const ATTACH_SHORT: Readonly<Record<string, string>> = {
  cgroup_inet_ingress: 'ingress',
  cgroup_inet_egress: 'egress',
  cgroup_inet_sock_create: 'sock_create',
  cgroup_inet_sock_release: 'sock_release',
  cgroup_inet4_bind: 'bind4',
  cgroup_inet6_bind: 'bind6',
  cgroup_inet4_connect: 'connect4',
  cgroup_inet6_connect: 'connect6',
  cgroup_inet4_post_bind: 'post_bind4',
  cgroup_inet6_post_bind: 'post_bind6',
  cgroup_udp4_sendmsg: 'sendmsg4',
  cgroup_udp6_sendmsg: 'sendmsg6',
  cgroup_udp4_recvmsg: 'recvmsg4',
  cgroup_udp6_recvmsg: 'recvmsg6',
  cgroup_inet4_getpeername: 'getpeername4',
  cgroup_inet6_getpeername: 'getpeername6',
  cgroup_inet4_getsockname: 'getsockname4',
  cgroup_inet6_getsockname: 'getsockname6',
  cgroup_sock_ops: 'sock_ops',
  cgroup_device: 'device',
  cgroup_sysctl: 'sysctl',
  cgroup_getsockopt: 'getsockopt',
  cgroup_setsockopt: 'setsockopt',
};
export const shortAttachType = (t: string): string => ATTACH_SHORT[t] ?? t.replace(/^cgroup_/, '');

const CgroupRowProg = z.object({
  id: z.number().int(),
  attach_type: z.union([z.string(), z.number()]),
  name: z.string().optional(),
});
const CgroupRow = z.object({ cgroup: z.string(), programs: z.array(CgroupRowProg) });

/** `bpftool --json cgroup show PATH effective`: the programs that apply to sockets of that cgroup. */
export function parseCgroupEffective(stdout: string): Omit<CgroupProg, 'cgroup'>[] | undefined {
  const r = z.array(CgroupRowProg).safeParse(safeJson(stdout));
  return r.success
    ? r.data.map((p) => ({ id: p.id, name: p.name ?? '', attachType: shortAttachType(String(p.attach_type)) }))
    : undefined;
}

/**
 * `bpftool --json cgroup tree ROOT`: every program on the tree, with its cgroup as a path under ROOT
 * (`/` for ROOT itself, which is where a program applies to every socket on the machine).
 */
export function parseCgroupTree(stdout: string, root: string): CgroupProg[] | undefined {
  const rows = z.array(z.unknown()).safeParse(safeJson(stdout));
  if (!rows.success) return undefined;
  const base = root.replace(/\/+$/, '');
  return rows.data.flatMap((r) => {
    const c = CgroupRow.safeParse(r);
    if (!c.success) return [];
    const rel = c.data.cgroup.startsWith(base) ? c.data.cgroup.slice(base.length) || '/' : c.data.cgroup;
    return c.data.programs.map((p) => ({
      id: p.id,
      name: p.name ?? '',
      attachType: shortAttachType(String(p.attach_type)),
      cgroup: rel,
    }));
  });
}

/** The cgroup v2 mount point from /proc/self/mounts text (hybrid machines have it at …/unified). */
export function cgroup2RootOf(mounts: string): string | undefined {
  for (const line of mounts.split('\n')) {
    const f = line.split(' ');
    if (f[2] === 'cgroup2' && f[1]) return f[1];
  }
  return undefined;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s.trim() || '[]');
  } catch {
    return undefined;
  }
}
