// The tracer against the real kernel: the probe loader, netfilter links, the lab and a routed topology
// this test builds itself. Needs root and the built probe (`make -C probes`, done here if missing).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUp } from '../lab/index';
import { follow } from './follow';
import { formatJourney } from './format';
import { ProbeLoader } from './loader';
import type { HopEvent } from './hop-event';
import { TRACE_TAG_PREFIX } from './rules';
import { buildDropTopology, DROP_NS, netnsList, removeDropTopology } from './fixtures/drop-topology';

const sh = (argv: string[]): string => execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
const NS = DROP_NS;

function traceRulesLeft(): string[] {
  const out: string[] = [];
  for (const n of ['host', ...netnsList()]) {
    const argv =
      n === 'host'
        ? ['iptables-save', '-t', 'raw']
        : ['nsenter', `--net=/var/run/netns/${n}`, '--', 'iptables-save', '-t', 'raw'];
    const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
    if (r.stdout.includes(TRACE_TAG_PREFIX)) out.push(n);
  }
  return out;
}

const alive = (pid: number): boolean => spawnSync('kill', ['-0', String(pid)]).status === 0;

describe('tracer (real kernel)', () => {
  const loader = new ProbeLoader(undefined, 0);
  const pids = new Set<number>();

  beforeAll(async () => {
    execFileSync('make', ['-s', '-C', new URL('../../probes', import.meta.url).pathname], { stdio: 'inherit' });
    removeDropTopology();
    await labUp();
    loader.onStatus((s) => s.pid !== undefined && pids.add(s.pid));
  });

  afterAll(async () => {
    await loader.stop();
    removeDropTopology();
    // Leak checks: every loader we started is gone (with it its BPF programs and links), no TRACE rule is left.
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(traceRulesLeft()).toEqual([]);
  });

  it('same-node ping pod-a -> pod-b stays on node1 and comes back', async () => {
    const j = await follow({ from: 'pod-a', to: 'pod-b' }, { loader });
    expect(j.delivered).toBe(true);
    expect(j.lanes).toEqual(['pod-a', 'node1', 'pod-b']);
    expect(j.hops[0]).toMatchObject({
      netns: 'pod-a',
      ifname: 'eth0',
      dir: 'egress',
      src: '10.244.1.2',
      dst: '10.244.1.3',
      proto: 'icmp',
    });
    expect(j.hops.some((h) => h.netns === 'node1' && h.ifname === 'veth-pod-b' && h.dir === 'egress')).toBe(true);
    expect(j.reply?.hops.map((h) => h.netns).filter((n, i, a) => a[i - 1] !== n)).toEqual(['pod-b', 'node1', 'pod-a']);
  });

  it('cross-node ping pod-a -> pod-c passes pod-a, node1, host, node2, pod-c in order, with a reply', async () => {
    const j = await follow({ from: 'pod-a', to: 'pod-c' }, { loader });
    expect(j.delivered).toBe(true);
    expect(j.hops.map((h) => h.netns).filter((n, i, a) => a[i - 1] !== n)).toEqual([
      'pod-a',
      'node1',
      'host',
      'node2',
      'pod-c',
    ]);
    const reply = j.reply?.hops ?? [];
    expect(reply.map((h) => h.netns).filter((n, i, a) => a[i - 1] !== n)).toEqual([
      'pod-c',
      'node2',
      'host',
      'node1',
      'pod-a',
    ]);
    expect(reply.every((h) => h.icmp?.type === 0 && h.icmp.id === j.hops[0]?.icmp?.id)).toBe(true);
    // The follow stops at the reply's free (no timer): that end event is in, and so is the request's.
    expect(reply.at(-1)).toMatchObject({ netns: 'pod-a', dir: 'end', drop: { isRealDrop: false } });
    expect(j.hops.at(-1)).toMatchObject({ netns: 'pod-c', dir: 'end' });
    expect(j.timedOut).toBe(false);
    // Kernel order: timestamps never go backwards.
    for (let i = 1; i < j.hops.length; i++) expect(j.hops[i]?.tNs).toBeGreaterThanOrEqual(j.hops[i - 1]?.tNs ?? 0);
    expect(j.hops.find((h) => h.netns === 'host')?.ifname).toBe('veth-node1');
  });

  it('a capture on the bridge kind0 does not turn a delivered ping into a drop (a copy ends, not the packet)', async () => {
    // tcpdump makes kind0 promiscuous: the bridge forwards a clone and frees the original as OTHERHOST.
    const tcpdump = spawn('tcpdump', ['-i', 'kind0', '-n', '-w', '/dev/null'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise((r) => tcpdump.once('exit', r));
    try {
      await new Promise<void>((resolve, reject) => {
        tcpdump.stderr.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
        tcpdump.once('exit', () => reject(new Error('tcpdump exited')));
      });
      const j = await follow({ from: 'pod-a', to: 'pod-c' }, { loader });
      expect(j.generator).toBe('ping: 1 received');
      expect(j.delivered).toBe(true);
      expect([...j.hops, ...(j.reply?.hops ?? [])].filter((h) => h.drop?.isRealDrop)).toEqual([]);
      const copyEnd = j.hops.find((h) => h.drop?.copy);
      expect(copyEnd).toMatchObject({
        netns: 'host',
        ifname: 'kind0',
        drop: { reason: 'OTHERHOST', isRealDrop: false },
      });
      // The packet itself went on: it reached pod-c, and its last hop is its end there.
      expect(j.hops[j.hops.length - 1]).toMatchObject({ netns: 'pod-c', dir: 'end' });
    } finally {
      tcpdump.kill();
      await exited;
    }
  });

  it('TCP to the ClusterIP 10.96.0.10:80 shows the DNAT as a hop marked nat, with the rule that did it', async () => {
    const j = await follow({ from: 'pod-a', to: '10.96.0.10', proto: 'tcp', port: 80, rules: true }, { loader });
    expect(j.delivered).toBe(true);
    const nat = j.hops.find((h) => h.nat);
    expect(nat?.netns).toBe('node1');
    expect(nat?.nat).toMatchObject({ kind: 'dnat', from: '10.96.0.10:80' });
    expect(nat?.nat?.to).toMatch(/^10\.244\.2\.[23]:8080$/);
    expect(j.reply?.hops[0]?.tcpFlags).toBe('SYN,ACK');
    const rules = j.hops.flatMap((h) => h.rules ?? []);
    expect(rules.some((r) => /^nat KUBE-SEP-\S+ .*DNAT --to-destination 10\.244\.2\.[23]:8080/.test(r))).toBe(true);
    expect(traceRulesLeft()).toEqual([]);
  });

  it('an iptables DROP on a routed topology is reported in the router namespace, by netfilter, not delivered', async () => {
    buildDropTopology();
    try {
      const j = await follow({ from: NS.a, to: NS.b, timeoutMs: 1500 }, { loader });
      expect(j.delivered).toBe(false);
      const drop = j.hops.find((h) => h.drop?.isRealDrop);
      expect(drop?.netns).toBe(NS.r);
      expect(drop?.drop).toMatchObject({ reason: 'NETFILTER_DROP', byNetfilter: true });
      expect(j.hops.some((h) => h.netns === NS.b)).toBe(false);
      expect(j.reply).toBeUndefined();
    } finally {
      removeDropTopology();
    }
  });

  it('unknown namespaces are a clear error', async () => {
    await expect(follow({ from: 'no-such-ns', to: 'pod-c' }, { loader })).rejects.toThrow(
      /unknown namespace "no-such-ns"/,
    );
    await expect(follow({ from: 'pod-a', to: 'nowhere' }, { loader })).rejects.toThrow(/unknown destination "nowhere"/);
  });

  it('hops seen on different CPUs arrive in time order (per-CPU ring buffers merged)', async () => {
    // Ping from the last CPU, with RPS on node1's veth-pod-a steering arrivals to CPU 0: each packet's
    // first hops land in the last CPU's ring and the rest in CPU 0's, which is drained first.
    const cpus = availableParallelism();
    const rps = ['ip', 'netns', 'exec', 'node1', 'sh', '-c'];
    const rpsFile = '/sys/class/net/veth-pod-a/queues/rx-0/rps_cpus';
    const before = sh([...rps, `cat ${rpsFile}`]).trim();
    const hops: HopEvent[] = [];
    const sub = await loader.subscribe({ proto: 1, addrA: '10.244.1.2', addrB: '10.244.2.2' }, (h) => hops.push(h));
    try {
      sh([...rps, `echo 1 > ${rpsFile}`]);
      sh(['taskset', '-c', String(cpus - 1), 'ip', 'netns', 'exec', 'pod-a', 'ping', '-c3', '-i0.2', '10.244.2.2']);
      await loader.sync();
    } finally {
      await sub.close();
      sh([...rps, `echo ${/^[0-9a-f,]+$/.test(before) ? before : '0'} > ${rpsFile}`]);
    }
    expect(hops.filter((h) => h.icmp?.type === 8 && h.netns !== 0).length).toBeGreaterThanOrEqual(3 * 8);
    const ts = hops.map((h) => h.tsNs);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
  });

  it('a killed loader is restarted within 2 s and tracing works again', async () => {
    await loader.ensureStarted();
    const pid = loader.pid;
    expect(pid).toBeDefined();
    const restarts = loader.status.restarts;
    const seen: string[] = [];
    const off = loader.onStatus((s) => seen.push(s.state));
    const t0 = Date.now();
    process.kill(pid as number, 'SIGKILL');
    while (!(loader.status.state === 'ready' && loader.pid !== pid) && Date.now() - t0 < 5000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    off();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(seen).toContain('crashed');
    expect(loader.status.restarts).toBe(restarts + 1);
    expect(loader.status.lastError).toMatch(/SIGKILL/);
    const j = await follow({ from: 'pod-a', to: 'pod-b' }, { loader });
    expect(j.delivered).toBe(true);
  });

  it('a follow that spans a loader crash (kill -9) says the trace was interrupted, and claims no drop', async () => {
    await loader.ensureStarted();
    // Kill the loader once the follow has its slot and links, just before it sends the ping: the ping
    // and its reply pass while the loader is down (it is back 300 ms later), so their hops are lost.
    const attach = loader.attachNetfilter.bind(loader);
    const killed: number[] = [];
    loader.attachNetfilter = async (targets) => {
      const r = await attach(targets);
      const pid = loader.pid as number;
      killed.push(pid);
      process.kill(pid, 'SIGKILL');
      while (loader.status.state !== 'crashed') await new Promise((res) => setTimeout(res, 5));
      return r;
    };
    try {
      const j = await follow({ from: 'pod-a', to: 'pod-c', timeoutMs: 8000 }, { loader });
      expect(killed).toHaveLength(1);
      expect(j.generator).toBe('ping: 1 received');
      expect(j.interrupted).toMatch(/^probe loader crashed: .*SIGKILL/);
      expect([...j.hops, ...(j.reply?.hops ?? [])].filter((h) => h.drop?.isRealDrop)).toEqual([]);
      const text = formatJourney(j);
      expect(text).toMatch(/trace interrupted \(probe loader crashed: .*SIGKILL.*\), delivery unknown/);
      expect(text).not.toMatch(/NOT delivered|dropped/);
    } finally {
      loader.attachNetfilter = attach;
    }
    // The loader came back, and a follow after it runs whole.
    const after = await follow({ from: 'pod-a', to: 'pod-b' }, { loader });
    expect(after.delivered).toBe(true);
    expect(after.interrupted).toBeUndefined();
  });

  it('a loader built from another event layout is refused with the reason, not restarted', async () => {
    // The real ready record, one field's width changed: what a stale probe build would print.
    const ready = readFileSync(new URL('./fixtures/ping-pod-a-pod-c.ndjson', import.meta.url), 'utf8')
      .split('\n')[0]
      ?.replace('"ttl":[', '"ttl":[0,4],"old_ttl":[');
    const dir = mkdtempSync(join(tmpdir(), 'pj-stale-'));
    const fake = join(dir, 'loader');
    writeFileSync(join(dir, 'ready.json'), `${ready}\n`);
    writeFileSync(fake, `#!/bin/sh\ncat "${dir}/ready.json"\nexec cat >/dev/null\n`, { mode: 0o755 });
    const stale = new ProbeLoader(fake, 0);
    try {
      await expect(stale.ensureStarted()).rejects.toThrow(/field ttl is 4 bytes at 0, expected 1: rebuild/);
      await new Promise((r) => setTimeout(r, 500));
      expect(stale.status).toMatchObject({ state: 'stopped', restarts: 0 });
      expect(stale.status.lastError).toMatch(/make -C probes/);
    } finally {
      await stale.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
