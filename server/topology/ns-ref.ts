// Resolve a user-given namespace name to something a command can run in. The topology capability owns
// naming; this is the narrow entry point other capabilities (tracer, capture) use to validate names.
import { readdir, stat } from 'node:fs/promises';
import type { NetnsTarget } from '../sys/exec';

export interface NamespaceRef {
  readonly name: string;
  readonly inode: number;
  readonly target: NetnsTarget;
}

/** `host` or an `ip netns` name. Returns undefined for a name the host does not have. */
export async function findNamespace(name: string): Promise<NamespaceRef | undefined> {
  if (name === 'host') {
    const st = await stat('/proc/1/ns/net');
    return { name, inode: st.ino, target: { kind: 'host' } };
  }
  const names = await readdir('/var/run/netns').catch(() => [] as string[]);
  if (!names.includes(name)) return undefined;
  const st = await stat(`/var/run/netns/${name}`);
  return { name, inode: st.ino, target: { kind: 'named', name } };
}
