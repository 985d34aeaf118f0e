// Integration tests on real namespaces this file creates (pjt-topo-*), plus the lab's acceptance checks.
// Run under the lab lock: `flock /tmp/pj-lab.lock npx vitest run server/topology`.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from '../protocol/topology';
import { labUp, labSpec } from '../lab';
import { exec, execOk } from '../sys/exec';
import { discoverTopology, findNamespace, nameForInode, nameForInodeCached, watchTopology } from './index';

const P = 'pjt-topo-';
const NODE = `${P}node`;
const PODS = [`${P}p1`, `${P}p2`];
const GHOSTS = Array.from({ length: 20 }, (_, i) => `${P}g${i}`);
let sleeper: ChildProcess | undefined;
let sandbox: ChildProcess | undefined;
let binDir: string | undefined;

/** Waits until `pid` has left the host's network namespace (unshare is done). */
async function waitOwnNetns(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const l = await readlink(`/proc/${pid}/ns/net`).catch(() => '');
    if (l && l !== (await readlink('/proc/self/ns/net'))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`pid ${pid} never got its own netns`);
}

const ip = (...a: string[]) => execOk(['ip', ...a]);
const find = (t: Topology, n: string) => t.namespaces.find((x) => x.name === n);

async function cleanup(): Promise<void> {
  if (sleeper?.pid && sleeper.exitCode === null) sleeper.kill('SIGKILL');
  if (sandbox?.pid && sandbox.exitCode === null) sandbox.kill('SIGKILL');
  if (binDir) await rm(binDir, { recursive: true, force: true });
  const names = (await exec(['ip', 'netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(P));
  for (const n of names) await exec(['ip', 'netns', 'del', n]);
}

beforeAll(async () => {
  await cleanup();
  await ip('netns', 'add', NODE);
  await ip('-n', NODE, 'link', 'add', 'cni0', 'type', 'bridge');
  await ip('-n', NODE, 'addr', 'add', '10.250.1.1/24', 'dev', 'cni0');
  await ip('-n', NODE, 'link', 'set', 'cni0', 'up');
  for (const [i, p] of PODS.entries()) {
    await ip('netns', 'add', p);
    await ip('-n', NODE, 'link', 'add', `veth-p${i + 1}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p);
    await ip('-n', NODE, 'link', 'set', `veth-p${i + 1}`, 'master', 'cni0', 'up');
    await ip('-n', p, 'addr', 'add', `10.250.1.${i + 2}/24`, 'dev', 'eth0');
    await ip('-n', p, 'link', 'set', 'eth0', 'up');
    await ip('-n', p, 'link', 'set', 'lo', 'up');
  }
  // A namespace only a process holds (no `ip netns` name), wired into the node's bridge like a pod.
  sleeper = spawn('unshare', ['--net', 'sleep', '300'], { stdio: 'ignore' });
  const pid = sleeper.pid;
  if (pid === undefined) throw new Error('unshare did not start');
  await waitOwnNetns(pid);
  await ip('-n', NODE, 'link', 'add', 'veth-proc', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(pid));
  await ip('-n', NODE, 'link', 'set', 'veth-proc', 'master', 'cni0', 'up');

  // A Kubernetes-style pod sandbox: a process called `pause` in its own net+UTS namespaces.
  binDir = await mkdtemp(join(tmpdir(), `${P}bin-`));
  await copyFile('/bin/sleep', join(binDir, 'pause'));
  await chmod(join(binDir, 'pause'), 0o755);
  sandbox = spawn('unshare', ['--net', '--uts', '--', 'sh', '-c', `hostname ${P}sandbox && exec ${binDir}/pause 300`], {
    stdio: 'ignore',
  });
  if (sandbox.pid === undefined) throw new Error('unshare did not start');
  await waitOwnNetns(sandbox.pid);
  for (let i = 0; i < 100 && (await readFile(`/proc/${sandbox.pid}/comm`, 'utf8')).trim() !== 'pause'; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
});

afterAll(cleanup);

describe('discovery on pjt-topo namespaces', () => {
  it('finds named and process namespaces, peers, masters and kinds', async () => {
    const t = await discoverTopology();
    const node = find(t, NODE);
    expect(node?.kind).toBe('node');
    const p1 = find(t, PODS[0]!);
    expect(p1?.kind).toBe('pod');
    expect(p1?.node).toBe(NODE);
    expect(p1?.interfaces.find((f) => f.name === 'eth0')?.peer).toEqual({ netns: NODE, ifname: 'veth-p1' });
    expect(node?.interfaces.find((f) => f.name === 'veth-p1')).toMatchObject({
      master: 'cni0',
      peer: { netns: PODS[0], ifname: 'eth0' },
    });
    expect(node?.fdb?.some((e) => e.port === 'veth-p1' && e.local)).toBe(true);

    // The process namespace is named after its process and inode, and resolvable by that name.
    const ino = Number(/\d+/.exec(await readlink(`/proc/${sleeper?.pid}/ns/net`))?.[0]);
    const proc = t.namespaces.find((n) => n.inode === ino);
    expect(proc?.name).toBe(`sleep-${ino}`);
    expect(proc?.kind).toBe('pod');
    expect(proc?.interfaces.find((f) => f.name === 'eth0')?.peer).toEqual({ netns: NODE, ifname: 'veth-proc' });
    const ref = await findNamespace(`sleep-${ino}`);
    expect(ref?.inode).toBe(ino);
    expect(ref?.target.kind).toBe('pid');
    const inside = await execOk([
      'nsenter',
      `--net=/proc/${sleeper?.pid}/ns/net`,
      '--',
      'ip',
      '-j',
      'link',
      'show',
      'eth0',
    ]);
    expect(inside).toContain('eth0');

    expect(await nameForInode(ino)).toBe(`sleep-${ino}`);
    expect(nameForInodeCached(node?.inode ?? -1)).toBe(NODE);
    expect(await findNamespace('no-such-namespace')).toBeUndefined();
    expect(await findNamespace('../etc')).toBeUndefined();
    expect(t.namespaces.filter((n) => n.inode === ino)).toHaveLength(1); // deduplicated by inode
  });

  it('names a pod sandbox (a `pause` process) by its UTS hostname', async () => {
    const t = await discoverTopology();
    const sb = find(t, `${P}sandbox`);
    expect(sb).toMatchObject({ kind: 'pod', hostname: `${P}sandbox`, pid: sandbox?.pid });
    expect((await findNamespace(`${P}sandbox`))?.target).toEqual({ kind: 'pid', pid: sandbox?.pid });
  });
});

describe('discovery while namespaces come and go', () => {
  it('skips namespaces that vanish mid-discovery', async () => {
    for (const g of GHOSTS) await ip('netns', 'add', g);
    const running = discoverTopology();
    await Promise.all(GHOSTS.map((g) => exec(['ip', 'netns', 'del', g])));
    const t = await running;
    expect(find(t, NODE)).toBeDefined();
    expect(t.warnings.filter((w) => w.startsWith(`${P}g`))).toEqual([]);
    const after = await discoverTopology();
    expect(after.namespaces.filter((n) => n.name.startsWith(`${P}g`))).toEqual([]);
  });

  it('skips a namespace that is gone by the time iproute2 enters it (deterministic)', async () => {
    // A name left in /var/run/netns with no namespace behind it: enumeration sees it, nsenter cannot enter
    // it, as when a namespace is deleted between the two. The batch runner falls back and skips it.
    const stale = `/var/run/netns/${P}stale`;
    await writeFile(stale, '');
    try {
      const t = await discoverTopology();
      expect(find(t, `${P}stale`)).toBeUndefined();
      expect(t.warnings.filter((w) => w.includes('stale'))).toEqual([]);
      expect(find(t, NODE)?.kind).toBe('node');
      expect(find(t, PODS[0]!)?.interfaces.find((f) => f.name === 'eth0')?.peer).toEqual({
        netns: NODE,
        ifname: 'veth-p1',
      });
    } finally {
      await rm(stale, { force: true });
    }
  });

  it('streams a new veth, a link going down and a new ARP entry within 1 s', async () => {
    const seen: Topology[] = [];
    const stop = watchTopology((t) => seen.push(t));
    try {
      const waitFor = async (pred: (t: Topology) => boolean): Promise<number> => {
        const t0 = Date.now();
        while (Date.now() - t0 < 3000) {
          if (seen.some(pred)) return Date.now() - t0;
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error('no update within 3 s');
      };
      await waitFor((t) => find(t, NODE) !== undefined);
      const [p1, p2] = PODS as [string, string];

      await ip('-n', p1, 'link', 'add', 'pjt-new0', 'type', 'veth', 'peer', 'name', 'pjt-new1');
      expect(await waitFor((t) => !!find(t, p1)?.interfaces.some((f) => f.name === 'pjt-new0'))).toBeLessThan(1000);

      await ip('-n', NODE, 'link', 'set', 'veth-p2', 'down');
      const down = (t: Topology) => find(t, NODE)?.interfaces.find((f) => f.name === 'veth-p2')?.up === false;
      expect(await waitFor(down)).toBeLessThan(1000);
      await ip('-n', NODE, 'link', 'set', 'veth-p2', 'up');

      await exec(['ip', 'netns', 'exec', p1, 'ping', '-c1', '-W1', '10.250.1.1']);
      const arp = (t: Topology) => !!find(t, p1)?.neighbors.some((n) => n.ip === '10.250.1.1' && n.mac !== undefined);
      expect(await waitFor(arp)).toBeLessThan(1000);
      void p2;
    } finally {
      stop();
    }
  });
});

describe('packet-journey topology (CLI)', () => {
  const cli = (...a: string[]) => exec(['npx', 'tsx', 'server/cli.ts', 'topology', ...a], { timeoutMs: 60_000 });

  it('prints the DESIGN.md JSON shape with --json', async () => {
    const r = await cli('--json');
    expect(r.code).toBe(0);
    const t = Topology.parse(JSON.parse(r.stdout));
    const p1 = t.namespaces.find((n) => n.name === PODS[0]);
    expect(p1?.interfaces.find((f) => f.name === 'eth0')?.peer).toEqual({ netns: NODE, ifname: 'veth-p1' });
  });

  it('prints a readable tree, pods under their node, and one-line errors on bad input', async () => {
    const r = await cli('--ns', NODE);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${NODE} \\[node\\]`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^ {4}${PODS[0]} \\[pod\\] on ${NODE}`, 'm'));
    expect(r.stdout).toContain('bridge cni0 ports: veth-p1 veth-p2 veth-proc');
    const bad = await cli('--bogus');
    expect(bad.code).toBe(2);
    expect(
      bad.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('npm warn')),
    ).toEqual(['packet-journey topology: unknown option --bogus']);
  });
});

describe('lab acceptance', () => {
  beforeAll(async () => {
    await labUp();
  }, 120_000);

  it("pod-a's eth0 peer is node1/veth-pod-a on cni0", async () => {
    const t = await discoverTopology();
    const podA = find(t, 'pod-a');
    expect(podA).toMatchObject({ kind: 'pod', node: 'node1' });
    expect(podA?.interfaces.find((f) => f.name === 'eth0')?.peer).toEqual({ netns: 'node1', ifname: 'veth-pod-a' });
    const node1 = find(t, 'node1');
    expect(node1?.kind).toBe('node');
    expect(node1?.interfaces.find((f) => f.name === 'veth-pod-a')?.master).toBe('cni0');
    expect(find(t, 'host')?.interfaces.find((f) => f.name === 'veth-node1')).toMatchObject({
      master: 'kind0',
      peer: { netns: 'node1', ifname: 'eth0' },
    });
    for (const n of labSpec.NAMESPACES) expect(find(t, n), n).toBeDefined();
  });

  it("after a ping, node1's FDB holds pod-a's MAC and pod-a's neighbours hold the target", async () => {
    const podB = labSpec.PODS.find((p) => p.name === 'pod-b');
    await execOk(['ip', 'netns', 'exec', 'pod-a', 'ping', '-c1', '-W2', podB?.ip ?? '']);
    const t = await discoverTopology();
    const podAMac = find(t, 'pod-a')?.interfaces.find((f) => f.name === 'eth0')?.mac;
    const podBMac = find(t, 'pod-b')?.interfaces.find((f) => f.name === 'eth0')?.mac;
    expect(podAMac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(find(t, 'node1')?.fdb?.find((e) => e.mac === podAMac)).toMatchObject({
      bridge: 'cni0',
      port: 'veth-pod-a',
      local: false,
    });
    expect(find(t, 'pod-a')?.neighbors.find((n) => n.ip === podB?.ip)).toMatchObject({ dev: 'eth0', mac: podBMac });
  });
});
