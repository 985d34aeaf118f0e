// What issue 12's probe additions cost traffic nobody traces, side by side in one run (modes interleaved
// per round, medians of ratios paired with the untraced run of the same round):
//   - iperf3 pod-a -> pod-c with a live view on another flow (the 0.97× target);
//   - the same with a follow's filter (`sock: true`), which attaches tp_btf/sys_enter for connect();
//   - 300 TCP connects from pod-a to pod-c's echo server, untraced and with that follow's filter;
// then one pass with kernel.bpf_stats_enabled for each program's time per run (on_sys_enter included).
// Root, under the lab lock:
//   flock /tmp/pj-lab.lock npx tsx bench/hook-cost.ts [--rounds 7] [--seconds 2]
// For the previous build, run it in that checkout too: bench/side-by-side.sh copies it there.
import { execFileSync } from 'node:child_process';
import {
  arg,
  iperf as iperfFor,
  iperfServer,
  median,
  nsList,
  OTHER_FLOW,
  probeNsPerRun,
  run,
  whileSubscribed,
} from './common';
import { labUp } from '../server/lab/index';
import { ProbeLoader, type KernelFilter } from '../server/tracer/loader';

const ROUNDS = arg('rounds', 7);
const SECONDS = arg('seconds', 2);
const CONNECTS = 2000;
/** A follow's filter on a flow nobody sends: every connect() is recorded, no packet matches. */
const FOLLOW_OTHER: KernelFilter = { ...OTHER_FLOW, sock: true };

// perl is Essential on Debian: one process making CONNECTS connections, so the time is the syscalls'.
const CONNECT_LOOP = `use Socket; use Time::HiRes qw(time); my $t = time;
for (1..${CONNECTS}) { socket(my $s, AF_INET, SOCK_STREAM, 0) or die; connect($s, pack_sockaddr_in(8080, inet_aton('10.244.2.2'))) or die "connect: $!"; close $s }
printf "%.3f\\n", (time - $t) * 1000;`;
const connects = async (): Promise<number> =>
  Number((await run('nsenter', ['--net=/var/run/netns/pod-a', '--', 'perl', '-e', CONNECT_LOOP])).trim());

async function main(): Promise<void> {
  execFileSync('make', ['-s', '-C', new URL('../probes', import.meta.url).pathname], { stdio: 'inherit' });
  await labUp();
  const server = await iperfServer();
  const loader = new ProbeLoader(undefined, 0);
  await loader.ensureStarted();
  const iperf = (): Promise<number> => iperfFor(SECONDS);

  const res = { untraced: [] as number[], live: [] as number[], follow: [] as number[] };
  const conn = { untraced: [] as number[], follow: [] as number[] };
  const modes: (() => Promise<void>)[] = [
    async () => void res.untraced.push(await iperf()),
    async () => void res.live.push(await whileSubscribed(loader, OTHER_FLOW, iperf)),
    async () => void res.follow.push(await whileSubscribed(loader, FOLLOW_OTHER, iperf)),
    async () => void conn.untraced.push(await connects()),
    async () => void conn.follow.push(await whileSubscribed(loader, FOLLOW_OTHER, connects)),
  ];
  for (let r = 0; r < ROUNDS; r++) for (let k = 0; k < modes.length; k++) await modes[(r + k) % modes.length]?.();

  // Each program's own time per run (on_sys_enter runs once per syscall on the machine).
  const stats = await probeNsPerRun(
    [
      () => whileSubscribed(loader, OTHER_FLOW, iperf),
      () => whileSubscribed(loader, FOLLOW_OTHER, iperf),
      () => whileSubscribed(loader, FOLLOW_OTHER, connects),
    ],
    100,
  );
  const [statsLive, statsFollow, statsConnect] = stats.map(nsList);
  await loader.stop();
  server.kill();

  const paired = (xs: readonly number[], base: readonly number[]): string =>
    median(xs.map((x, i) => x / (base[i] as number))).toFixed(3);
  console.log(
    `iperf3 untraced: ${median(res.untraced).toFixed(2)} Gbit/s (${res.untraced.map((x) => x.toFixed(2)).join(', ')})`,
  );
  console.log(`live view on another flow: ${paired(res.live, res.untraced)}× paired`);
  console.log(`follow filter with sock watch on another flow: ${paired(res.follow, res.untraced)}× paired`);
  console.log(
    `${CONNECTS} connects: untraced ${median(conn.untraced).toFixed(1)} ms, with sock watch ${median(conn.follow).toFixed(1)} ms (${paired(conn.follow, conn.untraced)}× time, paired)`,
  );
  console.log(`ns per run, iperf3 + live view: ${statsLive}`);
  console.log(`ns per run, iperf3 + follow filter: ${statsFollow}`);
  console.log(`ns per run, connects + follow filter: ${statsConnect}`);
  // The last line is what bench/side-by-side.sh keeps.
  console.log(
    `live ${paired(res.live, res.untraced)}× follow ${paired(res.follow, res.untraced)}× connects ${paired(conn.follow, conn.untraced)}× | ${statsFollow} | ${statsConnect}`,
  );
}

void main();
