// Enumerates every network namespace on the host — the host's, `ip netns` ones, Docker containers', and
// any other a process holds — each once (by inode), with the name a user knows it by and how to enter it.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { exec, type NetnsTarget } from '../sys/exec';
import { listContainers } from './docker';
import type { NsMeta } from './graph';
import { hostNamespace, namedNamespaces } from './namespaces';

/** Enumerated namespace plus how to run a command in it. */
export interface NsEntry extends NsMeta {
  readonly target: NetnsTarget;
}

/** Inode of a /proc/PID/ns/net link, or undefined when the process is gone. */
export async function nsInodeOfPid(pid: number): Promise<number | undefined> {
  try {
    const l = await readlink(`/proc/${pid}/ns/net`);
    const m = /^net:\[(\d+)\]$/.exec(l);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Names a user can type and iproute2/our NetnsName validator accept. */
function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 48) || 'proc';
}

interface ProcScan {
  /** netns inode -> lowest pid in it. */
  readonly firstPid: Map<number, number>;
  /** netns inode -> comm of that first pid (non-host namespaces only). */
  readonly comms: Map<number, string>;
  /** netns inode -> a `pause` process in it: a Kubernetes pod sandbox. */
  readonly pauseInodes: Map<number, number>;
}

/** Every process's netns, and the comm of the processes outside the host's. */
async function scanProcesses(hostInode: number): Promise<ProcScan> {
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p)).map(Number);
  pids.sort((a, b) => a - b);
  const inodes = await Promise.all(pids.map(nsInodeOfPid));
  const firstPid = new Map<number, number>();
  const pauseInodes = new Map<number, number>();
  const comms = new Map<number, string>();
  pids.forEach((pid, i) => {
    const ino = inodes[i];
    if (ino !== undefined && !firstPid.has(ino)) firstPid.set(ino, pid);
  });
  await Promise.all(
    pids.map(async (pid, i) => {
      const ino = inodes[i];
      if (ino === undefined || ino === hostInode) return;
      const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
      if (firstPid.get(ino) === pid) comms.set(ino, comm);
      if (comm === 'pause' && !pauseInodes.has(ino)) pauseInodes.set(ino, pid);
    }),
  );
  return { firstPid, comms, pauseInodes };
}

/** UTS hostname of each pod sandbox, read from inside (/proc/sys/kernel/hostname answers for the reader's UTS). */
async function sandboxHostnames(pauseInodes: ReadonlyMap<number, number>): Promise<Map<number, string>> {
  const hostnames = new Map<number, string>();
  await Promise.all(
    [...pauseInodes].map(async ([ino, pid]) => {
      const r = await exec(['nsenter', `--uts=/proc/${pid}/ns/uts`, '--', 'cat', '/proc/sys/kernel/hostname'], {
        timeoutMs: 2000,
      }).catch(() => undefined);
      const h = r?.code === 0 ? r.stdout.trim() : '';
      if (h) hostnames.set(ino, h);
    }),
  );
  return hostnames;
}

export async function enumerate(dockerSocket?: string): Promise<{ entries: NsEntry[]; warnings: string[] }> {
  const warnings: string[] = [];
  const host = await hostNamespace();
  const seen = new Set<number>([host.inode]);
  const entries: NsEntry[] = [{ name: 'host', inode: host.inode, source: 'host', target: { kind: 'host' } }];
  const [named, procs, docker] = await Promise.all([
    namedNamespaces().then((ns) => ns.filter((n) => n.target.kind === 'named')),
    scanProcesses(host.inode),
    listContainers(dockerSocket),
  ]);
  if (docker.warning) warnings.push(docker.warning);
  const hostnames = await sandboxHostnames(procs.pauseInodes);

  const used = new Set<string>(['host']);
  const add = (want: string, e: Omit<NsEntry, 'name'>): void => {
    if (seen.has(e.inode)) return;
    seen.add(e.inode);
    const name = used.has(want) ? `${want}-${e.inode}` : want;
    used.add(name);
    entries.push({ name, ...e });
  };
  const extra = (ino: number, pid = procs.pauseInodes.get(ino)): Partial<NsEntry> => {
    const hostname = hostnames.get(ino);
    return { ...(hostname !== undefined ? { hostname } : {}), ...(pid !== undefined ? { pid } : {}) };
  };

  named.sort((a, b) => a.name.localeCompare(b.name));
  for (const n of named)
    add(n.name, { inode: n.inode, source: 'named', netnsName: n.name, target: n.target, ...extra(n.inode) });
  const containerInodes = await Promise.all(docker.containers.map((c) => nsInodeOfPid(c.pid)));
  docker.containers.forEach((c, i) => {
    const ino = containerInodes[i];
    if (ino === undefined) return;
    const container = { id: c.id, image: c.image };
    add(safeName(c.name), {
      inode: ino,
      source: 'container',
      pid: c.pid,
      container,
      target: { kind: 'pid', pid: c.pid },
    });
  });
  for (const [ino, first] of [...procs.firstPid].sort((a, b) => a[1] - b[1])) {
    const pid = procs.pauseInodes.get(ino) ?? first;
    const base = hostnames.get(ino) ?? `${safeName(procs.comms.get(ino) ?? 'proc')}-${ino}`;
    add(base, { inode: ino, source: 'process', ...extra(ino, pid), target: { kind: 'pid', pid } });
  }
  return { entries, warnings };
}
