// The lab's eBPF plumbing, shared by the scenarios and the teaching programs: where objects are built,
// bpffs, tc in a lab namespace, bpftool's JSON, and the cgroup v2 root. Every host-global thing created
// here is recorded in `Owned` first, so `releaseOwned` can undo it from the state file alone.
import { copyFile, lstat, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { exec, execOk, inNetns, type NetnsTarget } from '../sys/exec';
import { cgroup2Mount } from '../topology/bpf-programs';
import { LabError } from './errors';
import type { Owned } from './state';

export const BPFFS = '/sys/fs/bpf';
/** Where the lab pins what must be shared or inspected (`bpftool map dump pinned …`). */
export const PIN_ROOT = `${BPFFS}/packet-journey`;
/** Created by iproute2's object loader (tc, ip … xdp) on first use; ip and xdp are symlinks to tc. */
export const LOADER_DIRS = [`${BPFFS}/tc`, `${BPFFS}/ip`, `${BPFFS}/xdp`] as const;
/** Where that loader pins maps declared with LIBBPF_PIN_BY_NAME. */
export const TC_GLOBALS = `${BPFFS}/tc/globals`;

const BUILD_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../probes/build/lab');

/** The compiled object for probes/lab/NAME.bpf.c. */
export function labObject(name: string): string {
  return join(BUILD_DIR, `${name}.bpf.o`);
}

export const exists = (p: string): Promise<boolean> =>
  lstat(p).then(
    () => true,
    () => false,
  );

/** Mounts bpffs if this machine has none (a fresh VM often doesn't). */
export async function ensureBpffs(): Promise<void> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  if (mounts.split('\n').some((l) => l.split(' ')[1] === BPFFS && l.split(' ')[2] === 'bpf')) return;
  await execOk(['mount', '-t', 'bpf', 'bpf', BPFFS]);
}

/** The cgroup v2 mount point, from the mounts (not always /sys/fs/cgroup: here it is /sys/fs/cgroup/unified). */
export async function cgroup2Root(): Promise<string> {
  const path = await cgroup2Mount();
  if (!path) throw new LabError('no cgroup v2 mount found in /proc/self/mounts');
  return path;
}

const where = (netns: string | undefined): NetnsTarget => (netns ? { kind: 'named', name: netns } : { kind: 'host' });

/** Runs tc in a lab namespace (nsenter, so bpffs stays visible, unlike `ip netns exec`). */
export function tc(netns: string | undefined, args: readonly string[]): Promise<string> {
  return execOk(inNetns(where(netns), 'tc', args));
}

export interface TcAttach {
  readonly netns: string | undefined;
  readonly dev: string;
  readonly dir: 'ingress' | 'egress';
  /** Object name under probes/lab (without .bpf.c). */
  readonly object: string;
  /** ELF section of the program, shown by `tc filter show` as `obj.o:[section]`. */
  readonly section: string;
  /** Default 10: the teaching programs take lower numbers, so a drop-all runs before a scenario's datapath. */
  readonly pref?: number;
  /** The file name tc shows instead of NAME.bpf.o, e.g. Cilium's `bpf_lxc.o` (a copy under build/lab/named/). */
  readonly shownAs?: string;
}

const namedCopies = new Map<string, Promise<string>>();

/** A copy of the built object under another file name, made once per process (copy then rename, so a
 * concurrent tc never reads half a file). */
function namedCopy(object: string, shownAs: string): Promise<string> {
  const key = `${object}:${shownAs}`;
  let p = namedCopies.get(key);
  if (!p) {
    p = (async () => {
      const src = labObject(object);
      if (!(await exists(src))) throw new LabError(`${src} is missing; run \`make -C probes\``);
      const dst = join(BUILD_DIR, 'named', shownAs);
      await mkdir(dirname(dst), { recursive: true });
      await copyFile(src, `${dst}.${process.pid}.tmp`);
      await rename(`${dst}.${process.pid}.tmp`, dst);
      return dst;
    })();
    // A failed copy is retried by the next attach rather than remembered.
    p.catch(() => namedCopies.delete(key));
    namedCopies.set(key, p);
  }
  return p;
}

/**
 * Loads a program from an object with tc itself and attaches it direct-action on a clsact qdisc, so that
 * `tc filter show` prints what a Cilium node prints (`bpf_lxc.o:[from-container] direct-action …`).
 * Returns the kernel program id. Maps are private to the program unless the object pins them by name.
 */
export async function tcAttach(owned: Owned, a: TcAttach): Promise<number> {
  await recordAbsent(owned, LOADER_DIRS);
  await exec(inNetns(where(a.netns), 'tc', ['qdisc', 'add', 'dev', a.dev, 'clsact']));
  const pref = String(a.pref ?? 10);
  await tc(a.netns, [
    'filter',
    'replace',
    'dev',
    a.dev,
    a.dir,
    'pref',
    pref,
    'handle',
    '1',
    'bpf',
    'da',
    'obj',
    a.shownAs ? await namedCopy(a.object, a.shownAs) : labObject(a.object),
    'sec',
    a.section,
  ]);
  const shown = await tc(a.netns, ['filter', 'show', 'dev', a.dev, a.dir, 'pref', pref]);
  const id = /\bid (\d+)/.exec(shown)?.[1];
  if (!id) throw new LabError(`tc attached ${a.section} on ${a.dev} but did not report its program id`);
  return Number(id);
}

/**
 * Records in `owned.pins` each bpffs path that does not exist yet (a load is about to create it), so
 * `down` removes exactly what the lab made. Mounts bpffs first. True if anything was added (save then).
 */
export async function recordAbsent(owned: Owned, paths: readonly string[]): Promise<boolean> {
  await ensureBpffs();
  let added = false;
  for (const p of paths)
    if (!owned.pins.includes(p) && !(await exists(p))) {
      owned.pins.push(p);
      added = true;
    }
  return added;
}

/** `bpftool --json …`, parsed. */
export async function bpftoolJson(args: readonly string[]): Promise<unknown> {
  return JSON.parse(await execOk(['bpftool', '--json', ...args])) as unknown;
}

/** Undoes every recorded host-global resource; each step is best-effort so one failure can't strand the rest. */
export async function releaseOwned(owned: Owned): Promise<string[]> {
  const failed: string[] = [];
  for (const c of owned.cgroup) {
    // Detach only what is really attached there: where a program sits without `multi`, the kernel detaches
    // it on a detach by any id, so a record of an attach that never happened could remove someone else's.
    if (!(await cgroupAttachedIds(c.cgroup)).includes(c.id)) continue;
    const r = await exec(['bpftool', 'cgroup', 'detach', c.cgroup, c.type, 'id', String(c.id)]);
    if (r.code !== 0) failed.push(`cgroup ${c.type} program ${c.id}: ${r.stderr.trim()}`);
  }
  for (const route of owned.hostRoutes) await exec(['ip', 'route', 'del', ...route]);
  // Deepest first, and only under bpffs: a corrupt state file must not make `down` remove anything else.
  for (const p of [...owned.pins].sort((a, b) => b.length - a.length)) {
    if (!p.startsWith(`${BPFFS}/`)) continue;
    await rm(p, { recursive: true, force: true }).catch((e: Error) => failed.push(`${p}: ${e.message}`));
  }
  owned.cgroup.length = 0;
  owned.hostRoutes.length = 0;
  owned.pins.length = 0;
  return failed;
}

/** Program ids attached directly to a cgroup (bpftool prints nothing at all when there are none). */
async function cgroupAttachedIds(cgroup: string): Promise<number[]> {
  const r = await exec(['bpftool', '--json', 'cgroup', 'show', cgroup]);
  if (r.code !== 0 || r.stdout.trim() === '') return [];
  const parsed = z.array(z.object({ id: z.number() })).safeParse(JSON.parse(r.stdout));
  return parsed.success ? parsed.data.map((a) => a.id) : [];
}
