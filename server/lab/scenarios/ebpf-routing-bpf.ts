// ebpf-routing's programs on the nodes: loading them under Cilium's object names, and filling their maps.
// tc prints the object's file name (`bpf_lxc.o:[from-container]`), so the built bpf_lxc.bpf.o is copied as
// bpf_lxc.o before load. Maps: `endpoints` is private to each loaded program and filled per node; the
// pj_er_* maps are pinned by name by tc (recorded in owned.pins first) and shared by all of them.
import { z } from 'zod';
import { execOk } from '../../sys/exec';
import { LOADER_DIRS, TC_GLOBALS, bpftoolJson, recordAbsent } from '../bpf';
import { LabError } from '../errors';
import { CLUSTER_CIDR, SERVICE, type PodSpec } from '../spec';
import type { Owned } from '../state';
import { lxcMac, lxcName } from './ebpf-routing-wiring';

export const PINNED_MAPS = ['pj_er_services', 'pj_er_backends', 'pj_er_revnat', 'pj_er_cfg'] as const;

/** Records every bpffs path tc may create for this scenario, before any load creates it. */
export async function recordPins(owned: Owned): Promise<void> {
  await recordAbsent(owned, [...LOADER_DIRS, ...PINNED_MAPS.map((m) => `${TC_GLOBALS}/${m}`)]);
}

const Link = z.object({ ifname: z.string(), ifindex: z.number().int(), address: z.string().optional() });

/** ifindex of each link in a namespace. */
export async function ifindexes(netns: string): Promise<Map<string, number>> {
  const links = z.array(Link).parse(JSON.parse(await execOk(['ip', '-n', netns, '-j', 'link', 'show'])));
  return new Map(links.map((l) => [l.ifname, l.ifindex]));
}

const ProgShow = z.array(z.object({ id: z.number().int(), map_ids: z.array(z.number().int()).default([]) }));
const MapShow = z.array(z.object({ id: z.number().int(), name: z.string().default('') }));

/** The private `endpoints` map of each program id. */
export async function endpointMaps(progIds: readonly number[]): Promise<Map<number, number>> {
  const [progs, maps] = await Promise.all([bpftoolJson(['prog', 'show']), bpftoolJson(['map', 'show'])]);
  const nameOf = new Map(MapShow.parse(maps).map((m) => [m.id, m.name]));
  const out = new Map<number, number>();
  for (const p of ProgShow.parse(progs)) {
    if (!progIds.includes(p.id)) continue;
    const m = p.map_ids.find((id) => nameOf.get(id) === 'endpoints');
    if (m === undefined) throw new LabError(`program ${p.id} has no endpoints map`);
    out.set(p.id, m);
  }
  for (const id of progIds) if (!out.has(id)) throw new LabError(`program ${id} vanished after load`);
  return out;
}

// Byte layouts of probes/lab/ebpf_routing.h's structs (x86: integers little-endian, addresses and ports
// in network order).
const hex = (b: readonly number[]): string => b.map((x) => x.toString(16).padStart(2, '0')).join(' ');
const ip4 = (ip: string): number[] => ip.split('.').map(Number);
const be16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const le16 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff];
const le32 = (n: number): number[] => [...le16(n & 0xffff), ...le16(n >>> 16)];
const mac = (m: string): number[] => m.split(':').map((x) => parseInt(x, 16));
const update = (map: string, key: number[], value: number[]): string =>
  `map update ${map} key hex ${hex(key)} value hex ${hex(value)}`;

/** The cluster-wide maps: the CIDR that is pod-to-pod, and the echo service with its backends. */
export function sharedMapLines(): string[] {
  const [net = '', bits = '0'] = CLUSTER_CIDR.split('/');
  const m = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  const mask = [m >>> 24, (m >>> 16) & 0xff, (m >>> 8) & 0xff, m & 0xff];
  const pinned = (name: string): string => `pinned ${TC_GLOBALS}/${name}`;
  const IPPROTO_TCP = 6;
  return [
    ...SERVICE.endpoints.map((e, i) =>
      update(pinned('pj_er_backends'), le32(i), [...ip4(e.ip), ...be16(e.port), 0, 0]),
    ),
    update(
      pinned('pj_er_services'),
      [...ip4(SERVICE.clusterIP), ...be16(SERVICE.port), IPPROTO_TCP, 0],
      [...le16(SERVICE.endpoints.length), ...le16(0)],
    ),
    // Last: until the CIDR is set the programs pass everything to the stack.
    update(pinned('pj_er_cfg'), le32(0), [...ip4(net), ...mask]),
  ];
}

/** One node's endpoints, written into one program's private map. */
export function endpointLines(mapId: number, pods: readonly PodSpec[], links: ReadonlyMap<string, number>): string[] {
  return pods.map((p) => {
    const ifindex = links.get(lxcName(p.name));
    if (ifindex === undefined) throw new LabError(`${p.node} has no ${lxcName(p.name)} for ${p.name}`);
    return update(`id ${mapId}`, ip4(p.ip), [...le32(ifindex), ...mac(p.mac), ...mac(lxcMac(p.name))]);
  });
}

/** Runs bpftool commands in one process. */
export async function bpftoolBatch(lines: readonly string[]): Promise<void> {
  await execOk(['bpftool', 'batch', 'file', '-'], { input: lines.join('\n') + '\n' });
}
