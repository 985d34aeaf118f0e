// Soak: N viewers (real socket.io clients, one socket each) of one live trace while `ping -f` bursts run,
// for `--minutes`. It builds its own pair of namespaces (pjb-a, pjb-b, a veth between them), so it does
// not need the lab; it runs the server (production HTTP routing and gateway, no Next) as a child process
// and samples that child's RSS and CPU. Root.
//   npx tsx bench/soak.ts [--minutes 10] [--viewers 30] [--cycle 20] [--burst 2] [--profile DIR] [--gc-probe]
//                         [--mem-log FILE]
// (--mem-log writes the server's memory breakdown each second, as TSV: RSS, V8 spaces, external/arrayBuffers.)
// (--gc-probe forces a full GC in the server before each burst and reports the live heap after it: a
// leak check, which also changes what RSS does, so the RSS verdict comes from a run without it).
//
// Latency is kernel-to-browser, measured two ways:
// - every journey a viewer receives: its receive time on CLOCK_MONOTONIC (process.hrtime, the clock
//   bpf_ktime_get_ns reads) minus the journey's `endNs` (the kernel time of the packet's last event);
// - marker pings: a `ping -D -i 0.1` to a second address runs the whole time; its send time is the reply's
//   timestamp minus its RTT (wall clock, as the clients'), and each viewer notes when the journey of that
//   echo request (matched by icmp seq) reaches it; a marker not received is counted.
// A journey or marker is "during" a burst if its packet was in the kernel while the flood ran, "settling"
// in the second after, "after" from then to the next burst.
// Prints a markdown section (kept in bench/results/soak.md).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LiveBatch, LiveStarted } from '../server/protocol/tracer';
import { ask, connectTo, type PjClient } from '../test/socket';
import { arg, childTracker, Histogram, median, p95, procSample as sample, r0, run, sleep, USER_HZ } from './common';

const A = 'pjb-a';
const B = 'pjb-b';
const FLOOD_DST = '10.250.0.2';
const MARKER_DST = '10.250.0.3';

/** The child: the server's HTTP side and gateway on an ephemeral port; it ends with its parent's pipe. */
async function serve(): Promise<void> {
  const { createGateway } = await import('../server/gateway');
  const { requestListener } = await import('../server/gateway/http');
  const http = createServer(requestListener((_req, res) => void res.writeHead(404).end('not ours')));
  const gateway = createGateway(http);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  process.stdout.write(`port ${(http.address() as AddressInfo).port}\n`);
  // The JS heap and buffers, for the parent to tell a heap that grows from one that breathes.
  setInterval(() => {
    const m = process.memoryUsage();
    process.stdout.write(`mem ${m.heapUsed} ${m.heapTotal} ${m.external + m.arrayBuffers}\n`);
    // Where RSS sits: each V8 space's committed size, and what lives outside the V8 heap.
    const spaces = getHeapSpaceStatistics()
      .map((sp) => `${sp.space_name}=${sp.physical_space_size}`)
      .join(' ');
    const q = sendQueues(gateway.io.sockets.sockets.values());
    process.stdout.write(
      `mem2 rss=${m.rss} heapUsed=${m.heapUsed} external=${m.external} arrayBuffers=${m.arrayBuffers} ${spaces} wsBuffered=${q.bytes} queued=${q.packets * 1048576}\n`,
    );
  }, 1000).unref();
  const close = (): void => void gateway.close().finally(() => process.exit(0));
  process.stdin.on('end', close);
  // `--gc-probe`: the parent asks for a full GC before each burst, and the live heap after it.
  createInterface({ input: process.stdin }).on('line', (l) => {
    if (l !== 'gc') return;
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    process.stdout.write(`gc ${m.heapUsed} ${m.rss}\n`);
  });
  process.on('SIGTERM', close);
}

/** What the server holds for its viewers: bytes the websockets have not sent, packets engine.io queued. */
function sendQueues(sockets: Iterable<{ conn: unknown }>): { bytes: number; packets: number } {
  let bytes = 0;
  let packets = 0;
  for (const s of sockets) {
    const conn = s.conn as { writeBuffer?: unknown[]; transport?: { socket?: { bufferedAmount?: number } } };
    packets += conn.writeBuffer?.length ?? 0;
    bytes += conn.transport?.socket?.bufferedAmount ?? 0;
  }
  return { bytes, packets };
}

async function setUpNetns(): Promise<void> {
  await tearDownNetns();
  const ip = (ns: string | undefined, ...a: string[]): Promise<string> => run('ip', ns ? ['-n', ns, ...a] : a);
  await ip(undefined, 'netns', 'add', A);
  await ip(undefined, 'netns', 'add', B);
  await ip(undefined, 'link', 'add', 'pjb-va', 'netns', A, 'type', 'veth', 'peer', 'pjb-vb', 'netns', B);
  await ip(A, 'addr', 'add', '10.250.0.1/29', 'dev', 'pjb-va');
  await ip(B, 'addr', 'add', `${FLOOD_DST}/29`, 'dev', 'pjb-vb');
  await ip(B, 'addr', 'add', `${MARKER_DST}/29`, 'dev', 'pjb-vb');
  for (const [ns, dev] of [
    [A, 'pjb-va'],
    [B, 'pjb-vb'],
  ] as const) {
    await ip(ns, 'link', 'set', 'lo', 'up');
    await ip(ns, 'link', 'set', dev, 'up');
  }
}

async function tearDownNetns(): Promise<void> {
  const have = readNetns();
  for (const ns of [A, B]) if (have.includes(ns)) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
}

function readNetns(): string[] {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((p) => p.startsWith('/run/netns/') || p.startsWith('/var/run/netns/'))
      .map((p) => p.slice(p.lastIndexOf('/') + 1));
  } catch {
    return [];
  }
}

/** The server's latest heap figures (bytes), as it reports them each second. */
const heap = { used: 0, total: 0, external: 0 };
const GC_PROBE = process.argv.includes('--gc-probe');
const MEM_LOG = ((i) => (i >= 0 ? process.argv[i + 1] : undefined))(process.argv.indexOf('--mem-log'));
/** Burst state for the memory log's rows (set by main). */
let memPhase = 'quiet';
let memHeader = false;
const memT0 = Date.now();
function memLog(l: string): void {
  if (!MEM_LOG) return;
  const kv = l.split(' ').map((p) => p.split('='));
  if (!memHeader) writeFileSync(MEM_LOG, ['t', 'phase', ...kv.map((p) => p[0])].join('\t') + '\n');
  memHeader = true;
  const mbs = kv.map((p) => (Number(p[1]) / 1048576).toFixed(1));
  appendFileSync(MEM_LOG, [((Date.now() - memT0) / 1000).toFixed(0), memPhase, ...mbs].join('\t') + '\n');
}
/** Answers to `gc` requests: the live heap and RSS after a full GC (bytes). */
const afterGc: ((m: { heap: number; rss: number }) => void)[] = [];

/** Everything this run started, ended on every exit path. */
const children = childTracker();
const track = children.track;
async function cleanUp(): Promise<void> {
  await children.endAll();
  await tearDownNetns();
}

async function startServer(): Promise<{ child: ChildProcess; base: string }> {
  // `--profile DIR`: a V8 CPU profile of the server, written when it exits.
  const at = process.argv.indexOf('--profile');
  const profile = at >= 0 ? ['--cpu-prof', `--cpu-prof-dir=${process.argv[at + 1] ?? '.'}`] : [];
  if (GC_PROBE) profile.push('--expose-gc');
  const self = fileURLToPath(import.meta.url);
  const child = track(
    spawn(process.execPath, [...process.execArgv, ...profile, self, '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    lines.on('line', (l) => {
      if (l.startsWith('port ')) resolve(Number(l.slice(5)));
      const m = /^mem (\d+) (\d+) (\d+)$/.exec(l);
      if (m) [heap.used, heap.total, heap.external] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (MEM_LOG && l.startsWith('mem2 ')) memLog(l.slice(5));
      const g = /^gc (\d+) (\d+)$/.exec(l);
      if (g) afterGc.shift()?.({ heap: Number(g[1]), rss: Number(g[2]) });
    });
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

type Phase = 'during' | 'settling' | 'after';
const PHASES: readonly Phase[] = ['during', 'settling', 'after'];

interface Viewer {
  readonly c: PjClient;
  /** Every journey's kernel-to-receive latency by phase. */
  readonly lag: Record<Phase, Histogram>;
  /** Marker icmp seq -> receive time (ms, wall clock). */
  readonly got: Map<number, number>;
  journeys: number;
  dropped: number;
  batches: number;
  lost: number;
}

function watch(c: PjClient, trace: string, phaseOf: (wallMs: number) => Phase | undefined): Viewer {
  const lag = { during: new Histogram(), settling: new Histogram(), after: new Histogram() };
  const v: Viewer = { c, lag, got: new Map(), journeys: 0, dropped: 0, batches: 0, lost: 0 };
  c.on('tracer:live', (b: LiveBatch) => {
    if (b.trace !== trace) return;
    const now = Date.now();
    const hr = Number(process.hrtime.bigint());
    for (const j of b.journeys) {
      if (j.endNs === undefined) continue;
      const ms = (hr - j.endNs) / 1e6;
      const ph = phaseOf(now - ms);
      if (ph) lag[ph].add(ms);
    }
    v.batches++;
    v.journeys += b.journeys.length;
    v.dropped += b.dropped;
    v.lost = b.lost;
    for (const j of b.journeys) {
      const h = j.hops[0];
      if (h?.dst === MARKER_DST && h.icmp?.type === 8 && !v.got.has(h.icmp.seq)) v.got.set(h.icmp.seq, now);
    }
  });
  return v;
}

/** Marker pings: seq -> send time (ms, wall clock), from `ping -D` reply lines. */
function markers(): { sent: Map<number, number>; child: ChildProcess } {
  const sent = new Map<number, number>();
  const child = track(
    spawn('ip', ['netns', 'exec', A, 'ping', '-D', '-n', '-i', '0.1', MARKER_DST], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  lines.on('line', (l) => {
    const m = /^\[(\d+\.\d+)\].*icmp_seq=(\d+).*time=([\d.]+) ms/.exec(l);
    if (m) sent.set(Number(m[2]), Number(m[1]) * 1000 - Number(m[3]));
  });
  return { sent, child };
}

interface Burst {
  readonly start: number;
  readonly end: number;
}

async function burst(seconds: number): Promise<Burst> {
  const start = Date.now();
  const flood = track(
    spawn('ip', ['netns', 'exec', A, 'ping', '-f', '-q', '-w', String(seconds), FLOOD_DST], { stdio: 'ignore' }),
  );
  await new Promise((r) => flood.on('exit', r));
  return { start, end: Date.now() };
}

function phaseOf(t: number, bursts: readonly Burst[]): Phase | undefined {
  for (const b of bursts) {
    if (t >= b.start && t <= b.end) return 'during';
    if (t > b.end && t < b.end + 1000) return 'settling';
  }
  return bursts.some((b) => t >= b.end + 1000) ? 'after' : undefined;
}

async function main(): Promise<void> {
  const minutes = arg('minutes', 10);
  const viewerCount = arg('viewers', 30);
  const cycleS = arg('cycle', 20);
  const burstS = arg('burst', 2);
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => void cleanUp().finally(() => process.exit(130)));
  try {
    await setUpNetns();
    const { child: server, base } = await startServer();
    const pid = server.pid as number;
    const viewers: Viewer[] = [];
    const bursts: Burst[] = [];
    let flooding: number | undefined;
    // A burst still running counts as one from its start.
    const phase = (t: number): Phase | undefined =>
      flooding !== undefined && t >= flooding ? 'during' : phaseOf(t, bursts);
    for (let i = 0; i < viewerCount; i++) {
      const c = await connectTo(base);
      const a = await ask<LiveStarted>(c, 'tracer:live:start', { liveId: `soak${i}`, proto: 'icmp', netns: [A, B] });
      if (!a.ok) throw new Error(`viewer ${i}: ${a.error}`);
      viewers.push(watch(c, a.value.trace, phase));
    }
    const mark = markers();
    const rss: { t: number; kb: number }[] = [];
    // Just before each burst: the same point of every cycle, so a burst's transient heap is not in it.
    const quietRss: { t: number; kb: number }[] = [];
    const t0 = Date.now();
    const cpu: { phase: 'burst' | 'quiet'; ticks: number; ms: number }[] = [];
    const heapKb: { t: number; kb: number }[] = [];
    const gcHeap: { t: number; kb: number }[] = [];
    const gcRss: { t: number; kb: number }[] = [];
    const sampler = setInterval(() => {
      const t = (Date.now() - t0) / 1000;
      rss.push({ t, kb: sample(pid).rssKb });
      heapKb.push({ t, kb: heap.used / 1024 });
    }, 5000);
    const endAt = t0 + minutes * 60_000;
    while (Date.now() + cycleS * 1000 <= endAt + 1) {
      const quietMs = (cycleS - burstS) * 1000;
      let s = sample(pid);
      let t = Date.now();
      await sleep(quietMs / 2);
      cpu.push({ phase: 'quiet', ticks: sample(pid).ticks - s.ticks, ms: Date.now() - t });
      s = sample(pid);
      t = Date.now();
      quietRss.push({ t: (Date.now() - t0) / 1000, kb: sample(pid).rssKb });
      if (GC_PROBE) {
        const g = await new Promise<{ heap: number; rss: number }>((res) => {
          afterGc.push(res);
          server.stdin?.write('gc\n');
        });
        gcHeap.push({ t: (Date.now() - t0) / 1000, kb: g.heap / 1024 });
        gcRss.push({ t: (Date.now() - t0) / 1000, kb: g.rss / 1024 });
      }
      flooding = Date.now();
      memPhase = 'burst';
      bursts.push(await burst(burstS));
      memPhase = 'quiet';
      flooding = undefined;
      cpu.push({ phase: 'burst', ticks: sample(pid).ticks - s.ticks, ms: Date.now() - t });
      await sleep(quietMs / 2);
    }
    clearInterval(sampler);
    mark.child.kill('SIGINT');
    await sleep(3000); // the last markers' journeys
    for (const v of viewers) v.c.close();
    process.stdout.write(
      report({ minutes, viewers, sent: mark.sent, bursts, rss, quietRss, heapKb, gcHeap, gcRss, cpu, cycleS, burstS }),
    );
  } finally {
    await cleanUp();
  }
}

interface Run {
  readonly minutes: number;
  readonly viewers: readonly Viewer[];
  readonly sent: ReadonlyMap<number, number>;
  readonly bursts: readonly Burst[];
  readonly rss: readonly { t: number; kb: number }[];
  readonly quietRss: readonly { t: number; kb: number }[];
  readonly heapKb: readonly { t: number; kb: number }[];
  readonly gcHeap: readonly { t: number; kb: number }[];
  readonly gcRss: readonly { t: number; kb: number }[];
  readonly cpu: readonly { phase: 'burst' | 'quiet'; ticks: number; ms: number }[];
  readonly cycleS: number;
  readonly burstS: number;
}

const mb = (kb: number): string => (kb / 1024).toFixed(1);

/** The first sample after warm-up against the last, the range after warm-up, and that range around its median. */
function rssLine(label: string, xs: readonly { t: number; kb: number }[], warm: number): string {
  const after = xs.filter((s) => s.t >= warm);
  const w = after[0]?.kb ?? NaN;
  const end = after.at(-1)?.kb ?? NaN;
  const lo = Math.min(...after.map((s) => s.kb));
  const hi = Math.max(...after.map((s) => s.kb));
  const med = median(after.map((s) => s.kb));
  const pct = (x: number, of = w): string => `${x >= 0 ? '+' : ''}${((x / of) * 100).toFixed(1)}%`;
  return `Server RSS (${label}, ${xs.length} samples): ${mb(xs[0]?.kb ?? NaN)} MB first, ${mb(w)} MB after the ${warm} s warm-up, ${mb(end)} MB at the end (${pct(end - w)}); after warm-up ${mb(lo)}–${mb(hi)} MB (${pct(lo - w)} to ${pct(hi - w)}), median ${mb(med)} MB (band ${pct(lo - med, med)} to ${pct(hi - med, med)} of the median).`;
}

function report(r: Run): string {
  const lagRows = PHASES.map((ph) => {
    const all = new Histogram();
    for (const v of r.viewers) all.merge(v.lag[ph]);
    const med = r.viewers.map((v) => v.lag[ph].quantile(0.5));
    const p95s = r.viewers.map((v) => v.lag[ph].quantile(0.95));
    return `| ${ph} | ${all.n} | ${r0(all.quantile(0.5))} | ${r0(all.quantile(0.95))} | ${r0(Math.min(...med))}–${r0(Math.max(...med))} | ${r0(Math.min(...p95s))}–${r0(Math.max(...p95s))} |`;
  });
  const rows = PHASES.map((ph) => {
    const seqs = [...r.sent].filter(([, t]) => phaseOf(t, r.bursts) === ph);
    const perViewer = r.viewers.map((v) => {
      const lat = seqs.flatMap(([seq, t]) => (v.got.has(seq) ? [(v.got.get(seq) as number) - t] : []));
      return { lat, missed: seqs.length - lat.length };
    });
    const pooled = perViewer.flatMap((p) => p.lat);
    const medians = perViewer.map((p) => median(p.lat));
    const p95s = perViewer.map((p) => p95(p.lat));
    const missed = perViewer.reduce((n, p) => n + p.missed, 0);
    return `| ${ph} | ${seqs.length} | ${r0(median(pooled))} | ${r0(p95(pooled))} | ${r0(Math.min(...medians))}–${r0(Math.max(...medians))} | ${r0(Math.min(...p95s))}–${r0(Math.max(...p95s))} | ${missed} of ${seqs.length * r.viewers.length} |`;
  });
  const warm = Math.min(60, (r.minutes * 60) / 4);
  const hz = USER_HZ;
  const cpuPct = (ph: 'burst' | 'quiet'): string => {
    const xs = r.cpu.filter((c) => c.phase === ph);
    return r0((100 * xs.reduce((n, c) => n + c.ticks / hz, 0)) / (xs.reduce((n, c) => n + c.ms, 0) / 1000));
  };
  const v0 = r.viewers[0];
  const dropped = r.viewers.map((v) => v.dropped);
  return [
    `## Soak: ${r.viewers.length} viewers of one live trace, ${r.minutes} min, \`ping -f\` for ${r.burstS} s every ${r.cycleS} s (${r.bursts.length} bursts)`,
    '',
    "Kernel-to-browser latency of every journey received (ms, receive time minus the packet's last kernel event):",
    '',
    '| phase | journeys (all viewers) | median (all viewers) | p95 (all viewers) | median per viewer | p95 per viewer |',
    '|---|---:|---:|---:|---:|---:|',
    ...lagRows,
    '',
    'Kernel-to-browser latency of marker pings (ms; a marker every 100 ms; per viewer, then the range across viewers):',
    '',
    '| phase | markers | median (all viewers) | p95 (all viewers) | median per viewer | p95 per viewer | not received |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Journeys received per viewer: ${v0?.journeys ?? 0} in ${v0?.batches ?? 0} batches; dropped (the batches' \`dropped\`) per viewer: ${Math.min(...dropped)}–${Math.max(...dropped)}; lost in the kernel ring: ${v0?.lost ?? 0}.`,
    '',
    rssLine('every 5 s', r.rss, warm),
    rssLine('just before each burst', r.quietRss, warm),
    rssLine('JS heap used, every 5 s', r.heapKb, warm).replace('Server RSS (JS', 'Server (JS'),
    ...(r.gcHeap.length
      ? [
          rssLine('after a forced full GC before each burst', r.gcRss, warm),
          rssLine('JS heap live after that GC', r.gcHeap, warm).replace('Server RSS (JS', 'Server (JS'),
        ]
      : []),
    `Server CPU: ${cpuPct('burst')}% of one core during bursts, ${cpuPct('quiet')}% between them.`,
    '',
    `RSS samples (s: MB): ${r.rss
      .filter((_, i) => i % 6 === 0)
      .map((s) => `${Math.round(s.t)}: ${mb(s.kb)}`)
      .join(', ')}`,
    '',
  ].join('\n');
}

if (process.argv.includes('--serve')) await serve();
else await main();
