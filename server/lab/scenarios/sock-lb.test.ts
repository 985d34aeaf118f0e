// sock-lb against the real kernel: the ClusterIP made of cgroup sock_addr programs, the maps a student
// dumps, that nothing outside the lab is rewritten, and that down (or a crash) leaves no attachment.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../../test/cli';
import { BPFFS, PIN_ROOT, cgroup2Root } from '../bpf';
import { labDown, labStatus, labUp } from '../lab';
import { STATE_FILE } from '../state';
import { SOCK_LB_DIR, SOCK_LB_MAPS, SOCK_LB_PROGS, sockLb } from './sock-lb';
import { netnsCookie } from './sock-lb-netns';
import { client, udpResponder } from './sock-lb-testkit';

const VIP = '10.96.0.10';
const OTHER_NS = 'pjt-socklb-other';
const HOST_DEV = 'pjt-socklb0';
const sh = (argv: string[], input?: string): string =>
  execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', ...(input ? { input } : {}) });
const run = (argv: string[]) => spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
const inNs = (ns: string, argv: string[]) => run(['nsenter', `--net=/var/run/netns/${ns}`, '--', ...argv]);
const hex = (b: Buffer): string[] => [...b].map((x) => x.toString(16).padStart(2, '0'));

interface Attached {
  id: number;
  attach_type: string;
  attach_flags: string;
  name: string;
}
/** Our programs attached at the root; bpftool prints nothing at all when none is attached. */
const attachedAtRoot = (cg: string): Attached[] =>
  (JSON.parse(sh(['bpftool', '--json', 'cgroup', 'show', cg]).trim() || '[]') as Attached[]).filter((a) =>
    a.name.startsWith('sock_lb_'),
  );
const killQuietly = (pid: number | undefined, group = false): void => {
  try {
    if (pid) process.kill(group ? -pid : pid, 'SIGKILL');
  } catch {
    // already gone
  }
};
const ourProgsLoaded = (): string[] =>
  (JSON.parse(sh(['bpftool', '--json', 'prog', 'show'])) as { name?: string }[])
    .map((p) => p.name ?? '')
    .filter((n) => n.startsWith('sock_lb_'));
const ownedCgroup = (): { id: number; type: string }[] =>
  (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as { owned: { cgroup: { id: number; type: string }[] } }).owned.cgroup;

describe('sock-lb scenario (real kernel)', () => {
  let cg = '';
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    cg = await cgroup2Root();
    await labDown();
    const s = await labUp({ scenario: 'sock-lb' });
    expect(s.up).toBe(true);
  });
  afterAll(async () => {
    for (const c of children) killQuietly(c.pid);
    run(['ip', 'netns', 'del', OTHER_NS]);
    run(['ip', 'link', 'del', HOST_DEV]);
    await labDown();
  });

  it('curl 10.96.0.10 from pod-a reaches pod-c and pod-d, with the client address kept', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const r = inNs('pod-a', ['curl', '-sS', '-m', '3', `http://${VIP}/`]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^client=10\.244\.1\.2:\d+$/m);
      seen.add(/^pod=(pod-[cd])$/m.exec(r.stdout)?.[1] ?? 'none');
    }
    expect([...seen].sort()).toEqual(['pod-c', 'pod-d']);
  });

  it('getpeername shows the VIP while the socket is really connected to a backend', () => {
    const r = client('pod-a', 'tcp', VIP, 80);
    expect(r.ok, r.err).toBe(true);
    expect(r.peer).toBe(`${VIP}:80`);
    expect(r.kernel).toMatch(/^10\.244\.2\.[23]:8080$/);
    // The backend named in the reply is the one the kernel is connected to.
    const pod = r.reply.find((l) => l.startsWith('pod='));
    expect(pod).toBe(r.kernel?.startsWith('10.244.2.2') ? 'pod=pod-c' : 'pod=pod-d');
  });

  it('no iptables rule for the service exists in the nodes', () => {
    for (const n of ['node1', 'node2']) {
      const r = inNs(n, ['iptables-save']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).not.toContain(VIP);
      expect(r.stdout).not.toContain('KUBE-');
    }
  });

  it('the four programs are attached to the cgroup v2 root (multi) and recorded by id in the state', () => {
    // A cgroup v2 root (cgroup.controllers exists only in v2); here /sys/fs/cgroup/unified, not /sys/fs/cgroup.
    expect(existsSync(join(cg, 'cgroup.controllers'))).toBe(true);
    const att = attachedAtRoot(cg);
    expect(att.map((a) => a.name).sort()).toEqual(SOCK_LB_PROGS.map((p) => p.name).sort());
    expect(att.every((a) => a.attach_flags === 'multi')).toBe(true);
    const owned = ownedCgroup();
    expect(owned.map((o) => o.id).sort()).toEqual(att.map((a) => a.id).sort());
    expect(owned.map((o) => o.type).sort()).toEqual(['connect4', 'getpeername4', 'recvmsg4', 'sendmsg4']);
  });

  it('the service and backend maps are pinned and bpftool dumps them with their types', () => {
    type Entry<K, V> = { key: K; value: V };
    const dump = <K, V>(p: string) =>
      (JSON.parse(sh(['bpftool', '--json', 'map', 'dump', 'pinned', p])) as { formatted: Entry<K, V> }[]).map(
        (e) => e.formatted,
      );
    const svc = dump<{ vip: number[]; port: number; proto: number }, { id: number; backends: number; name: string }>(
      SOCK_LB_MAPS.svc,
    );
    expect(svc.map((e) => [e.key.vip.join('.'), e.key.port, e.key.proto]).sort()).toEqual([
      [VIP, 80, 17],
      [VIP, 80, 6],
    ]);
    expect(svc.every((e) => e.value.backends === 2 && e.value.name === 'default/echo')).toBe(true);
    const be = dump<{ service: number; slot: number }, { ip: number[]; port: number; pod: string }>(
      SOCK_LB_MAPS.backend,
    );
    expect(be.map((e) => [e.key.slot, e.value.ip.join('.'), e.value.port, e.value.pod]).sort()).toEqual([
      [0, '10.244.2.2', 8080, 'pod-c'],
      [1, '10.244.2.3', 8080, 'pod-d'],
    ]);
    const ns = dump<number, { name: string }>(SOCK_LB_MAPS.netns);
    expect(ns.map((e) => e.value.name).sort()).toEqual(['node1', 'node2', 'pod-a', 'pod-b', 'pod-c', 'pod-d']);
    // The text dump a student runs reads the same.
    expect(sh(['bpftool', 'map', 'dump', 'pinned', SOCK_LB_MAPS.backend])).toContain('"pod": "pod-c"');
  });

  it('UDP: sendmsg4 picks a backend, recvmsg4 and getpeername4 show the VIP', async () => {
    const status = await labStatus();
    // The echo server may speak UDP on 8080 one day; otherwise answer with our own responder.
    const udpTaken = status.echoServers.every((e) => readFileSync(`/proc/${e.pid}/net/udp`, 'utf8').includes(':1F90 '));
    if (!udpTaken) for (const p of ['pod-c', 'pod-d']) children.push(await udpResponder(p, p));
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const r = client('pod-a', 'udp-sendto', VIP, 80);
      expect(r.ok, r.err).toBe(true);
      expect(r.from).toBe(`${VIP}:80`);
      expect(r.reply.length).toBeGreaterThan(0);
      seen.add(r.reply.find((l) => l.startsWith('pod=')) ?? 'other');
    }
    if (!udpTaken) expect([...seen].sort()).toEqual(['pod=pod-c', 'pod=pod-d']);
    const c = client('pod-a', 'udp', VIP, 80);
    expect(c.ok, c.err).toBe(true);
    expect(c.peer).toBe(`${VIP}:80`);
    expect(c.kernel).toMatch(/^10\.244\.2\.[23]:8080$/);
    for (const p of children.splice(0)) killQuietly(p.pid);
  });

  it('a connection from the host namespace to 10.96.0.10:80 is not rewritten', async () => {
    // The host gets 10.96.0.10 on a portless bridge (no dummy module here) and listens on it: the connection must arrive there.
    sh(
      ['ip', '-batch', '-'],
      `link add ${HOST_DEV} type bridge\naddr add ${VIP}/32 dev ${HOST_DEV}\nlink set ${HOST_DEV} up\n`,
    );
    const server = createServer();
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    await new Promise<void>((r) => server.listen(80, VIP, r));
    try {
      const sock = connect(80, VIP);
      // Rewritten, it would head for a pod the host has no route to: fail fast rather than hang.
      sock.setTimeout(3000, () => sock.destroy(new Error('connect to 10.96.0.10:80 timed out')));
      await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
      const srv = await accepted;
      expect(`${sock.remoteAddress}:${sock.remotePort}`).toBe(`${VIP}:80`);
      expect(`${srv.localAddress}:${(server.address() as AddressInfo).port}`).toBe(`${VIP}:80`);
      expect(srv.remotePort).toBe(sock.localPort);
      sock.destroy();
      srv.destroy();
    } finally {
      server.close();
      sh(['ip', 'link', 'del', HOST_DEV]);
    }
  });

  it("another namespace's connection is untouched, and rewritten only once its cookie is listed", async () => {
    sh(['ip', 'netns', 'add', OTHER_NS]);
    sh(['ip', '-n', OTHER_NS, '-batch', '-'], `link set lo up\naddr add ${VIP}/32 dev lo\n`);
    const listener = spawn(
      'nsenter',
      [
        `--net=/var/run/netns/${OTHER_NS}`,
        '--',
        'socat',
        `TCP-LISTEN:80,bind=${VIP},fork,reuseaddr`,
        'SYSTEM:echo other-ns',
      ],
      { stdio: 'ignore' },
    );
    children.push(listener);
    await new Promise((r) => setTimeout(r, 200));
    const before = client(OTHER_NS, 'tcp', VIP, 80);
    expect(before.ok, before.err).toBe(true);
    expect(before.peer).toBe(`${VIP}:80`);
    expect(before.kernel).toBe(`${VIP}:80`);
    expect(before.reply).toContain('other-ns');
    // Control: the same connect is rewritten once this namespace's cookie is in the map (and then fails,
    // since this namespace has no route to the pods). So the cookie is what keeps it untouched.
    const cookie = hex(await netnsCookie(OTHER_NS));
    const val = hex(Buffer.concat([Buffer.from(OTHER_NS.slice(0, 15)), Buffer.alloc(1)]));
    sh(['bpftool', 'map', 'update', 'pinned', SOCK_LB_MAPS.netns, 'key', 'hex', ...cookie, 'value', 'hex', ...val]);
    const listed = client(OTHER_NS, 'tcp', VIP, 80);
    sh(['bpftool', 'map', 'delete', 'pinned', SOCK_LB_MAPS.netns, 'key', 'hex', ...cookie]);
    expect(listed.ok).toBe(false);
    expect(listed.err).toMatch(/connect: Network is unreachable/);
    killQuietly(listener.pid);
    sh(['ip', 'netns', 'del', OTHER_NS]);
  });

  it('on the wire the SYN already goes to a pod: no packet carries 10.96.0.10', async () => {
    const filter = ['host', VIP, 'or', 'tcp', 'port', '8080'];
    const cap = spawn('nsenter', ['--net=/var/run/netns/pod-a', '--', 'tcpdump', '-nli', 'eth0', '-c', '4', ...filter]);
    children.push(cap);
    let out = '';
    cap.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await new Promise<void>((r) => cap.stderr.on('data', (b: Buffer) => b.toString().includes('listening') && r()));
    const exited = new Promise((r) => cap.once('exit', r));
    const c = inNs('pod-a', ['curl', '-sS', '-m', '3', `http://${VIP}/`]);
    expect(c.status, c.stderr).toBe(0);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    killQuietly(cap.pid);
    const lines = out.trim().split('\n');
    expect(lines.length).toBe(4);
    expect(lines[0]).toMatch(/IP 10\.244\.1\.2\.\d+ > 10\.244\.2\.[23]\.8080: Flags \[S\]/);
    expect(out).not.toContain(VIP);
  });

  it('every command to try works as printed in the Lab tab', async () => {
    // What each one must show; tcpdump needs a connection while it listens, so a curl runs meanwhile.
    const expected: [RegExp, RegExp][] = [
      [/curl -s 10\.96\.0\.10$/, /^pod=pod-[cd]$/m],
      [/perl/, /getpeername: 10\.96\.0\.10:80\n[^]*10\.244\.2\.[23]:8080/],
      [/cgroup tree/, /cgroup_inet4_connect\s+multi\s+sock_lb_connect/],
      [/pj_sock_svc$/, /"name": "default\/echo"/],
      [/pj_sock_backend$/, /"pod": "pod-d"/],
      [/pj_sock_netns$/, /"name": "pod-a"/],
      [/iptables-save/, /^0$/m],
      [/tcpdump/, /IP 10\.244\.1\.2\.\d+ > 10\.244\.2\.[23]\.8080: Flags \[S\]/],
    ];
    expect(sockLb.info.tryCommands.length).toBe(expected.length);
    for (const cmd of sockLb.info.tryCommands) {
      const want = expected.find(([m]) => m.test(cmd))?.[1];
      expect(want, cmd).toBeDefined();
      const p = spawn('bash', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(p);
      let out = '';
      p.stdout.on('data', (b: Buffer) => (out += b.toString()));
      const done = new Promise((r) => p.once('exit', r));
      if (cmd.includes('tcpdump')) {
        await new Promise((r) => setTimeout(r, 500));
        for (let i = 0; i < 3; i++) inNs('pod-a', ['curl', '-sS', '-m', '3', `http://${VIP}/`]);
      }
      await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
      killQuietly(p.pid);
      expect(out, cmd).toMatch(want as RegExp);
    }
  });

  it('switching to basic removes every attachment and pin, and kube-proxy serves the ClusterIP again', async () => {
    await labUp({ scenario: 'basic' });
    expect(attachedAtRoot(cg)).toEqual([]);
    expect(ourProgsLoaded()).toEqual([]);
    expect(existsSync(SOCK_LB_DIR)).toBe(false);
    expect(inNs('node1', ['iptables-save']).stdout).toContain(VIP);
    expect((await labUp({ scenario: 'sock-lb' })).up).toBe(true);
    expect(attachedAtRoot(cg).length).toBe(4);
  });

  it('down detaches and unpins everything from the state file; the leak check is clean', async () => {
    const r = await labDown();
    expect(r.message).not.toMatch(/could not remove/);
    expect(attachedAtRoot(cg)).toEqual([]);
    expect(ourProgsLoaded()).toEqual([]);
    expect(existsSync(PIN_ROOT)).toBe(false);
    // The shared leak check, restricted to what this scenario owns: other helpers' long runs (a soak's
    // probe loader) may hold unrelated resources meanwhile.
    const leak = run(['bash', join(ROOT, 'scripts/leak-check.sh')]);
    const ours = leak.stderr.split('\n').filter((l) => /sock_lb|packet-journey$|\/sys\/fs\/bpf|cgroup|pjt-/.test(l));
    expect(ours).toEqual([]);
  });

  it('a crash right after the attach leaves every attachment recorded, and down removes it', async () => {
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
    // Own process group, so the kill reaches tsx's node child too.
    const up = spawn(tsx, [join(ROOT, 'server/cli.ts'), 'lab', 'up', '--scenario', 'sock-lb'], {
      cwd: ROOT,
      detached: true,
      stdio: 'ignore',
    });
    children.push(up);
    const deadline = Date.now() + 20_000;
    let seen: Attached[] = [];
    while (Date.now() < deadline && seen.length === 0) seen = attachedAtRoot(cg);
    killQuietly(up.pid, true);
    expect(seen.length).toBeGreaterThan(0);
    const recorded = ownedCgroup().map((o) => o.id);
    for (const a of attachedAtRoot(cg)) expect(recorded).toContain(a.id);
    await labDown();
    expect(attachedAtRoot(cg)).toEqual([]);
    expect(ourProgsLoaded()).toEqual([]);
    expect(existsSync(SOCK_LB_DIR)).toBe(false);
  });
  it('an up that fails half-way through attaching rolls back every attachment, with a one-line error', async () => {
    // A program attached at the root without `multi` makes our multi attach of recvmsg4 fail (EPERM)
    // after connect4 and sendmsg4 are already attached. The blocker is our own recvmsg program from a
    // separate load: it only ever rewrites lab sockets, so it is harmless to the machine meanwhile.
    const dir = `${BPFFS}/pjt-socklb-block`;
    mkdirSync(dir);
    sh(['bpftool', 'prog', 'loadall', join(ROOT, 'probes/build/lab/sock-lb.bpf.o'), `${dir}/progs`, 'pinmaps', dir]);
    const blocker = (
      JSON.parse(sh(['bpftool', '--json', 'prog', 'show', 'pinned', `${dir}/progs/sock_lb_recvmsg`])) as { id: number }
    ).id;
    try {
      sh(['bpftool', 'cgroup', 'attach', cg, 'recvmsg4', 'id', String(blocker)]);
      await expect(labUp({ scenario: 'sock-lb' })).rejects.toThrow(
        /^sock-lb: filling the maps and attaching failed: [^\n]+$/,
      );
      expect(attachedAtRoot(cg).map((a) => a.id)).toEqual([blocker]);
      expect(existsSync(STATE_FILE)).toBe(false);
      expect(existsSync(SOCK_LB_DIR)).toBe(false);
    } finally {
      run(['bpftool', 'cgroup', 'detach', cg, 'recvmsg4', 'id', String(blocker)]);
      run(['rm', '-rf', dir]);
    }
    expect(attachedAtRoot(cg)).toEqual([]);
    expect(ourProgsLoaded()).toEqual([]);
  });
});
