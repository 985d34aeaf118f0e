// Discovery time for 200 namespaces this bench creates (1 node with a cni0 bridge, 199 pods on it, each
// with a veth), median of 5 runs per concurrency setting, side by side. Removes everything it made.
// Run: flock /tmp/pj-lab.lock npx tsx bench/topology-discovery.ts
import { createProgramReader } from '../server/topology/bpf-programs';
import { discover, type DiscoverOptions } from '../server/topology/discover';
import { loadavg } from 'node:os';
import { exec, execOk } from '../server/sys/exec';

const P = 'pjt-topo-b';
const N = 200;
const RUNS = 5;
const OBJ = new URL('../probes/build/lab/drop-all.bpf.o', import.meta.url).pathname;

async function setup(): Promise<void> {
  const node = `${P}node`;
  const lines = [`netns add ${node}`];
  for (let i = 1; i < N; i++) lines.push(`netns add ${P}${i}`);
  await execOk(['ip', '-b', '-'], { input: lines.join('\n') + '\n' });
  const inNode: string[] = ['link add cni0 type bridge', 'link set cni0 up'];
  for (let i = 1; i < N; i++) {
    inNode.push(`link add v${i} type veth peer name eth0 netns ${P}${i}`, `link set v${i} master cni0 up`);
  }
  await execOk(['ip', '-n', node, '-b', '-'], { input: inNode.join('\n') + '\n' });
  // One tc program in one pod, so the machine has device programs and the per-namespace read runs.
  const pod1 = ['nsenter', `--net=/var/run/netns/${P}1`, '--', 'tc'];
  await execOk([...pod1, 'qdisc', 'add', 'dev', 'eth0', 'clsact']);
  await execOk([...pod1, 'filter', 'add', 'dev', 'eth0', 'ingress', 'bpf', 'da', 'obj', OBJ, 'sec', 'tc']);
}

/** Per-namespace cost of the two ways to list tc programs, as xargs chains over every bench namespace. */
async function rawPerNs(argv: readonly string[]): Promise<number> {
  const paths = Array.from({ length: N }, (_, i) => `/var/run/netns/${P}${i === 0 ? 'node' : i}`);
  const halves = [paths.filter((_, i) => i % 2 === 0), paths.filter((_, i) => i % 2 === 1)];
  const s = performance.now();
  await Promise.all(
    halves.map((h) => exec(['xargs', '-0', '-I{}', 'nsenter', '--net={}', '--', ...argv], { input: h.join('\0') })),
  );
  return performance.now() - s;
}

async function teardown(): Promise<void> {
  const names = (await exec(['ip', 'netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(P));
  if (names.length) await exec(['ip', '-b', '-'], { input: names.map((n) => `netns del ${n}`).join('\n') + '\n' });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

async function main(): Promise<void> {
  await teardown();
  const t0 = performance.now();
  await setup();
  const setupMs = performance.now() - t0;
  try {
    const rows: string[] = [];
    let total = 0;
    let resolved = 0;
    const modes: { label: string; opts: DiscoverOptions }[] = [
      { label: 'xargs, 2 chains (default)', opts: { namedMode: 'xargs', streams: 2 } },
      { label: 'default, BPF programs not read (before issue 12)', opts: { programs: false } },
      {
        label: 'default, programs re-read in every namespace (signal moved)',
        opts: { programs: createProgramReader({ slices: 1 }) },
      },
      { label: 'xargs, 1 chain', opts: { namedMode: 'xargs', streams: 1 } },
      { label: '`ip -all netns exec`', opts: { namedMode: 'all' } },
      { label: 'one Node spawn per namespace (8 in flight)', opts: { namedMode: 'each', concurrency: 8 } },
    ];
    // Rounds interleave the modes so background load on the shared machine hits them alike.
    const times = modes.map(() => [] as number[]);
    for (const m of modes) await discover(m.opts); // warm-up: module loads, page cache, list-id cache
    for (let r = 0; r < RUNS; r++) {
      for (const [i, m] of modes.entries()) {
        const s = performance.now();
        const d = await discover(m.opts);
        times[i]?.push(performance.now() - s);
        total = d.topology.namespaces.length;
        resolved = d.topology.namespaces.filter(
          (n) => n.name.startsWith(P) && n.kind === 'pod' && n.interfaces.some((f) => f.peer),
        ).length;
      }
    }
    const raw: string[] = [];
    for (const [label, argv] of [
      ['`bpftool --json net show` (tc + XDP at once)', ['bpftool', '--json', 'net', 'show']],
      ['`tc -j qdisc show` (only the first of the passes tc needs)', ['tc', '-j', 'qdisc', 'show']],
    ] as const) {
      const t: number[] = [];
      for (let r = 0; r < 3; r++) t.push(await rawPerNs(argv));
      raw.push(`| ${label} | ${median(t).toFixed(0)} |`);
    }
    const base = median(times[0] ?? []);
    modes.forEach((m, i) => {
      const t = times[i] ?? [];
      rows.push(
        `| ${m.label} | ${median(t).toFixed(0)} | ${Math.min(...t).toFixed(0)} | ${Math.max(...t).toFixed(0)} | ${(median(t) / base).toFixed(2)}x |`,
      );
    });
    process.stdout.write(
      [
        '## Topology discovery',
        '',
        `${N} namespaces created by the bench (1 node with cni0 + ${N - 1} pods, one veth each), ${total} namespaces discovered in total`,
        `(${resolved} bench pods with their veth peer resolved). Median of ${RUNS} runs after one warm-up; setup took ${(setupMs / 1000).toFixed(1)} s.`,
        '',
        '| how named namespaces are read | median ms | min ms | max ms | vs default |',
        '|---|---|---|---|---|',
        ...rows,
        '',
        `One bench pod has a tc program, so the default (which reuses namespaces without programs while the`,
        '`bpftool prog show` gains no new tc-capable id) re-reads that namespace plus a rolling slice of <= 4 others.',
        '',
        `Listing programs in all ${N} bench namespaces, 2 xargs chains, median of 3:`,
        '',
        '| per-namespace command | ms for all |',
        '|---|---|',
        ...raw,
        '',
        `Target: < 500 ms with the default. Load average during the run: ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')} (shared 2-core machine).`,
        '',
      ].join('\n'),
    );
  } finally {
    await teardown();
  }
}

main().catch(async (e: unknown) => {
  await teardown();
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
