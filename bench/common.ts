// Helpers the tracer benches share: flags, medians, and commands run without blocking the event loop
// (which must keep reading the loader's pipe: execFileSync would stall the server side and count every
// hop past the buffers as lost).
import { spawn } from 'node:child_process';
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
