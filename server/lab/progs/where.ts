// Where a teaching program may go: an interface that exists in one of the lab's own namespaces, or one of
// the lab's host links (kind0, veth-node*) in the root namespace, called `host`. Anything else is refused
// before a single command runs.
import { exec, inNetns, type NetnsTarget } from '../../sys/exec';
import { parseLinks } from '../../topology/iproute';
import { namedInode } from '../../topology/namespaces';
import { LabError } from '../errors';
import { HOST_LINKS, NAMESPACES } from '../spec';
import type { LabState } from '../state';

export const HOST = 'host';

export interface Where {
  readonly netns: string;
  readonly iface: string;
  readonly target: NetnsTarget;
}

export const targetOf = (netns: string): NetnsTarget =>
  netns === HOST ? { kind: 'host' } : { kind: 'named', name: netns };

/** Runs cmd in the namespace (nsenter, which keeps /sys/fs/bpf visible for pinned maps). */
export const run = (netns: string, cmd: string, args: readonly string[]) => exec(inNetns(targetOf(netns), cmd, args));

/** Interface names of a namespace, or undefined if it cannot be read (gone). */
export async function linkNames(netns: string): Promise<string[] | undefined> {
  const r = await run(netns, 'ip', ['-j', 'link', 'show']);
  if (r.code !== 0) return undefined;
  return parseLinks(r.stdout)?.interfaces.map((l) => l.name);
}

/** Checks netns and iface against the lab state and the namespace's real links. */
export async function resolveWhere(state: LabState, netns: string, iface: string): Promise<Where> {
  const known = [HOST, ...NAMESPACES];
  if (!known.includes(netns))
    throw new LabError(`"${netns}" is not one of the lab's namespaces: use ${known.join(', ')}`);
  if (netns === HOST) {
    if (!HOST_LINKS.includes(iface))
      throw new LabError(`"${iface}" is not one of the lab's host links: use ${HOST_LINKS.join(', ')}`);
  } else if (state.namespaces[netns] === undefined || (await namedInode(netns)) !== state.namespaces[netns]) {
    throw new LabError(`namespace ${netns} is not the lab's (or is gone); run \`packet-journey lab up\``);
  }
  const names = await linkNames(netns);
  if (!names?.includes(iface)) {
    const have = names?.filter((n) => netns !== HOST || HOST_LINKS.includes(n)) ?? [];
    throw new LabError(`${netns} has no interface "${iface}"${have.length ? `: it has ${have.join(', ')}` : ''}`);
  }
  if (netns === HOST) await assertHostLinkOurs(state, iface);
  return { netns, iface, target: targetOf(netns) };
}

/** A kind0 that the lab did not create (other ifindex) is not the lab's to touch. */
async function assertHostLinkOurs(state: LabState, iface: string): Promise<void> {
  const r = await exec(['ip', '-j', 'link', 'show', 'dev', iface]);
  const idx = r.code === 0 ? parseLinks(r.stdout)?.interfaces[0]?.ifindex : undefined;
  if (idx === undefined || idx !== state.hostLinks[iface])
    throw new LabError(`host link ${iface} is not the lab's (or is gone); run \`packet-journey lab up\``);
}

export const describe = (w: { netns: string; iface: string; hook: string }): string =>
  `${w.netns}/${w.iface} ${w.hook}`;
