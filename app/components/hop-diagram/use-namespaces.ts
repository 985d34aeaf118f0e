'use client';
// Where a packet can start or end: the lab's namespaces (the `lab` watch) and, when the topology
// capability answers, every namespace it discovered (containers, plain netns…).
import { tx } from '../../i18n/current';
import { useMemo } from 'react';
import { useTopology } from '../../lib/topology';
import { useWatch } from '../../lib/watch';

export interface NsChoice {
  readonly name: string;
  readonly role: 'host' | 'node' | 'pod' | 'container' | 'netns';
  /** eth0's address (lab) or the first IPv4 address the topology saw. */
  readonly addr?: string;
  readonly node?: string;
  readonly present: boolean;
  readonly fromLab: boolean;
}

export interface Service {
  readonly name: string;
  readonly clusterIP: string;
  /** The dual-stack lab's IPv6 ClusterIP. */
  readonly clusterIP6?: string;
  readonly port: number;
}

export function useNamespaces(): {
  choices: readonly NsChoice[];
  services: readonly Service[];
  labUp: boolean | undefined;
} {
  const lab = useWatch('lab').state;
  const topo = useTopology().state;

  const choices = useMemo(() => {
    const out: NsChoice[] = [];
    for (const n of lab?.namespaces ?? []) {
      out.push({
        name: n.name,
        role: n.role,
        addr: n.addr,
        ...(n.node && { node: n.node }),
        present: n.present,
        fromLab: true,
      });
    }
    for (const n of topo?.namespaces ?? []) {
      if (out.some((c) => c.name === n.name)) continue;
      const addr = n.interfaces
        .filter((i) => i.kind !== 'loopback')
        .flatMap((i) => i.addrs)
        .find((a) => /^\d+\.\d+\.\d+\.\d+\//.test(a));
      out.push({
        name: n.name,
        role: n.kind,
        ...(addr && { addr }),
        ...(n.node && { node: n.node }),
        present: true,
        fromLab: false,
      });
    }
    return out;
  }, [lab, topo]);

  const services = useMemo(
    () =>
      (lab?.services ?? []).map((s) => ({
        name: s.name,
        clusterIP: s.clusterIP,
        ...(s.clusterIP6 && { clusterIP6: s.clusterIP6 }),
        port: s.port,
      })),
    [lab],
  );
  return { choices, services, labUp: lab?.up };
}

/** Lane subtitles: `pod on node1 · 10.244.1.2/24`. */
export function laneInfoOf(choices: readonly NsChoice[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of choices) {
    const role = c.role === 'pod' && c.node ? tx('hopDiagram.useNamespaces.podOn', { node: c.node }) : c.role;
    out[c.name] = c.addr ? `${role} · ${c.addr}` : role;
  }
  return out;
}
