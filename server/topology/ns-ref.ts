// Resolve a user-given namespace name to something a command can run in. The topology capability owns
// naming; this is the narrow entry point other capabilities (tracer, capture) use to validate names.
import { stat } from 'node:fs/promises';
import { lookupNamespace } from './index';
import { NETNS_DIR, hostNamespace, type NamedNamespace } from './named';

/** A namespace a command can run in: the same shape whether it is named, a container's, or the host. */
export type NamespaceRef = NamedNamespace;

/**
 * `host`, an `ip netns` name, a container name, a pod sandbox's hostname, or a process namespace's
 * `comm-inode` name — every name `packet-journey topology` prints. Undefined for a name the host does
 * not have.
 */
export async function findNamespace(name: string): Promise<NamespaceRef | undefined> {
  // Fast paths without a discovery: host and `ip netns` names (the lab's, most common).
  if (name === 'host') return hostNamespace();
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name) || name === '.' || name === '..') return undefined;
  const st = await stat(`${NETNS_DIR}/${name}`).catch(() => undefined);
  if (st) return { name, inode: st.ino, target: { kind: 'named', name } };
  const hit = await lookupNamespace(name);
  if (!hit) return undefined;
  return { name: hit.ns.name, inode: hit.ns.inode, target: hit.entry.target };
}
