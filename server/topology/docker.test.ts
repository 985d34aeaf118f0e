// Docker discovery against a REAL dockerd (started here when none runs): two busybox containers on a
// user-defined network are named by container name, and their eth0 peers hang off the network's bridge
// in `host`. Everything created is removed, and what dockerd changes on the host is put back.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, execOk } from '../sys/exec';
import { discover } from './discover';
import { findNamespace } from './index';

const P = 'pjt-topo-';
const NET = `${P}net`;
const IMAGE = `${P}busybox:latest`;
const CONTAINERS = [`${P}c1`, `${P}c2`];
const DATA_ROOT = `/var/lib/${P}docker`;
const EXEC_ROOT = `/var/run/${P}docker`;

let dockerd: ChildProcess | undefined;
let dockerdLog = '';
let storageDriver = 'existing daemon';
let forwardPolicy: string | undefined;
let ipForward: string | undefined;
let hadDocker0 = false;
let work: string | undefined;
let iptBefore: IptSnapshot | undefined;
let netBridge: string | undefined;
let hadRunDocker = false;

const docker = (...a: string[]) => execOk(['docker', ...a], { timeoutMs: 60_000 });

async function daemonUp(): Promise<boolean> {
  return (await exec(['docker', 'version', '--format', '{{.Server.Version}}'], { timeoutMs: 5000 })).code === 0;
}

async function startDockerd(driver: 'overlay2' | 'vfs'): Promise<boolean> {
  dockerdLog = '';
  dockerd = spawn(
    'dockerd',
    ['--storage-driver', driver, '--data-root', DATA_ROOT, '--exec-root', EXEC_ROOT, '--pidfile', `${EXEC_ROOT}.pid`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  dockerd.stdout?.on('data', (b: Buffer) => (dockerdLog += b.toString()));
  dockerd.stderr?.on('data', (b: Buffer) => (dockerdLog += b.toString()));
  for (let i = 0; i < 150; i++) {
    if (dockerd.exitCode !== null) return false;
    if (await daemonUp()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

async function stopDockerd(): Promise<void> {
  const d = dockerd;
  if (!d || d.exitCode !== null) return;
  const exited = new Promise((r) => d.once('exit', r));
  d.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
  if (d.exitCode === null) d.kill('SIGKILL');
}

const IPT_TABLES = ['filter', 'nat'] as const;
type IptSnapshot = Record<(typeof IPT_TABLES)[number], Set<string>>;

async function iptablesRules(): Promise<IptSnapshot> {
  const out = { filter: new Set<string>(), nat: new Set<string>() };
  for (const t of IPT_TABLES)
    for (const r of (await execOk(['iptables', '-t', t, '-S'])).split('\n')) if (r) out[t].add(r);
  return out;
}

/**
 * Removes what dockerd added to the host's iptables (only when we started it): rules that were not there
 * before and mention Docker (its chains, docker0, our network's bridge), then Docker's own chains.
 * Rules others added meanwhile (the lab's) do not mention Docker and stay.
 */
async function removeDockerIptables(before: IptSnapshot, bridge: string | undefined): Promise<void> {
  const now = await iptablesRules();
  const mentions = (r: string) => /DOCKER|docker0/.test(r) || (bridge !== undefined && r.includes(bridge));
  for (const t of IPT_TABLES) {
    for (const r of now[t]) {
      const m = /^-A (\S+) (.*)$/.exec(r);
      if (m && !before[t].has(r) && mentions(r) && !m[1]?.startsWith('DOCKER')) {
        await exec(['iptables', '-t', t, '-D', m[1] ?? '', ...splitRule(m[2] ?? '')]);
      }
    }
    const chains = [...now[t]].flatMap((r) => /^-N (DOCKER\S*)$/.exec(r)?.slice(1, 2) ?? []);
    for (const c of chains) await exec(['iptables', '-t', t, '-F', c]);
    for (const c of chains) await exec(['iptables', '-t', t, '-X', c]);
  }
}

/** `iptables -S` quotes comments with spaces; split like a shell would, without a shell. */
function splitRule(s: string): string[] {
  return (s.match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"(.*)"$/, '$1'));
}

async function buildImage(): Promise<void> {
  work = await mkdtemp(join(tmpdir(), `${P}rootfs-`));
  const root = join(work, 'rootfs');
  await mkdir(join(root, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(root, 'bin', 'busybox'));
  for (const applet of ['sh', 'sleep', 'ip', 'ping', 'ls', 'cat']) await symlink('busybox', join(root, 'bin', applet));
  const tar = join(work, 'rootfs.tar');
  await execOk(['tar', '-C', root, '-cf', tar, '.']);
  await docker('import', tar, IMAGE);
}

async function cleanupDockerObjects(): Promise<void> {
  if (!(await daemonUp())) return;
  for (const c of CONTAINERS) await exec(['docker', 'rm', '-f', c], { timeoutMs: 30_000 });
  await exec(['docker', 'network', 'rm', NET], { timeoutMs: 30_000 });
  await exec(['docker', 'image', 'rm', '-f', IMAGE], { timeoutMs: 30_000 });
}

beforeAll(async () => {
  forwardPolicy = /^-P FORWARD (\S+)/m.exec(await execOk(['iptables', '-S', 'FORWARD']))?.[1];
  if (forwardPolicy === undefined) throw new Error('cannot read the FORWARD policy to restore it later');
  iptBefore = await iptablesRules();
  hadRunDocker = await stat('/var/run/docker').then(
    () => true,
    () => false,
  );
  ipForward = (await execOk(['sysctl', '-n', 'net.ipv4.ip_forward'])).trim();
  hadDocker0 = (await exec(['ip', 'link', 'show', 'docker0'])).code === 0;
  if (!(await daemonUp())) {
    storageDriver = 'overlay2';
    if (!(await startDockerd('overlay2'))) {
      // overlay2 needs a filesystem that supports it as upper dir; vfs always works (slowly).
      await stopDockerd();
      storageDriver = 'vfs';
      if (!(await startDockerd('vfs')))
        throw new Error(`dockerd did not start: ${dockerdLog.split('\n').slice(-5).join(' | ')}`);
    }
  }
  await cleanupDockerObjects();
  await buildImage();
  const netId = (await docker('network', 'create', NET)).trim();
  netBridge = `br-${netId.slice(0, 12)}`;
  for (const c of CONTAINERS) {
    await docker(
      'run',
      '-d',
      '--name',
      c,
      '--network',
      NET,
      '--cap-add',
      'ALL',
      '--cap-drop',
      'SYS_RESOURCE',
      IMAGE,
      'sleep',
      '600',
    );
  }
}, 180_000);

afterAll(async () => {
  await cleanupDockerObjects();
  if (dockerd) {
    await stopDockerd();
    if (iptBefore) await removeDockerIptables(iptBefore, netBridge);
    if (!hadDocker0) await exec(['ip', 'link', 'del', 'docker0']);
    if (!hadRunDocker) await rm('/var/run/docker', { recursive: true, force: true }).catch(() => undefined);
    await rm(DATA_ROOT, { recursive: true, force: true }).catch(() => undefined);
    await rm(EXEC_ROOT, { recursive: true, force: true }).catch(() => undefined);
  }
  if (forwardPolicy) await exec(['iptables', '-P', 'FORWARD', forwardPolicy]);
  if (ipForward !== undefined) await exec(['sysctl', '-qw', `net.ipv4.ip_forward=${ipForward}`]);
  if (work) await rm(work, { recursive: true, force: true });
}, 120_000);

describe('docker containers', () => {
  it('names containers by container name, with eth0 peers on the network bridge in host', async () => {
    const netId = (await docker('network', 'inspect', '--format', '{{.Id}}', NET)).trim();
    const bridge = `br-${netId.slice(0, 12)}`;
    const { topology: t } = await discover();
    expect(t.warnings.filter((w) => w.startsWith('Docker'))).toEqual([]);
    const host = t.namespaces.find((n) => n.name === 'host');
    expect(host?.interfaces.find((f) => f.name === bridge)?.kind).toBe('bridge');
    for (const c of CONTAINERS) {
      const ns = t.namespaces.find((n) => n.name === c);
      expect(ns, `${c} in ${t.namespaces.map((n) => n.name).join(',')} (storage ${storageDriver})`).toBeDefined();
      expect(ns?.kind).toBe('container');
      expect(ns?.container?.image).toBe(IMAGE);
      const eth0 = ns?.interfaces.find((f) => f.name === 'eth0');
      expect(eth0?.peer?.netns).toBe('host');
      const hostSide = host?.interfaces.find((f) => f.name === eth0?.peer?.ifname);
      expect(hostSide?.kind).toBe('veth');
      expect(hostSide?.master).toBe(bridge);
      expect(hostSide?.peer).toEqual({ netns: c, ifname: 'eth0' });
      // Other capabilities can enter it by that name.
      const ref = await findNamespace(c);
      expect(ref?.inode).toBe(ns?.inode);
      expect(ref?.target.kind).toBe('pid');
    }
  });

  it('warns when a Docker socket is present but unusable, and is quiet when absent', async () => {
    const dir = await mkdtemp(join(tmpdir(), `${P}sock-`));
    const sock = join(dir, 'docker.sock');
    // Something listens there but hangs up on every request, like a wedged or foreign daemon.
    const srv = createServer((c) => c.destroy());
    await new Promise<void>((r) => srv.listen(sock, r));
    try {
      const stale = await discover({ dockerSocket: sock });
      expect(stale.topology.warnings.some((w) => w.includes(sock) && w.includes('unreadable'))).toBe(true);
      const absent = await discover({ dockerSocket: join(dir, 'nope.sock') });
      expect(absent.topology.warnings.filter((w) => w.startsWith('Docker'))).toEqual([]);
    } finally {
      await new Promise((r) => srv.close(r));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
