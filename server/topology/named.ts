// The host's namespace and the `ip netns` ones, with their inodes: the cheap subset of discovery that
// the tracer, captures and name look-ups need without scanning every process.
import { readdir, stat } from 'node:fs/promises';
import type { NetnsTarget } from '../sys/exec';

export const NETNS_DIR = '/var/run/netns';
/** pid 1 may be a sandbox supervisor whose netns we cannot read; our own is the host's. */
export const HOST_NS = '/proc/self/ns/net';

export interface NamedNamespace {
  readonly name: string;
  readonly inode: number;
  readonly target: NetnsTarget;
}

export async function hostNamespace(): Promise<NamedNamespace> {
  return { name: 'host', inode: (await stat(HOST_NS)).ino, target: { kind: 'host' } };
}

/** The host first, then every `ip netns` namespace (one that vanishes meanwhile is skipped). */
export async function namedNamespaces(): Promise<NamedNamespace[]> {
  const host = await hostNamespace();
  const names = (await readdir(NETNS_DIR).catch(() => [] as string[])).sort();
  const named = await Promise.all(
    names.map(async (name): Promise<NamedNamespace | undefined> => {
      const st = await stat(`${NETNS_DIR}/${name}`).catch(() => undefined);
      return st && st.ino !== host.inode ? { name, inode: st.ino, target: { kind: 'named', name } } : undefined;
    }),
  );
  return [host, ...named.filter((n): n is NamedNamespace => n !== undefined)];
}
