// Where a capture may run: validate (netns, iface) against what the host really has, check a filter
// with `tcpdump -d` before anything starts, and list targets for the panel's pickers.
import { msg } from '../protocol/i18n/msg';
import { stat } from 'node:fs/promises';
import { IfName, NetnsName } from '../protocol/common';
import type { CaptureTarget } from '../protocol/capture';
import { UserError } from '../sys/errors';
import { exec, inNetns } from '../sys/exec';
import { findNamespace, getDiscovery, linksIn, namedNamespaces, type NamespaceRef } from '../topology/index';

/** A user mistake (unknown namespace, bad filter…): shown as is, one line, nothing started. */
export class CaptureError extends UserError {}

export interface ResolvedTarget {
  readonly ns: NamespaceRef;
  readonly iface: string;
}

/** The namespace's links as the pickers show them (kinds by the topology's one rule). */
export async function listLinks(ns: NamespaceRef): Promise<{ name: string; kind: string; up: boolean }[]> {
  const r = await linksIn(ns);
  if ('error' in r) throw new CaptureError(r.error);
  return r.interfaces.map((l) => ({ name: l.name, kind: l.kind, up: l.up }));
}

export async function resolveTarget(netns: string, iface: string): Promise<ResolvedTarget> {
  const n = NetnsName.safeParse(netns);
  if (!n.success) throw new CaptureError(`"${netns}" is not a valid namespace name`);
  const i = IfName.safeParse(iface);
  if (!i.success && iface !== 'any') throw new CaptureError(`"${iface}" is not a valid interface name`);
  const ns = await findNamespace(netns);
  if (!ns) throw new CaptureError(msg('err.unknownNsSee', { ns: netns }));
  if (iface === 'any') return { ns, iface };
  const links = await listLinks(ns);
  if (!links.some((l) => l.name === iface)) {
    const names = links.map((l) => l.name).join(', ');
    throw new CaptureError(msg('err.capture.noIface', { iface, ns: netns, names }));
  }
  return { ns, iface };
}

/** The file that is the target's namespace now (none for the host, which cannot go away). */
function namespaceFile(t: ResolvedTarget): string | undefined {
  const x = t.ns.target;
  if (x.kind === 'named') return `/var/run/netns/${x.name}`;
  if (x.kind === 'pid') return `/proc/${x.pid}/ns/net`;
  return x.kind === 'path' ? x.path : undefined;
}

/**
 * Why a capture on `t` cannot go on: its namespace was deleted (or its name is now another namespace),
 * or undefined while it is still there. One stat, cheap enough to ask every second.
 */
export async function namespaceGone(t: ResolvedTarget): Promise<string | undefined> {
  const file = namespaceFile(t);
  if (!file) return undefined;
  const inode = await stat(file).then(
    (s) => s.ino,
    () => undefined,
  );
  if (inode === t.ns.inode) return undefined;
  const what = inode === undefined ? 'was deleted' : 'was replaced by a new one';
  return `namespace "${t.ns.name}" ${what}: ${t.iface} went away with it`;
}

/**
 * `tcpdump -d`: the filter compiled to cBPF for this interface's link type, or tcpdump's own error.
 * The expression is one argv element after `--`, so a filter starting with `-` is never an option.
 */
export async function checkFilter(t: ResolvedTarget, filter: string): Promise<string> {
  const args = ['-d', '-i', t.iface, ...(filter.trim() ? ['--', filter] : [])];
  const r = await exec(inNetns(t.ns.target, 'tcpdump', args), { timeoutMs: 10_000 });
  if (r.code !== 0) {
    const why = r.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('('))
      .pop();
    const why1 = (why ?? `tcpdump exit ${r.code}`).replace(/^tcpdump: /, '');
    // tcpdump -d opens the interface for its link type, so a down or vanished device fails here too;
    // say so rather than blaming the filter.
    if (/device|interface|not up|permission/i.test(why1) && !/syntax|parse|filter|expression/i.test(why1)) {
      const detail = why1.replace(new RegExp(`^${t.iface}: `), '');
      throw new CaptureError(msg('err.capture.cannot', { iface: t.iface, ns: t.ns.name, detail }));
    }
    throw new CaptureError(msg('err.capture.badFilter', { detail: why1 }));
  }
  return r.stdout.trimEnd();
}

/**
 * Namespaces with their links, for the pickers: from the topology discovery (containers included) when
 * it answers within 3 s, else host + `ip netns` listed directly, in parallel, so a slow discovery (a
 * host with hundreds of namespaces under load) never leaves the panel without targets.
 */
export async function listTargets(): Promise<CaptureTarget[]> {
  const discovered = (async (): Promise<CaptureTarget[]> => {
    // Nearly fresh: a picker built from an older discovery can show a namespace without the veths
    // created since (the lab coming up, a new pod).
    const d = await getDiscovery(500);
    return d.topology.namespaces.map((n) => ({
      netns: n.name,
      ifaces: n.interfaces.map((i) => ({ name: i.name, kind: i.kind, up: i.up })),
    }));
  })().catch(() => [] as CaptureTarget[]);
  const timeout = new Promise<CaptureTarget[]>((r) => setTimeout(() => r([]), 3000).unref());
  const first = await Promise.race([discovered, timeout]);
  if (first.length) return first;
  const out = await Promise.all(
    (await namedNamespaces()).map(async (ns): Promise<CaptureTarget> => ({
      netns: ns.name,
      ifaces: await listLinks(ns).catch(() => []),
    })),
  );
  return out;
}
