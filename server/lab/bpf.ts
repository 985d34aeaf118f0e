// The lab's eBPF plumbing, shared by the scenarios and the teaching programs: where objects are built,
// bpffs, tc in a lab namespace, bpftool's JSON, and the cgroup v2 root. Every host-global thing created
// here is recorded in `Owned` first, so `releaseOwned` can undo it from the state file alone.
import { lstat, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec, execOk, inNetns, type NetnsTarget } from '../sys/exec';
import { LabError } from './errors';
import type { Owned } from './state';

export const BPFFS = '/sys/fs/bpf';
/** Where the lab pins what must be shared or inspected (`bpftool map dump pinned …`). */
export const PIN_ROOT = `${BPFFS}/packet-journey`;
/** Created by tc's object loader on first use (maps pinned by name go to tc/globals; ip and xdp link to tc). */
const TC_BPFFS_PATHS = [`${BPFFS}/tc`, `${BPFFS}/ip`, `${BPFFS}/xdp`];

const BUILD_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../probes/build/lab');

/** The compiled object for probes/lab/NAME.bpf.c. */
export function labObject(name: string): string {
  return join(BUILD_DIR, `${name}.bpf.o`);
}

const exists = (p: string): Promise<boolean> =>
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
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  const line = mounts.split('\n').find((l) => l.split(' ')[2] === 'cgroup2');
  const path = line?.split(' ')[1];
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
}

/**
 * Loads a program from an object with tc itself and attaches it direct-action on a clsact qdisc, so that
 * `tc filter show` prints what a Cilium node prints (`bpf_lxc.o:[from-container] direct-action …`).
 * Returns the kernel program id. Maps are private to the program unless the object pins them by name.
 */
export async function tcAttach(owned: Owned, a: TcAttach): Promise<number> {
  await ensureBpffs();
  for (const p of TC_BPFFS_PATHS) if (!owned.pins.includes(p) && !(await exists(p))) owned.pins.push(p);
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
    labObject(a.object),
    'sec',
    a.section,
  ]);
  const shown = await tc(a.netns, ['-j', 'filter', 'show', 'dev', a.dev, a.dir, 'pref', pref]);
  const id = /"id":\s*(\d+)/.exec(shown)?.[1] ?? /\bid (\d+)/.exec(shown)?.[1];
  if (!id) throw new LabError(`tc attached ${a.section} on ${a.dev} but did not report its program id`);
  return Number(id);
}

/** `bpftool --json …`, parsed. */
export async function bpftoolJson(args: readonly string[]): Promise<unknown> {
  return JSON.parse(await execOk(['bpftool', '--json', ...args])) as unknown;
}

/** Undoes every recorded host-global resource; each step is best-effort so one failure can't strand the rest. */
export async function releaseOwned(owned: Owned): Promise<string[]> {
  const failed: string[] = [];
  for (const c of owned.cgroup) {
    const r = await exec(['bpftool', 'cgroup', 'detach', c.cgroup, c.type, 'id', String(c.id)]);
    // Already gone (e.g. detached by hand) is fine; anything else is worth saying.
    if (r.code !== 0 && !/No such|not found|ENOENT|Invalid argument/i.test(r.stderr))
      failed.push(`cgroup ${c.type} program ${c.id}: ${r.stderr.trim()}`);
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
