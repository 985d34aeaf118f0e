// Helpers the tracer benches share: flags, medians, and commands run without blocking the event loop
// (which must keep reading the loader's pipe: execFileSync would stall the server side and count every
// hop past the buffers as lost).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
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

/** Runs a command to completion and returns its stdout; a non-zero exit rejects. */
export function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new Error(`${cmd} exited ${code}`)),
    );
  });
}

/** iperf3 pod-a -> pod-c (server on port 5299 in pod-c) for `seconds`, in Gbit/s received; `prefix`
 * runs it under another command (e.g. taskset). */
export async function iperf(seconds: number, prefix: readonly string[] = []): Promise<number> {
  const [cmd, ...rest] = [...prefix, 'nsenter', '--net=/var/run/netns/pod-a', '--', 'iperf3'];
  const out = await run(cmd as string, [...rest, '-c', '10.244.2.2', '-p', '5299', '-t', String(seconds), '-J']);
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
