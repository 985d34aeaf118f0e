// Namespace look-ups the tracer needs: inode -> name for kernel events, and a name/IP -> where to send.
// Names come from the topology (server/topology); `ip netns` names and the host are answered locally
// first, because a full discovery costs far more than a follow on a busy host.
import { z } from 'zod';
import { isIpv4 } from '../protocol/vocab';
import { exec, inNetns, type NetnsTarget } from '../sys/exec';
import { nameForInode, nameForInodeCached } from '../topology/index';
import { namedNamespaces } from '../topology/named';
import { findNamespace, type NamespaceRef } from '../topology/ns-ref';

/** Synchronous inode -> name for the journey builder, filled from the local scan and the topology. */
export class NetnsNames {
  private readonly local = new Map<number, string>();
  private readonly missing = new Set<number>();

  async refresh(): Promise<void> {
    for (const n of await namedNamespaces()) this.local.set(n.inode, n.name);
  }

  nameOf = (inode: number): string => {
    const hit = this.local.get(inode) ?? nameForInodeCached(inode);
    if (hit !== undefined) return hit;
    this.missing.add(inode);
    return `netns:${inode}`;
  };

  /** Asks the topology about inodes the builder could not name (containers, processes). */
  async resolveMissing(): Promise<boolean> {
    if (this.missing.size === 0) return false;
    let found = false;
    for (const inode of this.missing) {
      const n = await nameForInode(inode).catch(() => undefined);
      if (n !== undefined) {
        this.local.set(inode, n);
        found = true;
      }
    }
    this.missing.clear();
    return found;
  }
}

export { isIpv4 };

const AddrJson = z.array(
  z.object({
    ifname: z.string(),
    addr_info: z.array(z.object({ family: z.string(), local: z.string(), scope: z.string().optional() })).default([]),
  }),
);

/** The namespace's main IPv4 address: eth0's if it has one, else the first global one. */
export async function primaryAddress(target: NetnsTarget): Promise<string | undefined> {
  const r = await exec(inNetns(target, 'ip', ['-j', '-4', 'addr', 'show']));
  if (r.code !== 0) return undefined;
  let parsed: z.infer<typeof AddrJson>;
  try {
    parsed = AddrJson.parse(JSON.parse(r.stdout));
  } catch {
    return undefined;
  }
  const global = parsed.flatMap((l) =>
    l.addr_info
      .filter((a) => a.family === 'inet' && a.scope !== 'host')
      .map((a) => ({ ifname: l.ifname, ip: a.local })),
  );
  return (global.find((a) => a.ifname === 'eth0') ?? global[0])?.ip;
}

const RouteJson = z.array(z.object({ dst: z.string(), dev: z.string().optional(), prefsrc: z.string().optional() }));

/** Source address the namespace would use towards dst (`ip route get`). */
export async function sourceAddressFor(target: NetnsTarget, dst: string): Promise<string | undefined> {
  const r = await exec(inNetns(target, 'ip', ['-j', '-4', 'route', 'get', dst]));
  if (r.code !== 0) return undefined;
  try {
    return RouteJson.parse(JSON.parse(r.stdout))[0]?.prefsrc;
  } catch {
    return undefined;
  }
}

/** `--to`: an IPv4 address, or a namespace name whose main address is the destination. */
export async function resolveDestination(to: string): Promise<{ ip: string; ns?: NamespaceRef } | { error: string }> {
  if (isIpv4(to)) return { ip: to };
  const ns = await findNamespace(to);
  if (!ns) return { error: `unknown destination "${to}": not an IPv4 address or a namespace the topology knows` };
  const ip = await primaryAddress(ns.target);
  if (!ip) return { error: `namespace "${to}" has no IPv4 address to send to` };
  return { ip, ns };
}
