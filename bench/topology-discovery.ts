// Discovery time for 200 namespaces this bench creates (1 node with a cni0 bridge, 199 pods on it, each
// with a veth), median of 5 runs per concurrency setting, side by side. Removes everything it made.
// Run: flock /tmp/pj-lab.lock npx tsx bench/topology-discovery.ts
import { discover, type DiscoverOptions } from '../server/topology/discover';
import { loadavg } from 'node:os';
import { exec, execOk } from '../server/sys/exec';

const P = 'pjt-topo-b';
const N = 200;
const RUNS = 5;

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
