// Namespace identity, owned by the topology: which namespaces have names, how to enter one by name, what
// an inode from a kernel event is called, and the few per-namespace `ip` look-ups the tracer and capture
// need (links, main address, source address towards a destination). The cheap answers (host, `ip netns`
// names) come from the filesystem; everything else from the topology's cached discovery, which is passed
// in (createNamespaces) so tests can hand in a fake one.
import { readdir, stat } from 'node:fs/promises';
import type { Namespace } from '../protocol/topology';
import { canonicalIp, isIpv4, isIpv6 } from '../protocol/vocab';
import { exec, inNetns, type ExecResult, type NetnsTarget } from '../sys/exec';
import type { NsEntry } from './enumerate';
import { parseLinks, parsePrimaryIpv4, parsePrimaryIpv6, parseRouteSource, type LocalIface } from './iproute';

export const NETNS_DIR = '/var/run/netns';
/** pid 1 may be a sandbox supervisor whose netns we cannot read; our own is the host's. */
export const HOST_NS = '/proc/self/ns/net';

/** A namespace a command can run in: the same shape whether it is named, a container's, or the host. */
export interface NamespaceRef {
  readonly name: string;
  readonly inode: number;
  readonly target: NetnsTarget;
}

export async function hostNamespace(): Promise<NamespaceRef> {
  return { name: 'host', inode: (await stat(HOST_NS)).ino, target: { kind: 'host' } };
}

/** Inode of the `ip netns` namespace `name`, or undefined when there is none. */
export async function namedInode(name: string): Promise<number | undefined> {
  return stat(`${NETNS_DIR}/${name}`).then(
    (s) => s.ino,
    () => undefined,
  );
}

/** The host first, then every `ip netns` namespace (one that vanishes meanwhile is skipped). */
export async function namedNamespaces(): Promise<NamespaceRef[]> {
  const host = await hostNamespace();
  const names = (await readdir(NETNS_DIR).catch(() => [] as string[])).sort();
  const named = await Promise.all(
    names.map(async (name): Promise<NamespaceRef | undefined> => {
      const inode = await namedInode(name);
      return inode !== undefined && inode !== host.inode ? { name, inode, target: { kind: 'named', name } } : undefined;
    }),
  );
  return [host, ...named.filter((n): n is NamespaceRef => n !== undefined)];
}

export { isIpv4 };

/** Names a user may pass: what NetnsName accepts, so nothing can walk out of NETNS_DIR. */
const SAFE_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** What the look-ups need from the topology's cached discovery (server/topology/cache.ts). */
export interface NameSource {
  nameForInode(inode: number): Promise<string | undefined>;
  nameForInodeCached(inode: number): string | undefined;
  lookupNamespace(name: string): Promise<{ ns: Namespace; entry: NsEntry } | undefined>;
}

/** Runs `ip ARGS` inside a namespace. */
export type IpRunner = (target: NetnsTarget, args: readonly string[]) => Promise<ExecResult>;

export interface NamespaceDeps {
  readonly topology: NameSource;
  /** Default: iproute2 through nsenter, 5 s timeout. */
  readonly ip?: IpRunner;
  /** Default: host + /var/run/netns. */
  readonly named?: () => Promise<NamespaceRef[]>;
}

const realIp: IpRunner = (target, args) => exec(inNetns(target, 'ip', args), { timeoutMs: 5000 });

/** Synchronous inode -> name for the journey builder, filled from the local scan and the topology. */
export class NetnsNames {
  private readonly local = new Map<number, string>();
  private readonly missing = new Set<number>();

  constructor(private readonly deps: Required<Pick<NamespaceDeps, 'topology' | 'named'>>) {}

  async refresh(): Promise<void> {
    for (const n of await this.deps.named()) this.local.set(n.inode, n.name);
  }

  nameOf = (inode: number): string => {
    const hit = this.local.get(inode) ?? this.deps.topology.nameForInodeCached(inode);
    if (hit !== undefined) return hit;
    this.missing.add(inode);
    return `netns:${inode}`;
  };

  /** Asks the topology about inodes the builder could not name (containers, processes). */
  async resolveMissing(): Promise<boolean> {
    if (this.missing.size === 0) return false;
    let found = false;
    for (const inode of this.missing) {
      const n = await this.deps.topology.nameForInode(inode).catch(() => undefined);
      if (n !== undefined) {
        this.local.set(inode, n);
        found = true;
      }
    }
    this.missing.clear();
    return found;
  }
}

export type Destination = { ip: string; ns?: NamespaceRef } | { error: string };
export type LinksResult = { interfaces: LocalIface[] } | { error: string };

export interface Namespaces {
  /**
   * `host`, an `ip netns` name, a container name, a pod sandbox's hostname, or a process namespace's
   * `comm-inode` name — every name `packet-journey topology` prints. Undefined for a name the host does
   * not have.
   */
  findNamespace(name: string): Promise<NamespaceRef | undefined>;
  /** A fresh inode -> name map for one follow or live view. */
  netnsNames(): NetnsNames;
  /** The links inside a namespace, or why they could not be listed (one line). */
  linksIn(ns: NamespaceRef): Promise<LinksResult>;
  /** The namespace's main IPv4 (or, with family 6, global IPv6) address: eth0's if it has one, else the first. */
  primaryAddress(target: NetnsTarget, family?: 4 | 6): Promise<string | undefined>;
  /** Source address the namespace would use towards dst (`ip route get`, IPv4 or IPv6 by dst). */
  sourceAddressFor(target: NetnsTarget, dst: string): Promise<string | undefined>;
  /** `--to`: an IPv4 or IPv6 address, or a namespace name whose main address (of `family`, default 4) is
   * the destination. */
  resolveDestination(to: string, family?: 4 | 6): Promise<Destination>;
}

export function createNamespaces(deps: NamespaceDeps): Namespaces {
  const ip = deps.ip ?? realIp;
  const named = deps.named ?? namedNamespaces;
  const { topology } = deps;

  const findNamespace = async (name: string): Promise<NamespaceRef | undefined> => {
    // Fast paths without a discovery: host and `ip netns` names (the lab's, most common).
    if (name === 'host') return hostNamespace();
    if (!SAFE_NAME.test(name) || name === '.' || name === '..') return undefined;
    const inode = await namedInode(name);
    if (inode !== undefined) return { name, inode, target: { kind: 'named', name } };
    const hit = await topology.lookupNamespace(name);
    if (!hit) return undefined;
    return { name: hit.ns.name, inode: hit.ns.inode, target: hit.entry.target };
  };

  const primaryAddress = async (target: NetnsTarget, family: 4 | 6 = 4): Promise<string | undefined> => {
    const r = await ip(target, ['-j', `-${family}`, 'addr', 'show']);
    if (r.code !== 0) return undefined;
    return family === 6 ? parsePrimaryIpv6(r.stdout) : parsePrimaryIpv4(r.stdout);
  };

  return {
    findNamespace,
    primaryAddress,
    netnsNames: () => new NetnsNames({ topology, named }),
    async linksIn(ns) {
      const r = await ip(ns.target, ['-j', '-d', 'link', 'show']);
      if (r.code !== 0)
        return {
          error: `cannot list interfaces in namespace "${ns.name}": ${r.stderr.trim().split('\n').pop() ?? ''}`,
        };
      const links = parseLinks(r.stdout);
      return links ? { interfaces: links.interfaces } : { error: `ip -j link in "${ns.name}" printed invalid JSON` };
    },
    async sourceAddressFor(target, dst) {
      const r = await ip(target, ['-j', isIpv6(dst) ? '-6' : '-4', 'route', 'get', dst]);
      return r.code === 0 ? parseRouteSource(r.stdout) : undefined;
    },
    async resolveDestination(to, family = 4) {
      if (isIpv4(to) || isIpv6(to)) return { ip: canonicalIp(to) };
      const ns = await findNamespace(to);
      if (!ns)
        return {
          error: `unknown destination "${to}": not an IPv4 or IPv6 address or a namespace the topology knows`,
        };
      const addr = await primaryAddress(ns.target, family);
      if (!addr) return { error: `namespace "${to}" has no IPv${family} address to send to` };
      return { ip: addr, ns };
    },
  };
}
