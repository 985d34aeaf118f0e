// seed 003's teaching programs against the real kernel: pings through drop-all, xdp-drop and the
// blocklist, the CLI against bpftool, refusals that change nothing, and `lab down` leaving nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cli } from '../../../test/cli';
import type { LabProgAction, LabProgram } from '../../protocol/lab';
import { PIN_ROOT } from '../bpf';
import { labDown, labStatus, labUp } from '../lab';
import { HOST_LINKS, NODES, PODS } from '../spec';
import { readState } from '../state';
import { BLOCKLIST_PIN, BLOCKLIST_TC_PIN } from './blocklist';
import { ProgLoadError, labProg, listPrograms } from './index';
import { TC_HANDLE, VERIFIER_LOG } from './kernel';

const OUR_NAMES = ['drop_all', 'xdp_drop', 'blocklist', 'blocklist_tc'];
const sh = (argv: string[]): string => execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
const ip = (pod: string): string => PODS.find((p) => p.name === pod)?.ip ?? '';
/** One ping; true if answered within a second. */
const ping1 = (from: string, to: string): boolean =>
  spawnSync('nsenter', [`--net=/var/run/netns/${from}`, 'ping', '-c1', '-W1', '-q', to], { timeout: 5000 }).status ===
  0;
/** A ping expected to succeed, tried up to three times: right after a detach the neighbour entry the drop
 * left FAILED may need another ARP round, and this 2-vCPU machine is shared. A drop must hold on one try. */
function ping(from: string, to: string): boolean {
  for (let i = 0; i < 3; i++) if (ping1(from, to)) return true;
  return false;
}
const ns = (netns: string, argv: string[]): string[] =>
  netns === 'host' ? argv : ['nsenter', `--net=/var/run/netns/${netns}`, '--', ...argv];

interface BpftoolProg {
  id: number;
  name?: string;
  tag: string;
  type: string;
}
const ourLoaded = (): BpftoolProg[] =>
  (JSON.parse(sh(['bpftool', '--json', 'prog', 'show'])) as BpftoolProg[]).filter((p) =>
    OUR_NAMES.includes(p.name ?? ''),
  );

/** Programs go when their namespace or device is freed, which the kernel finishes asynchronously (~40 ms). */
async function waitNoneLoaded(): Promise<void> {
  const deadline = Date.now() + 5000;
  while (ourLoaded().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** Every device of the lab: its namespace and name. */
function labDevices(): { netns: string; dev: string }[] {
  const out = HOST_LINKS.map((dev) => ({ netns: 'host', dev }));
  for (const n of [...NODES.map((x) => x.name), ...PODS.map((x) => x.name)]) {
    const links = JSON.parse(sh(ns(n, ['ip', '-j', 'link', 'show']))) as { ifname: string }[];
    out.push(...links.map((l) => ({ netns: n, dev: l.ifname })));
  }
  return out;
}

/** What a teaching program could change: loaded programs, tc filters/qdiscs and XDP on lab devices, pins, the record. */
async function footprint(): Promise<string> {
  const devs = labDevices().map(({ netns, dev }) => {
    const run = (args: string[]): string => sh(ns(netns, args));
    const xdp = (JSON.parse(run(['ip', '-j', 'link', 'show', 'dev', dev])) as { xdp?: unknown }[])[0]?.xdp;
    return [
      `${netns}/${dev}`,
      run(['tc', 'qdisc', 'show', 'dev', dev]),
      run(['tc', 'filter', 'show', 'dev', dev, 'ingress']),
      run(['tc', 'filter', 'show', 'dev', dev, 'egress']),
      JSON.stringify(xdp ?? null),
    ];
  });
  const pins = existsSync(PIN_ROOT) ? sh(['ls', '-R', PIN_ROOT]) : 'none';
  const blocked = existsSync(BLOCKLIST_PIN) ? sh(['bpftool', 'map', 'dump', 'pinned', BLOCKLIST_PIN]) : '';
  const recorded = (await readState())?.programs ?? [];
  return JSON.stringify({ devs, progs: ourLoaded().map((p) => p.id), pins, blocked, recorded });
}

const attach = (program: LabProgram['program'], netns: string, iface: string, hook: LabProgram['hook']) =>
  labProg({ action: 'attach', program, netns, iface, hook });
const detach = (netns: string, iface: string, hook: LabProgram['hook']) =>
  labProg({ action: 'detach', netns, iface, hook });

describe('lab prog (real kernel)', () => {
  let bpffsBefore: string;
  let broken: string;

  beforeAll(async () => {
    await labDown();
    // After a down: a lab left up by someone else may own bpffs entries that its down removes.
    bpffsBefore = sh(['ls', '/sys/fs/bpf']);
    await labUp();
    // A drop-all and an xdp-drop that read the packet without a bounds check: the verifier must refuse them.
    broken = mkdtempSync(join(tmpdir(), 'pjt-progs-'));
    const src = join(broken, 'broken.bpf.c');
    execFileSync('sh', [
      '-c',
      `cat > ${src} <<'C'
#include "common.h"
SEC("tc") int drop_all(struct __sk_buff *skb) { return *(__u8 *)(long)skb->data; }
SEC("xdp") int xdp_drop(struct xdp_md *ctx) { return *(__u8 *)(long)ctx->data; }
char _license[] SEC("license") = "GPL";
C`,
    ]);
    // And a program that passes everything and ends the chain (TC_ACT_OK), standing in for a scenario's.
    execFileSync('sh', [
      '-c',
      `printf '%s\\n' '#include "common.h"' 'SEC("tc") int pass_ok(struct __sk_buff *s) { return TC_ACT_OK; }' 'char _license[] SEC("license") = "GPL";' > ${join(broken, 'pass.bpf.c')}`,
    ]);
    execFileSync('clang', [
      ...['-g', '-O2', '-target', 'bpf', `-I${ROOT}/probes/build`, `-I${ROOT}/probes/lab`],
      ...['-c', join(broken, 'pass.bpf.c'), '-o', join(broken, 'pass.bpf.o')],
    ]);
    for (const out of ['drop-all', 'xdp-drop'])
      execFileSync('clang', [
        ...['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', `-I${ROOT}/probes/build`, `-I${ROOT}/probes/lab`],
        ...['-c', src, '-o', join(broken, `${out}.bpf.o`)],
      ]);
  });
  afterAll(async () => {
    await labDown();
    rmSync(broken, { recursive: true, force: true });
  });

  it('drop-all on tc ingress and on tc egress stops a ping until detached', async () => {
    expect(ping('pod-a', ip('pod-b'))).toBe(true);
    for (const hook of ['tc-ingress', 'tc-egress'] as const) {
      const [p] = await attach('drop-all', 'node1', 'veth-pod-a', hook);
      expect(p).toMatchObject({ program: 'drop-all', name: 'drop_all', netns: 'node1', hook, mode: 'direct-action' });
      const shown = sh(ns('node1', ['tc', 'filter', 'show', 'dev', 'veth-pod-a', hook.slice(3)]));
      expect(shown).toMatch(new RegExp(`drop-all\\.bpf\\.o:\\[tc\\] direct-action .* id ${p?.id} name drop_all`));
      expect(ping1('pod-a', ip('pod-b'))).toBe(false);
      expect(await detach('node1', 'veth-pod-a', hook)).toEqual([]);
      expect(ping('pod-a', ip('pod-b'))).toBe(true);
    }
    // The clsact qdisc added for it went with it.
    expect(sh(ns('node1', ['tc', 'qdisc', 'show', 'dev', 'veth-pod-a']))).not.toContain('clsact');
  });

  it("runs before a scenario's own filter on the same hook, and leaves it in place", async () => {
    const tcIn = (args: string[]): string => sh(ns('node1', ['tc', ...args]));
    // A scenario's own filter at pref 1 handle 1 (ours sit elsewhere), as a datapath would place it.
    const scenarioFilter = (obj: string): string =>
      tcIn([
        'filter',
        'add',
        'dev',
        'veth-pod-a',
        'ingress',
        'pref',
        '1',
        'handle',
        '1',
        'bpf',
        'da',
        'obj',
        obj,
        'sec',
        'tc',
      ]);
    tcIn(['qdisc', 'add', 'dev', 'veth-pod-a', 'clsact']);
    scenarioFilter(join(broken, 'pass.bpf.o'));
    expect(ping('pod-a', ip('pod-b'))).toBe(true);
    await attach('drop-all', 'node1', 'veth-pod-a', 'tc-ingress');
    expect(ping1('pod-a', ip('pod-b'))).toBe(false);
    await detach('node1', 'veth-pod-a', 'tc-ingress');
    expect(ping('pod-a', ip('pod-b'))).toBe(true);
    const left = tcIn(['filter', 'show', 'dev', 'veth-pod-a', 'ingress']);
    expect(left).toContain('name pass_ok');
    expect(left).not.toContain('drop_all');
    tcIn(['qdisc', 'del', 'dev', 'veth-pod-a', 'clsact']);

    // A blocklist that lets a packet through gives no verdict: the scenario's program after it still decides.
    tcIn(['qdisc', 'add', 'dev', 'veth-pod-a', 'clsact']);
    const dropAll = join(ROOT, 'probes/build/lab/drop-all.bpf.o');
    scenarioFilter(dropAll);
    await attach('blocklist', 'node1', 'veth-pod-a', 'tc-ingress');
    expect(ping1('pod-a', ip('pod-b'))).toBe(false);
    await detach('node1', 'veth-pod-a', 'tc-ingress');
    tcIn(['qdisc', 'del', 'dev', 'veth-pod-a', 'clsact']);
    expect(ping('pod-a', ip('pod-b'))).toBe(true);
  });

  it('xdp-drop drops pings natively on a veth and generically on kind0', async () => {
    const [p] = await attach('xdp-drop', 'node2', 'veth-pod-c', 'xdp');
    expect(p).toMatchObject({ name: 'xdp_drop', mode: 'driver' });
    expect(ping1('pod-a', ip('pod-c'))).toBe(false);
    expect(ping('pod-a', ip('pod-d'))).toBe(true);
    await detach('node2', 'veth-pod-c', 'xdp');
    expect(ping('pod-a', ip('pod-c'))).toBe(true);

    // A bridge has no native XDP: the attach falls back to generic and says so.
    expect(ping('node1', '172.18.0.1')).toBe(true);
    const [k] = await attach('xdp-drop', 'host', 'kind0', 'xdp');
    expect(k).toMatchObject({ netns: 'host', iface: 'kind0', mode: 'generic' });
    expect(ping1('node1', '172.18.0.1')).toBe(false);
    await detach('host', 'kind0', 'xdp');
    expect(ping('node1', '172.18.0.1')).toBe(true);
  });

  it('blocklist drops only the listed source, at XDP and at tc, and unblock restores it', async () => {
    await attach('blocklist', 'node2', 'eth0', 'xdp');
    expect(ping('pod-a', ip('pod-c'))).toBe(true);
    await labProg({ action: 'block', ip: ip('pod-a') });
    expect(ping1('pod-a', ip('pod-c'))).toBe(false);
    expect(ping('pod-b', ip('pod-c'))).toBe(true);
    // The pinned map is what students dump: pod-a's address, with its drop counted.
    expect(sh(['bpftool', 'map', 'dump', 'pinned', BLOCKLIST_PIN])).toMatch(/key: 0a f4 01 02\s+value: 0[1-9]/);

    // The tc variant shares the map (pinned by name in tc's globals, reused by the loader).
    await detach('node2', 'eth0', 'xdp');
    expect(ping('pod-a', ip('pod-c'))).toBe(true);
    const [t] = await attach('blocklist', 'pod-c', 'eth0', 'tc-ingress');
    expect(t?.name).toBe('blocklist_tc');
    const maps = (JSON.parse(sh(['bpftool', '--json', 'prog', 'show', 'id', String(t?.id)])) as { map_ids: number[] })
      .map_ids;
    const pinned = JSON.parse(sh(['bpftool', '--json', 'map', 'show', 'pinned', BLOCKLIST_PIN])) as { id: number };
    expect(maps).toContain(pinned.id);
    expect(ping1('pod-a', ip('pod-c'))).toBe(false);
    expect(ping('pod-b', ip('pod-c'))).toBe(true);
    await labProg({ action: 'unblock', ip: ip('pod-a') });
    expect(ping('pod-a', ip('pod-c'))).toBe(true);
    expect(sh(['bpftool', 'map', 'dump', 'pinned', BLOCKLIST_PIN])).toContain('Found 0 elements');
    await detach('pod-c', 'eth0', 'tc-ingress');
  });

  it('list --json matches bpftool prog, and drops a record the kernel no longer has', async () => {
    await attach('drop-all', 'pod-b', 'eth0', 'tc-egress');
    await attach('blocklist', 'host', 'veth-node2', 'tc-ingress');
    await attach('xdp-drop', 'pod-d', 'eth0', 'xdp');
    const r = cli(['lab', 'prog', 'list', '--json']);
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout) as LabProgram[];
    const loaded = ourLoaded();
    expect(listed.map((p) => p.id).sort()).toEqual(loaded.map((p) => p.id).sort());
    for (const p of listed) expect(loaded.find((l) => l.id === p.id)).toMatchObject({ name: p.name, tag: p.tag });
    expect((await labStatus()).programs).toHaveLength(3);
    const table = cli(['lab', 'prog', 'list']).stdout;
    expect(table).toMatch(/^ID\s+NAME\s+TAG\s+PROGRAM\s+ATTACHED TO\s+MODE$/m);
    expect(table).toMatch(/\d+\s+xdp_drop\s+[0-9a-f]{16}\s+xdp-drop\s+pod-d\/eth0 xdp\s+driver/);

    // Removed behind the lab's back: the listing follows the kernel.
    sh(ns('pod-b', ['tc', 'filter', 'del', 'dev', 'eth0', 'egress', 'pref', '1', 'handle', TC_HANDLE, 'bpf']));
    expect((await listPrograms()).map((p) => p.program).sort()).toEqual(['blocklist', 'xdp-drop']);
    expect((await readState())?.programs).toHaveLength(2);
  });

  it('refuses bad input in one line and changes nothing', async () => {
    const before = await footprint();
    const refusals: [LabProgAction, RegExp][] = [
      [
        { action: 'attach', program: 'drop-all', netns: 'pjt-nope', iface: 'eth0', hook: 'tc-ingress' },
        /not one of the lab's namespaces/,
      ],
      [
        { action: 'attach', program: 'drop-all', netns: 'host', iface: 'lo', hook: 'tc-ingress' },
        /not one of the lab's host links/,
      ],
      [
        { action: 'attach', program: 'drop-all', netns: 'node1', iface: 'eth9', hook: 'tc-ingress' },
        /node1 has no interface "eth9": it has .*eth0/,
      ],
      [
        { action: 'attach', program: 'drop-all', netns: 'node1', iface: 'eth0', hook: 'xdp' },
        /drop-all cannot attach to xdp/,
      ],
      [
        { action: 'attach', program: 'xdp-drop', netns: 'node1', iface: 'eth0', hook: 'tc-egress' },
        /xdp-drop cannot attach to tc-egress/,
      ],
      [
        { action: 'attach', program: 'blocklist', netns: 'pod-d', iface: 'eth0', hook: 'xdp' },
        /already has xdp-drop \(id \d+\); detach it first/,
      ],
      [
        { action: 'detach', netns: 'node1', iface: 'eth0', hook: 'tc-ingress' },
        /no teaching program is attached to node1\/eth0 tc-ingress/,
      ],
      [{ action: 'block', ip: '10.244.1' }, /not an IPv4 address/],
      [{ action: 'unblock', ip: '10.9.9.9' }, /10\.9\.9\.9 is not in the blocklist/],
    ];
    for (const [action, msg] of refusals) {
      const err = await labProg(action).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message, JSON.stringify(action)).toMatch(msg);
      expect(err?.message.includes('\n')).toBe(false);
    }
    for (const args of [
      ['attach', 'drop-everything', '--netns', 'node1', '--iface', 'eth0'],
      ['attach', 'drop-all', '--netns', 'node1', '--iface', 'eth0', '--hook', 'tc-sideways'],
    ]) {
      const r = cli(['lab', 'prog', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/unknown program "drop-everything"|--hook must be one of tc-ingress\|tc-egress\|xdp/);
    }
    expect(await footprint()).toBe(before);
  });

  it("keeps and shows the verifier's log when the kernel refuses a program, and changes nothing", async () => {
    const before = await footprint();
    process.env.PJ_LAB_PROG_DIR = broken;
    try {
      for (const [program, hook] of [
        ['drop-all', 'tc-ingress'],
        ['xdp-drop', 'xdp'],
      ] as const) {
        rmSync(VERIFIER_LOG, { force: true });
        const err = await attach(program, 'node1', 'veth-pod-b', hook).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ProgLoadError);
        const e = err as ProgLoadError;
        expect(e.message).toMatch(
          /^the verifier refused .*: invalid access to packet, off=0 size=1.*: R1 offset is outside of the packet \(full log, \d+ lines: .*verifier\.log/,
        );
        expect(e.message.includes('\n')).toBe(false);
        expect(e.verifierLog).toMatch(/R1 offset is outside of the packet/);
        expect(sh(['cat', VERIFIER_LOG])).toContain(e.verifierLog);
      }
      // The CLI prints the whole log with --verbose, the one-line error last.
      const r = cli(['lab', 'prog', 'attach', 'drop-all', '--netns', 'pod-a', '--iface', 'eth0', '--verbose']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/processed \d+ insns/);
      expect(r.stderr.trim().split('\n').pop()).toMatch(/the verifier refused drop-all \(drop_all\) on pod-a\/eth0/);
    } finally {
      delete process.env.PJ_LAB_PROG_DIR;
    }
    expect(await footprint()).toBe(before);
  });

  it('a scenario switch removes them, whether or not the new scenario comes up', async () => {
    await attach('drop-all', 'pod-a', 'eth0', 'tc-ingress');
    await attach('blocklist', 'host', 'kind0', 'xdp');
    expect(ourLoaded().length).toBeGreaterThanOrEqual(2);
    // The switch begins with a full down, so this holds even if the new scenario failed to come up.
    await labUp({ scenario: 'dsr' }).catch(() => undefined);
    await waitNoneLoaded();
    expect(ourLoaded()).toEqual([]);
    expect(existsSync(BLOCKLIST_PIN)).toBe(false);
    expect((await readState())?.programs ?? []).toEqual([]);
    await labUp();
  });

  it('lab down removes every program, filter and pin', async () => {
    await attach('drop-all', 'pod-a', 'eth0', 'tc-ingress');
    await attach('blocklist', 'host', 'kind0', 'xdp');
    await labProg({ action: 'block', ip: '172.18.0.2' });
    expect(ourLoaded()).toHaveLength(2);
    expect(existsSync(BLOCKLIST_TC_PIN)).toBe(true);
    await labDown();
    await waitNoneLoaded();
    expect(ourLoaded()).toEqual([]);
    expect(existsSync(PIN_ROOT)).toBe(false);
    expect(existsSync(BLOCKLIST_TC_PIN)).toBe(false);
    expect(sh(['ls', '/sys/fs/bpf'])).toBe(bpffsBefore);
    for (const l of HOST_LINKS) expect(spawnSync('ip', ['link', 'show', l]).status).not.toBe(0);
    // Not up: refused, not attempted.
    await expect(attach('drop-all', 'pod-a', 'eth0', 'tc-ingress')).rejects.toThrow(/the lab is not up/);
  });
});
