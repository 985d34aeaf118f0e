// Helpers the tracer benches share: flags, medians, and commands run without blocking the event loop
// (which must keep reading the loader's pipe: execFileSync would stall the server side and count every
// hop past the buffers as lost).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Interface } from 'node:readline';
import type { KernelFilter, ProbeLoader } from '../server/tracer/loader';

/** `--name N` from the command line, or the default. */
export const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs a command to completion and returns its stdout; a non-zero exit, or `timeoutMs` passing, rejects. */
export function run(cmd: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    // An iperf3 client was seen spinning for minutes after its run: a stuck tool must not hang the bench.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${cmd} ${signal === 'SIGKILL' ? `killed after ${timeoutMs} ms` : `exited ${code}`}`));
    });
  });
}

/** iperf3 pod-a -> pod-c (server on port 5299 in pod-c) for `seconds`, in Gbit/s received; `prefix`
 * runs it under another command (e.g. taskset). */
export async function iperf(seconds: number, prefix: readonly string[] = []): Promise<number> {
  const [cmd, ...rest] = [...prefix, 'nsenter', '--net=/var/run/netns/pod-a', '--', 'iperf3'];
  const argv = [...rest, '-c', '10.244.2.2', '-p', '5299', '-t', String(seconds), '-J'];
  const out = await run(cmd as string, argv, (seconds + 20) * 1000);
  const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
  return j.end.sum_received.bits_per_second / 1e9;
}

/** A filter on a TCP flow nobody sends (port 9): every device hook runs and parses, nothing matches. */
export const OTHER_FLOW: KernelFilter = { proto: 6, port: 9 };

/** Runs `measure` while `loader` holds a subscription with `filter` whose hops are dropped. */
export async function whileSubscribed<T>(
  loader: Pick<ProbeLoader, 'subscribe'>,
  filter: KernelFilter,
  measure: () => Promise<T>,
): Promise<T> {
  const s = await loader.subscribe(filter, () => undefined);
  try {
    return await measure();
  } finally {
    await s.close();
  }
}

/** Runs `measure` with every hop streamed to this process and counted: the hops, their rate while
 * `measure` ran (drained by a sync barrier) and what the kernel lost meanwhile. */
export async function countingAll<T>(
  loader: Pick<ProbeLoader, 'subscribe' | 'sync' | 'stats'>,
  measure: () => Promise<T>,
): Promise<{ value: T; hops: number; rate: number; lost: number }> {
  let hops = 0;
  const lost0 = (await loader.stats()).lost;
  const all = await loader.subscribe({}, () => hops++);
  const t = performance.now();
  const value = await measure();
  await loader.sync();
  const secs = (performance.now() - t) / 1000;
  await all.close();
  await loader.sync();
  return { value, hops, rate: hops / secs, lost: (await loader.stats()).lost - lost0 };
}

/** The iperf3 server that iperf() talks to (pod-c, port 5299), under `prefix` (e.g. taskset); kill it after. */
export async function iperfServer(prefix: readonly string[] = []): Promise<ChildProcess> {
  const [cmd, ...rest] = [...prefix, 'nsenter', '--net=/var/run/netns/pod-c', '--', 'iperf3', '-s', '-p', '5299'];
  const server = spawn(cmd as string, rest, { stdio: 'ignore' });
  await sleep(500);
  return server;
}

interface ProgStats {
  id: number;
  name: string;
  run_time_ns?: number;
  run_cnt?: number;
}
const probeProgs = (): ProgStats[] =>
  (JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })) as ProgStats[]).filter((p) =>
    /^(on_|nf_)/.test(p.name),
  );

/**
 * The probe's own time per run of each program (ns, kernel.bpf_stats_enabled) while each `fn` runs, for
 * programs that ran more than `minRuns` times. The stats cost a little themselves: on for these only.
 */
export async function probeNsPerRun(
  fns: readonly (() => Promise<unknown>)[],
  minRuns = 1000,
): Promise<Map<string, number>[]> {
  execFileSync('sysctl', ['-qw', 'kernel.bpf_stats_enabled=1']);
  try {
    const out: Map<string, number>[] = [];
    for (const fn of fns) {
      const before = probeProgs();
      await fn();
      const m = new Map<string, number>();
      for (const p of probeProgs()) {
        const q = before.find((x) => x.id === p.id);
        const runs = (p.run_cnt ?? 0) - (q?.run_cnt ?? 0);
        if (runs > minRuns) m.set(p.name, ((p.run_time_ns ?? 0) - (q?.run_time_ns ?? 0)) / runs);
      }
      out.push(m);
    }
    return out;
  } finally {
    execFileSync('sysctl', ['-qw', 'kernel.bpf_stats_enabled=0']);
  }
}

/** `on_dev_queue 50, on_receive_skb 48, …` */
export const nsList = (m: ReadonlyMap<string, number>): string =>
  [...m.entries()].map(([k, v]) => `${k} ${Math.round(v)}`).join(', ') || 'none measured';

/** The 95th percentile, nearest rank (NaN for none). */
export const p95 = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)] ?? NaN;
};

/** Rounded, or `—` for no figure. */
export const r0 = (x: number): string => (Number.isFinite(x) ? String(Math.round(x)) : '—');

/** Latency histogram, 1 ms buckets up to 30 s (the last one: more): millions of samples in fixed memory. */
export class Histogram {
  private readonly b = new Uint32Array(30_001);
  n = 0;
  add(ms: number): void {
    const i = Math.max(0, Math.min(30_000, Math.round(ms)));
    this.b[i] = (this.b[i] as number) + 1;
    this.n++;
  }
  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const want = Math.ceil(this.n * q);
    let seen = 0;
    for (let i = 0; i < this.b.length; i++) if ((seen += this.b[i] as number) >= want) return i;
    return 30_000;
  }
  merge(o: Histogram): void {
    for (let i = 0; i < this.b.length; i++) this.b[i] = (this.b[i] as number) + (o.b[i] as number);
    this.n += o.n;
  }
}

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
export const USER_HZ = 100;

/** RSS (kB) and CPU ticks (user+system) of a process. */
export function procSample(pid: number): { rssKb: number; ticks: number } {
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssKb: Number(rss?.[1] ?? 0), ticks: Number(f[11]) + Number(f[12]) };
}

/** The child processes a bench started, so every exit path ends them (by their own PIDs) and no others. */
export function childTracker() {
  const started = new Set<ChildProcess>();
  return {
    track(c: ChildProcess): ChildProcess {
      started.add(c);
      c.on('exit', () => started.delete(c));
      return c;
    },
    /** SIGTERM to each, up to `graceMs` for them to go (a server stops its loader first), then SIGKILL. */
    async endAll(graceMs = 5000): Promise<void> {
      const exits = [...started].map((c) => new Promise((r) => c.once('exit', r)));
      for (const c of started) c.kill('SIGTERM');
      await Promise.race([Promise.all(exits), sleep(graceMs)]);
      for (const c of started) c.kill('SIGKILL');
    },
  };
}

/**
 * Runs a bench's `main` with `cleanUp` on every exit path: success, failure, SIGINT (Ctrl-C) and SIGTERM.
 * The exit code is 0, 1 (failed: the one-line reason on stderr) or 130 (interrupted).
 */
export function runBench(name: string, main: () => Promise<void>, cleanUp: () => Promise<void>): void {
  let cleaning: Promise<void> | undefined;
  const clean = (): Promise<void> => (cleaning ??= cleanUp().catch((e: unknown) => void console.error(e)));
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      process.stderr.write(`${name}: ${sig}, cleaning up\n`);
      void clean().finally(() => process.exit(130));
    });
  main().then(
    () => clean().finally(() => process.exit(0)),
    (e: unknown) => {
      process.stderr.write(`${name}: ${e instanceof Error ? e.message : String(e)}\n`);
      void clean().finally(() => process.exit(1));
    },
  );
}

/**
 * The first value `pick` finds in a line of a child's output. Rejects if the child's output closes first
 * (its exit, with the code) or after `timeoutMs`.
 */
export function whenLine<T>(
  lines: Interface,
  child: ChildProcess,
  pick: (line: string) => T | undefined,
  timeoutMs: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${child.spawnfile}: no such line in ${timeoutMs} ms`)), timeoutMs);
    const onLine = (l: string): void => {
      const v = pick(l);
      if (v === undefined) return;
      clearTimeout(timer);
      lines.off('line', onLine);
      resolve(v);
    };
    lines.on('line', onLine);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${child.spawnfile} exited (${signal ?? code}) before the line it was waited for`));
    });
  });
}
