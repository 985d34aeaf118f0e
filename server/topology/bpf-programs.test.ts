// Attached BPF programs in the topology, against the real kernel: a tc filter and an XDP program on a veth
// in namespaces this file creates (pjt-bpf-*), and a cgroup connect4 program on an empty child cgroup
// (no process in it, so no socket on the machine is affected). Parsers on recorded bpftool/tc output.
// Run under the lab lock: `flock /tmp/pj-lab.lock npx vitest run server/topology/bpf-programs.test.ts`.
import { readFile, rm, rmdir, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from '../protocol/topology';
import { exec, execOk } from '../sys/exec';
import {
  cgroup2RootOf,
  parseCgroupTree,
  parseNetShow,
  isCgroupProg,
  isTcProg,
  parseProgShow,
  parseTcFilters,
} from './bpf-parse';
import { createProgramReader, programsAt } from './bpf-programs';
import { discover } from './discover';
import { formatTree } from './format';
import { parseLinks } from './iproute';

const A = 'pjt-bpf-a';
const B = 'pjt-bpf-b';
const OBJ = join(__dirname, '../../probes/build/lab');
const PIN = '/sys/fs/bpf/pjt-bpf-cg';
let cgDir: string | undefined;

const inA = (cmd: string, ...a: string[]) => execOk(['nsenter', `--net=/var/run/netns/${A}`, '--', cmd, ...a]);

async function progById(id: number): Promise<{ name: string; tag: string }> {
  const p = JSON.parse(await execOk(['bpftool', '--json', 'prog', 'show', 'id', String(id)])) as {
    name: string;
    tag: string;
  };
  return { name: p.name, tag: p.tag };
}

async function cleanup(): Promise<void> {
  if (cgDir) await exec(['bpftool', 'cgroup', 'detach', cgDir, 'connect4', 'pinned', `${PIN}/sock_lb_connect`]);
  await rm(PIN, { recursive: true, force: true });
  if (cgDir) await rmdir(cgDir).catch(() => undefined);
  for (const n of [A, B]) await exec(['ip', 'netns', 'del', n]);
}

beforeAll(async () => {
  await cleanup();
  await execOk(['ip', 'netns', 'add', A]);
  await execOk(['ip', 'netns', 'add', B]);
  await execOk(['ip', '-n', A, 'link', 'add', 'veth-a', 'type', 'veth', 'peer', 'name', 'veth-b', 'netns', B]);
  await execOk(['ip', '-n', A, 'link', 'set', 'veth-a', 'up']);
  await execOk(['ip', '-n', B, 'link', 'set', 'veth-b', 'up']);
});
afterAll(cleanup);

const ifaceOf = (t: Topology, ns: string, ifname: string) =>
  t.namespaces.find((n) => n.name === ns)?.interfaces.find((f) => f.name === ifname);

describe('device programs on a real veth', () => {
  it('reports a tc filter and an XDP program with bpftool’s id, name and tag, and drops them on detach', async () => {
    const reader = createProgramReader();
    const before = await discover({ programs: reader });
    expect(ifaceOf(before.topology, A, 'veth-a')?.programs).toBeUndefined();

    await inA('tc', 'qdisc', 'add', 'dev', 'veth-a', 'clsact');
    await inA(
      'tc',
      'filter',
      'add',
      'dev',
      'veth-a',
      'ingress',
      'pref',
      '7',
      'bpf',
      'da',
      'obj',
      `${OBJ}/drop-all.bpf.o`,
      'sec',
      'tc',
    );
    await inA('ip', 'link', 'set', 'dev', 'veth-a', 'xdpgeneric', 'obj', `${OBJ}/xdp-drop.bpf.o`, 'sec', 'xdp');

    const t = (await discover({ programs: reader })).topology;
    expect(Topology.safeParse(t).success).toBe(true);
    const progs = ifaceOf(t, A, 'veth-a')?.programs ?? [];
    expect(progs.map((p) => p.hook)).toEqual(['xdp', 'tc-ingress']);
    const [xdp, tc] = progs;
    expect(xdp).toMatchObject({ ...(await progById(xdp?.id ?? -1)), name: 'xdp_drop', mode: 'generic' });
    expect(tc).toMatchObject({
      ...(await progById(tc?.id ?? -1)),
      name: 'drop_all',
      mode: 'direct-action drop-all.bpf.o:[tc]',
      pref: 7,
    });
    expect(tc?.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(ifaceOf(t, B, 'veth-b')?.programs).toBeUndefined();
    expect(programsAt(t, A, 'veth-a', 'tc-ingress').map((p) => p.name)).toEqual(['drop_all']);
    expect(programsAt(t, A, 'veth-a').length).toBe(2);
    expect(programsAt(t, A, 'nope')).toEqual([]);
    expect(formatTree(t)).toContain(`bpf tc-ingress drop_all id ${tc?.id} tag ${tc?.tag} direct-action`);

    // Nothing changed: only the namespace with programs is read again, every other one is reused.
    const again = await discover({ programs: reader });
    expect(programsAt(again.topology, A, 'veth-a')).toEqual(progs);
    const entries = [...again.targets.values()];
    expect(entries.length).toBeGreaterThan(2);
    // (A reader whose rotating slice practically never comes round: only A, at most one more.)
    const lone = createProgramReader({ slices: 1e9 });
    await lone.read(entries);
    expect((await lone.read(entries)).readNamespaces).toBeLessThanOrEqual(2);

    // A detach frees the program (new id set), so the very next discovery sees it gone.
    await inA('tc', 'filter', 'del', 'dev', 'veth-a', 'ingress', 'pref', '7');
    const after = (await discover({ programs: reader })).topology;
    expect(programsAt(after, A, 'veth-a').map((p) => p.hook)).toEqual(['xdp']);
    await inA('ip', 'link', 'set', 'dev', 'veth-a', 'xdpgeneric', 'off');
    expect(ifaceOf((await discover({ programs: reader })).topology, A, 'veth-a')?.programs).toBeUndefined();
  });
});

describe('tcx programs (bpftool 7.1 lists none; probes/build/tcx does)', () => {
  const pins = '/sys/fs/bpf/pjt-bpf-tcx';
  afterAll(() => rm(pins, { recursive: true, force: true }));

  it('shows a tcx ingress program on its device, and drops it once its link is gone', async () => {
    const reader = createProgramReader();
    await mkdir(pins, { recursive: true });
    await execOk(['bpftool', 'prog', 'load', `${OBJ}/drop-all.bpf.o`, `${pins}/prog`]);
    const tcx = join(__dirname, '../../probes/build/tcx');
    await execOk([tcx, 'attach', `/var/run/netns/${B}`, 'veth-b', 'ingress', `${pins}/prog`, `${pins}/link`]);
    const t = (await discover({ programs: reader })).topology;
    const progs = ifaceOf(t, B, 'veth-b')?.programs ?? [];
    expect(progs).toEqual([expect.objectContaining({ name: 'drop_all', hook: 'tcx-ingress' })]);
    expect(progs[0]).toMatchObject(await progById(progs[0]?.id ?? -1));
    expect(formatTree(t)).toContain(`bpf tcx-ingress drop_all id ${progs[0]?.id}`);
    // Removing both pins frees link and program: the changed id set makes the next read see it gone.
    await rm(pins, { recursive: true, force: true });
    expect(ifaceOf((await discover({ programs: reader })).topology, B, 'veth-b')?.programs).toBeUndefined();
  });
});

describe('cgroup programs', () => {
  it('lists a connect4 program with its attach type and cgroup path', async () => {
    const root = cgroup2RootOf(await readFile('/proc/self/mounts', 'utf8'));
    expect(root).toBeDefined();
    cgDir = `${root}/pjt-bpf-cg`;
    await mkdir(cgDir, { recursive: true });
    await execOk(['bpftool', 'prog', 'loadall', `${OBJ}/sock-lb.bpf.o`, PIN]);
    await execOk(['bpftool', 'cgroup', 'attach', cgDir, 'connect4', 'pinned', `${PIN}/sock_lb_connect`]);
    const t = (await discover({ programs: createProgramReader() })).topology;
    expect(t.cgroupPrograms).toContainEqual(
      expect.objectContaining({ name: 'sock_lb_connect', attachType: 'connect4', cgroup: '/pjt-bpf-cg' }),
    );
  });
});

describe('parsers (recorded output, bpftool 7.1 / iproute2 6.1)', () => {
  it('bpftool net show: tc and XDP per device', () => {
    const out =
      '[{"xdp":[{"devname":"v1","ifindex":2,"mode":"generic","id":14862}],"tc":[{"devname":"v1","ifindex":2,' +
      '"kind":"clsact/ingress","name":"drop-all.bpf.o:[tc]","id":14857},{"devname":"v1","ifindex":2,' +
      '"kind":"clsact/egress","id":9}],"flow_dissector":[]}]\n';
    expect(parseNetShow(out)).toEqual([
      { ifname: 'v1', hook: 'tc-ingress', id: 14857, detail: 'drop-all.bpf.o:[tc]' },
      { ifname: 'v1', hook: 'tc-egress', id: 9 },
      { ifname: 'v1', hook: 'xdp', id: 14862, detail: 'generic' },
    ]);
    expect(parseNetShow('not json')).toBeUndefined();
  });
  it('ip -d link: XDP from the batch, one per mode when several are attached', () => {
    const prog = (id: number, name: string) => ({ id, name, tag: `t${id}`, jited: 1 });
    const links = [
      {
        ifindex: 2,
        ifname: 'a',
        flags: ['UP'],
        xdp: { mode: 2, prog: prog(7, 'xdp_drop'), attached: [{ mode: 2, prog: prog(7, 'xdp_drop') }] },
      },
      {
        ifindex: 3,
        ifname: 'b',
        flags: ['UP'],
        xdp: {
          mode: 4,
          attached: [
            { mode: 2, prog: prog(8, 'g') },
            { mode: 1, prog: prog(9, 'n') },
          ],
        },
      },
      { ifindex: 4, ifname: 'c', flags: ['UP'] },
    ];
    const got = parseLinks(JSON.stringify(links))?.interfaces.map((f) => [f.name, f.programs]);
    expect(got).toEqual([
      ['a', [{ id: 7, name: 'xdp_drop', tag: 't7', hook: 'xdp', mode: 'generic' }]],
      [
        'b',
        [
          { id: 8, name: 'g', tag: 't8', hook: 'xdp', mode: 'generic' },
          { id: 9, name: 'n', tag: 't9', hook: 'xdp', mode: 'driver' },
        ],
      ],
      ['c', undefined],
    ]);
  });
  it('tc -j -b: one array per hook; non-BPF filters left out', () => {
    const out =
      '[{"protocol":"all","pref":1,"kind":"bpf","chain":0},{"protocol":"all","pref":1,"kind":"bpf","chain":0,' +
      '"options":{"handle":"0x3003","bpf_name":"drop-all.bpf.o:[tc]","direct-action":true,"prog":{"id":14857,' +
      '"name":"drop_all","tag":"614b434cd8324ecc","jited":1}}}]\n[]\n[{"pref":2,"kind":"u32","options":{}}]\n';
    expect(parseTcFilters(out)).toEqual([
      [{ id: 14857, pref: 1, directAction: true, bpfName: 'drop-all.bpf.o:[tc]' }],
      [],
      [],
    ]);
  });
  it('cgroup tree: libbpf attach names shortened, paths under the root', () => {
    const out =
      '[{"cgroup":"/sys/fs/cgroup/unified","programs":[{"id":5,"attach_type":"cgroup_inet4_connect",' +
      '"attach_flags":"multi","name":"sock_lb_connect"},{"id":6,"attach_type":"cgroup_udp4_sendmsg",' +
      '"attach_flags":"","name":"sock_lb_sendmsg"}]},{"cgroup":"/sys/fs/cgroup/unified/x","programs":' +
      '[{"id":7,"attach_type":"cgroup_device","attach_flags":"","name":"d"}]}]';
    expect(parseCgroupTree(out, '/sys/fs/cgroup/unified')).toEqual([
      { id: 5, name: 'sock_lb_connect', attachType: 'connect4', cgroup: '/' },
      { id: 6, name: 'sock_lb_sendmsg', attachType: 'sendmsg4', cgroup: '/' },
      { id: 7, name: 'd', attachType: 'device', cgroup: '/x' },
    ]);
  });
  it('prog show: tc-capable and cgroup programs told apart', () => {
    const a = parseProgShow(
      '[{"id":3,"type":"tracing","name":"t","tag":"aa"},{"id":9,"type":"sched_cls","name":"c","tag":"bb"},' +
        '{"id":4,"type":32,"name":"nf"},{"id":5,"type":"cgroup_sock_addr","name":"s","tag":"cc"}]',
    );
    const all = [...(a?.values() ?? [])];
    expect(all.filter(isTcProg).map((p) => p.id)).toEqual([9]);
    expect(all.filter(isCgroupProg).map((p) => p.id)).toEqual([5]);
    expect(a?.get(4)?.type).toBe('32');
    expect(
      cgroup2RootOf('cgroup /sys/fs/cgroup/net_cls cgroup rw 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n'),
    ).toBe('/sys/fs/cgroup/unified');
  });
});
