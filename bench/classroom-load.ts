// Issue 13's classroom of 30: the real server (`packet-journey serve --require-tokens` on 127.0.0.1, Next
// and all, tokens from the links it prints), the real lab and probe loader, and 30 socket.io clients in this
// process: 1 instructor and 29 students who join with names and follow the instructor's broadcast. Every
// client does what the page does on load (watch the lab, the topology and the loader status) and all 30
// view one live trace (icmp, shared). `ping -f` pod-a → pod-c runs the whole time, and the instructor steps
// its view (the journey and the step index change) every `--step-ms`.
// Measured: the server's CPU and RSS (/proc, each second; the loader's CPU beside it), kernel → client
// latency of every journey each client receives (its CLOCK_MONOTONIC receive time, process.hrtime, minus
// the journey's `endNs`, the kernel time of the packet's last event), the broadcast step (instructor emit →
// each student's receive, one clock), and what the batches counted as dropped. Root; hold the lab lock:
//   flock /tmp/pj-lab.lock npx tsx bench/classroom-load.ts [--minutes 2] [--students 29] [--step-ms 500]
//                                                          [--pps 0] [--warm S] [--series FILE.csv] [--gc-log FILE]
// --pps N: ping at N packets/s instead of a flood. --gc-log FILE: the server runs with --trace-gc, and its
// lines go there. The series (one row per second) goes to FILE.csv (default
// bench/results/classroom-load-<minutes>min.csv) and the summary to FILE.json; the report is printed. The lab
// is brought up if it is down (and down again after); the server, clients and ping end on every exit path.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { labDown, labStatus, labUp } from '../server/lab/index';
import type { ClassView, ClassViewMsg } from '../server/protocol/classroom';
import type { Journey, LiveBatch, LiveStarted, LoaderStatus } from '../server/protocol/tracer';
import { ask, connectTo, type PjClient } from '../test/socket';
import {
  arg,
  childTracker,
  Histogram,
  median,
  p95,
  procSample,
  r0,
  runBench,
  sleep,
  USER_HZ,
  whenLine,
} from './common';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FLOOD_FROM = 'pod-a';
const FLOOD_TO = '10.244.2.2'; // pod-c
const POD_A = `/var/run/netns/${FLOOD_FROM}`;
const FILTER = { proto: 'icmp' } as const;
/** Steps through one journey before the instructor shows a newer one (full, so students get it whole). */
const STEPS_PER_JOURNEY = 8;

const children = childTracker();
const GC_LOG = ((i) => (i >= 0 ? process.argv[i + 1] : undefined))(process.argv.indexOf('--gc-log'));
const gcFlags = GC_LOG ? ['--trace-gc'] : [];
let labIsOurs = false;
let runDir: string | undefined;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** `packet-journey serve --require-tokens` with its tokens in a folder of its own (not the machine's). */
async function startServer(port: number): Promise<{ pid: number; base: string; instructor: string; student: string }> {
  if (!existsSync(join(ROOT, '.next', 'BUILD_ID'))) throw new Error('no production build: run `npx next build` first');
  runDir = mkdtempSync(join(tmpdir(), 'pjb-class-'));
  const cli = join(ROOT, 'server', 'cli.ts');
  const child = children.track(
    spawn(
      process.execPath,
      [...process.execArgv, ...gcFlags, cli, 'serve', '--port', String(port), '--require-tokens'],
      {
        env: { ...process.env, PJ_RUN_DIR: runDir },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ),
  );
  const out = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  // With --gc-log: V8's one line per collection (heap before -> after, MB), stamped with the bench's time.
  if (GC_LOG) {
    writeFileSync(GC_LOG, '');
    const t0 = performance.now();
    out.on('line', (l) => {
      if (/Mark-Compact|Scavenge|Mark-sweep/.test(l))
        appendFileSync(GC_LOG, `${((performance.now() - t0) / 1000).toFixed(1)} ${l}\n`);
    });
  }
  const tokenOf = (l: string): string | undefined =>
    URL.parse(l.slice(l.lastIndexOf(' ') + 1))?.searchParams.get('token') ?? undefined;
  const [instructor, student] = await Promise.all([
    whenLine(out, child, (l) => (l.startsWith('instructor link') ? tokenOf(l) : undefined), 120_000),
    whenLine(out, child, (l) => (l.startsWith('student link') ? tokenOf(l) : undefined), 120_000),
  ]);
  return { pid: child.pid as number, base: `http://127.0.0.1:${port}`, instructor, student };
}

interface Viewer {
  readonly c: PjClient;
  /** Kernel → this client, ms, of every journey received after warm-up. */
  readonly lag: Histogram;
  journeys: number;
  dropped: number;
  lost: number;
  newest?: Journey;
}

/** What the 30 clients share: whether warm-up is over, and each batch's latency at the first client to read it. */
interface Room {
  measuring: boolean;
  /** Kernel → the first of the clients to read the batch: what the bench's own 30 reads do not add. */
  readonly first: Histogram;
  /** Batches already read by a client (by their first journey's id), with when. */
  readonly seen: Map<string, number>;
}

/** A client as the page makes one: the lab, topology and loader status watched, then the shared live view. */
async function viewer(base: string, token: string, name: string | null, room: Room): Promise<Viewer> {
  const c = await connectTo(base, { query: { token } });
  const must = async <T>(ev: Parameters<typeof ask>[1], req: unknown): Promise<T> => {
    const a = await ask<T>(c, ev, req);
    if (!a.ok) throw new Error(`${name ?? 'instructor'}: ${ev}: ${a.error}`);
    return a.value;
  };
  if (name !== null) await must('classroom:join', { name });
  for (const w of ['lab:watch', 'topology:watch', 'tracer:status:watch'] as const) await must(w, {});
  const { trace } = await must<LiveStarted>('tracer:live:start', { ...FILTER, liveId: 'class' });
  const v: Viewer = { c, lag: new Histogram(), journeys: 0, dropped: 0, lost: 0 };
  c.on('tracer:live', (b: LiveBatch) => {
    if (b.trace !== trace) return;
    const now = Number(process.hrtime.bigint());
    const key = b.journeys[0]?.id;
    const first = key !== undefined && !room.seen.has(key);
    if (first) room.seen.set(key, now);
    if (room.measuring)
      for (const j of b.journeys) {
        if (j.endNs === undefined) continue;
        v.lag.add((now - j.endNs) / 1e6);
        if (first) room.first.add((now - j.endNs) / 1e6);
      }
    v.journeys += b.journeys.length;
    v.dropped += b.dropped;
    v.lost = b.lost;
    const last = b.journeys.at(-1);
    if (last && last.hops.length > 1) v.newest = last;
  });
  return v;
}

/** The flood (or `pps` a second) for `seconds`; ping's own summary says how many it sent. */
function flood(seconds: number, pps: number): { child: ChildProcess; sent: Promise<number> } {
  const rate = pps > 0 ? ['-i', String(1 / pps)] : ['-f'];
  const child = children.track(
    spawn('ip', ['netns', 'exec', FLOOD_FROM, 'ping', ...rate, '-q', '-n', '-w', String(seconds), FLOOD_TO], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const sent = whenLine(lines, child, (l) => /^(\d+) packets transmitted/.exec(l)?.[1], (seconds + 30) * 1000).then(
    Number,
  );
  return { child, sent };
}

/** The machine's CPU ticks from /proc/stat: [busy, total]. */
function machineCpu(): number[] {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return [total - (f[3] ?? 0) - (f[4] ?? 0), total];
}
const machineBusy = (a: number[], b: number[]): number =>
  (100 * ((b[0] ?? 0) - (a[0] ?? 0))) / ((b[1] ?? 0) - (a[1] ?? 0));

interface Row {
  t: number;
  rssKb: number;
  serverCpu: number;
  loaderCpu: number;
  loaderRssKb: number;
  benchCpu: number;
  hopEvents: number;
  lost: number;
  journeys: number;
  dropped: number;
}

async function main(): Promise<void> {
  const minutes = arg('minutes', 2);
  const nStudents = arg('students', 29);
  const stepMs = arg('step-ms', 500);
  const pps = arg('pps', 0);
  const seconds = Math.round(minutes * 60);
  const warm = arg('warm', Math.min(60, seconds / 4));
  const at = process.argv.indexOf('--series');
  const series =
    at >= 0 ? (process.argv[at + 1] as string) : join(ROOT, 'bench', 'results', `classroom-load-${minutes}min.csv`);

  if (!(await labStatus()).up) {
    labIsOurs = true;
    await labUp();
  }
  // Another run's `lab down` (or up) under us would end the flood: the bench stops, not reports.
  const labNs = (): number | undefined => (existsSync(POD_A) ? statSync(POD_A).ino : undefined);
  const labAt = labNs();
  const server = await startServer(await freePort());
  const room: Room = { measuring: false, first: new Histogram(), seen: new Map() };
  const forget = setInterval(() => {
    const old = Number(process.hrtime.bigint()) - 10e9;
    for (const [key, t] of room.seen) if (t < old) room.seen.delete(key);
  }, 5000);
  // How late this process runs its callbacks: the part of every latency that is the bench's, not the server's.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const teacher = await viewer(server.base, server.instructor, null, room);
  const students: Viewer[] = [];
  for (let i = 0; i < nStudents; i++)
    students.push(await viewer(server.base, server.student, `student ${i + 1}`, room));

  // The loader's counters (the instructor watches them like the page's banner does).
  let loader: LoaderStatus | undefined;
  teacher.c.on('tracer:status:update', (s: LoaderStatus) => void (loader = s));
  // What one client is sent (every socket gets the same batches): the bandwidth a classroom network carries.
  let bytes = 0;
  teacher.c.io.engine.on('packet', (p: { data?: unknown }) => {
    if (room.measuring && typeof p.data === 'string') bytes += p.data.length;
  });

  // The broadcast: each student's receive of each step, against the instructor's emit (this process's clock).
  const sentAt = new Map<string, number>();
  const stepLag: number[] = [];
  const changeLag: number[] = [];
  let stepsSent = 0;
  let stepsGot = 0;
  for (const s of students) {
    const a = await ask<ClassViewMsg | null>(s.c, 'classroom:attend', { on: true });
    if (!a.ok) throw new Error(`attend: ${a.error}`);
    s.c.on('classroom:view', (m: ClassViewMsg) => {
      const t = sentAt.get(`${m.view?.journey?.id}:${m.view?.step}`);
      if (t === undefined || !room.measuring) return;
      stepsGot++;
      (m.view?.journey?.full ? changeLag : stepLag).push(performance.now() - t);
    });
  }
  let shown: Journey | undefined;
  const shownBytes: number[] = [];
  let step = 0;
  const stepper = setInterval(() => {
    const change = !shown || step >= Math.min(STEPS_PER_JOURNEY, shown.hops.length) - 1;
    if (change) {
      if (!teacher.newest) return;
      shown = teacher.newest;
      shownBytes.push(JSON.stringify(shown).length);
      step = 0;
    } else step++;
    const j = shown as Journey;
    const view: ClassView = {
      tab: 'follow',
      journey: { id: j.id, ...(change && { full: j }) },
      step,
      capture: null,
      packet: null,
    };
    // Only steps sent after warm-up count, so each one is expected from every student.
    if (room.measuring) {
      sentAt.set(`${j.id}:${step}`, performance.now());
      stepsSent++;
    }
    teacher.c.emit('classroom:view', view, () => undefined);
  }, stepMs);

  const ping = flood(seconds + 5, pps);
  const rows: Row[] = [];
  const t0 = performance.now();
  let prev = { s: procSample(server.pid), l: undefined as ReturnType<typeof procSample> | undefined };
  let prevCpu = process.cpuUsage();
  let prevT = t0;
  let prevLoader = { emitted: 0, lost: 0 };
  let prevView = { journeys: 0, dropped: 0 };
  let warmAt:
    { s: number; l: number; bench: NodeJS.CpuUsage; t: number; emitted: number; machine: number[] } | undefined;
  while (performance.now() - t0 < seconds * 1000) {
    await sleep(1000);
    if (labNs() !== labAt) throw new Error('the lab went down or was rebuilt during the run (another lab user?)');
    const now = performance.now();
    const dt = (now - prevT) / 1000;
    const s = procSample(server.pid);
    const lpid = loader?.pid;
    const l = lpid !== undefined && existsSync(`/proc/${lpid}`) ? procSample(lpid) : undefined;
    const cpu = process.cpuUsage();
    const pct = (ticks: number): number => (100 * ticks) / USER_HZ / dt;
    const counts = { emitted: loader?.emitted ?? 0, lost: loader?.lost ?? 0 };
    rows.push({
      t: Math.round((now - t0) / 100) / 10,
      rssKb: s.rssKb,
      serverCpu: pct(s.ticks - prev.s.ticks),
      loaderCpu: l && prev.l ? pct(l.ticks - prev.l.ticks) : NaN,
      loaderRssKb: l?.rssKb ?? NaN,
      benchCpu: (cpu.user + cpu.system - prevCpu.user - prevCpu.system) / 1e4 / dt,
      hopEvents: prevLoader.emitted ? (counts.emitted - prevLoader.emitted) / dt : NaN,
      lost: prevLoader.emitted ? (counts.lost - prevLoader.lost) / dt : NaN,
      journeys: (teacher.journeys - prevView.journeys) / dt,
      dropped: (teacher.dropped - prevView.dropped) / dt,
    });
    const last = rows.at(-1) as Row;
    if (Math.round(last.t) % 10 === 0)
      process.stderr.write(
        `${r0(last.t)} s: server RSS ${r0(last.rssKb / 1024)} MB, CPU ${r0(last.serverCpu)}%; ${r0(last.journeys)} journeys/s to each client, ${r0(last.dropped)}/s dropped; loader ${loader?.state ?? '?'}, ${r0(last.hopEvents / 1000)}k hop events/s\n`,
      );
    prev = { s, l };
    prevCpu = cpu;
    prevT = now;
    prevLoader = counts;
    prevView = { journeys: teacher.journeys, dropped: teacher.dropped };
    if (!room.measuring && now - t0 >= warm * 1000) {
      room.measuring = true;
      loop.enable();
      warmAt = { s: s.ticks, l: l?.ticks ?? NaN, bench: cpu, t: now, emitted: counts.emitted, machine: machineCpu() };
      for (const v of [teacher, ...students]) [v.journeys, v.dropped] = [0, 0];
      prevView = { journeys: 0, dropped: 0 };
    }
  }
  clearInterval(stepper);
  clearInterval(forget);
  loop.disable();
  const end = {
    s: procSample(server.pid).ticks,
    l: loader?.pid !== undefined && existsSync(`/proc/${loader.pid}`) ? procSample(loader.pid).ticks : NaN,
    bench: process.cpuUsage(),
    t: performance.now(),
    emitted: loader?.emitted ?? NaN,
  };
  ping.child.kill('SIGINT');
  const sent = await ping.sent.catch(() => NaN);
  const pingS = (performance.now() - t0) / 1000;
  await sleep(1000);
  for (const v of [teacher, ...students]) v.c.close();
  if (!warmAt) throw new Error(`the run (${seconds} s) ended inside its warm-up (${warm} s)`);

  const span = (end.t - warmAt.t) / 1000;
  const cpuOf = (ticks: number): number => (100 * ticks) / USER_HZ / span;
  const all = [teacher, ...students];
  const pooled = new Histogram();
  for (const v of all) pooled.merge(v.lag);
  const after = rows.filter((r) => r.t >= warm);
  const rss = after.map((r) => r.rssKb / 1024);
  const rssMed = median(rss);
  const range = (xs: readonly number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
  const summary = {
    date: new Date().toISOString(),
    minutes,
    warmS: warm,
    clients: all.length,
    students: nStudents,
    stepEveryMs: stepMs,
    flood: pps > 0 ? `ping at ${pps} pps` : 'ping -f',
    pingPerS: sent / pingS,
    hopEventsPerS: (end.emitted - warmAt.emitted) / span,
    kernelLost: loader?.lost ?? NaN,
    loader: loader && { state: loader.state, restarts: loader.restarts, lastError: loader.lastError },
    /** The whole machine (2 vCPUs, other work too): busy share over the measured span, load average after. */
    machineBusyPct: machineBusy(warmAt.machine, machineCpu()),
    loadAvg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    offeredJourneysPerS: (teacher.journeys + teacher.dropped) / span,
    journeysPerClientPerS: teacher.journeys / span,
    droppedPerClientPerS: teacher.dropped / span,
    journeysPerClient: range(all.map((v) => v.journeys)),
    droppedPerClient: range(all.map((v) => v.dropped)),
    serverCpuPct: cpuOf(end.s - warmAt.s),
    serverCpuP95Pct: p95(after.map((r) => r.serverCpu)),
    loaderCpuPct: cpuOf(end.l - warmAt.l),
    benchCpuPct: (end.bench.user + end.bench.system - warmAt.bench.user - warmAt.bench.system) / 1e4 / span,
    rssMb: {
      first: (rows[0]?.rssKb ?? NaN) / 1024,
      afterWarm: rss[0] ?? NaN,
      min: Math.min(...rss),
      median: rssMed,
      max: Math.max(...rss),
      last: rss.at(-1) ?? NaN,
    },
    /** min and max after warm-up against its median, %. */
    rssBandPct: range(rss).map((x) => (x / rssMed - 1) * 100),
    rssFlat: range(rss).every((x) => Math.abs(x / rssMed - 1) <= 0.1),
    /** The 5th and 95th percentiles of RSS after warm-up against its median, %: the band without GC's peaks. */
    rssP5P95Pct: [quantile(rss, 0.05), quantile(rss, 0.95)].map((x) => (x / rssMed - 1) * 100),
    lagMs: {
      journeys: pooled.n,
      median: pooled.quantile(0.5),
      p95: pooled.quantile(0.95),
      p95PerClient: range(all.map((v) => v.lag.quantile(0.95))),
      firstClientMedian: room.first.quantile(0.5),
      firstClientP95: room.first.quantile(0.95),
    },
    /** The bench process's own event-loop delay (ms). */
    benchLoopDelayMs: { median: loop.percentile(50) / 1e6, p95: loop.percentile(95) / 1e6, max: loop.max / 1e6 },
    journeyJsonBytes: median(shownBytes),
    sentMBPerClientPerS: bytes / 1e6 / span,
    broadcastMs: {
      steps: stepsSent,
      expected: stepsSent * nStudents,
      received: stepsGot,
      median: median(stepLag),
      p95: p95(stepLag),
      journeyChanges: changeLag.length,
      changeMedian: median(changeLag),
      changeP95: p95(changeLag),
    },
  };
  const csv = [
    'secs,rss_kb,server_cpu_pct,loader_cpu_pct,loader_rss_kb,bench_cpu_pct,hop_events_per_s,lost_per_s,journeys_per_s,dropped_per_s',
    ...rows.map((r) =>
      [r.t, r.rssKb, r.serverCpu, r.loaderCpu, r.loaderRssKb, r.benchCpu, r.hopEvents, r.lost, r.journeys, r.dropped]
        .map((x) => (Number.isFinite(x) ? String(Math.round(x * 10) / 10) : ''))
        .join(','),
    ),
  ];
  writeFileSync(series, csv.join('\n') + '\n');
  writeFileSync(series.replace(/\.csv$/, '') + '.json', JSON.stringify(summary, null, 2) + '\n');
  process.stdout.write(report(summary, series));
}

/** Nearest-rank quantile. */
const quantile = (xs: readonly number[], q: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil(xs.length * q) - 1))] ?? NaN;
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '—');
const k = (x: number): string => (Number.isFinite(x) ? `${(x / 1000).toFixed(1)}k` : '—');
const pc = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;

interface Summary {
  readonly [key: string]: unknown;
  readonly minutes: number;
  readonly warmS: number;
  readonly clients: number;
  readonly students: number;
  readonly stepEveryMs: number;
  readonly flood: string;
  readonly pingPerS: number;
  readonly hopEventsPerS: number;
  readonly kernelLost: number;
  readonly loader: Pick<LoaderStatus, 'state' | 'restarts' | 'lastError'> | undefined;
  readonly machineBusyPct: number;
  readonly loadAvg: string;
  readonly offeredJourneysPerS: number;
  readonly journeysPerClientPerS: number;
  readonly droppedPerClientPerS: number;
  readonly serverCpuPct: number;
  readonly serverCpuP95Pct: number;
  readonly loaderCpuPct: number;
  readonly benchCpuPct: number;
  readonly rssMb: { readonly [k in 'first' | 'afterWarm' | 'min' | 'median' | 'max' | 'last']: number };
  readonly rssBandPct: readonly number[];
  readonly rssFlat: boolean;
  readonly rssP5P95Pct: readonly number[];
  readonly lagMs: {
    journeys: number;
    median: number;
    p95: number;
    p95PerClient: readonly number[];
    firstClientMedian: number;
    firstClientP95: number;
  };
  readonly benchLoopDelayMs: { median: number; p95: number; max: number };
  readonly journeyJsonBytes: number;
  readonly sentMBPerClientPerS: number;
  readonly broadcastMs: { [k: string]: number };
}

function report(s: Summary, series: string): string {
  const b = s.broadcastMs;
  const m = s.rssMb;
  return [
    `## Classroom of ${s.clients}: 1 instructor + ${s.students} students, one live trace, ${s.flood} pod-a → pod-c, ${s.minutes} min (first ${s.warmS} s warm-up, not counted)`,
    '',
    `Load: ping ${k(s.pingPerS)} packets/s; the view was offered ${k(s.offeredJourneysPerS)} journeys/s and sent ${f1(s.journeysPerClientPerS)}/s to each client (${k(s.droppedPerClientPerS)}/s counted as dropped), ${f1(s.sentMBPerClientPerS)} MB/s to each client (${f1(s.sentMBPerClientPerS * s.clients * 8)} Mbit/s to all ${s.clients}); kernel hop events ${k(s.hopEventsPerS)}/s (loader \`emitted\`), ${s.kernelLost} lost in the ring over the run. The instructor steps every ${s.stepEveryMs} ms.`,
    '',
    `Machine: ${f1(s.machineBusyPct)}% of its 2 vCPUs busy over the measured span (everything, other work included); load average ${s.loadAvg} at the end. Loader: ${s.loader?.state ?? '?'}, ${s.loader?.restarts ?? '?'} restarts${s.loader?.lastError ? ` (${s.loader.lastError})` : ''}.`,
    '',
    '| | |',
    '|---|---|',
    `| server CPU (% of one core, mean; p95 of 1 s samples) | ${f1(s.serverCpuPct)}% (p95 ${f1(s.serverCpuP95Pct)}%) |`,
    `| probe loader CPU (its own process) | ${f1(s.loaderCpuPct)}% |`,
    `| the bench's 30 clients (this process) CPU | ${f1(s.benchCpuPct)}% |`,
    `| server RSS after warm-up: min / median / max / last (MB) | ${f1(m.min)} / ${f1(m.median)} / ${f1(m.max)} / ${f1(m.last)} |`,
    `| RSS band around its median | ${pc(s.rssBandPct[0] ?? NaN)} to ${pc(s.rssBandPct[1] ?? NaN)}: ${s.rssFlat ? 'flat (within ±10%)' : '**not flat** (beyond ±10%)'}; 5th–95th percentile ${pc(s.rssP5P95Pct[0] ?? NaN)} to ${pc(s.rssP5P95Pct[1] ?? NaN)} |`,
    `| kernel → client, every journey, all clients: median / p95 (ms) | ${r0(s.lagMs.median)} / ${r0(s.lagMs.p95)} (${s.lagMs.journeys} journeys; p95 per client ${r0(s.lagMs.p95PerClient[0] ?? NaN)}–${r0(s.lagMs.p95PerClient[1] ?? NaN)}) |`,
    `| kernel → the first client to read each batch: median / p95 (ms) | ${r0(s.lagMs.firstClientMedian)} / ${r0(s.lagMs.firstClientP95)} |`,
    `| the bench process's event-loop delay: median / p95 / max (ms) | ${f1(s.benchLoopDelayMs.median)} / ${f1(s.benchLoopDelayMs.p95)} / ${f1(s.benchLoopDelayMs.max)} |`,
    `| broadcast step, instructor emit → student: median / p95 (ms) | ${f1(b.median ?? NaN)} / ${f1(b.p95 ?? NaN)} (${b.received} of ${b.expected} received) |`,
    `| of which journey changes (sent whole): median / p95 (ms) | ${f1(b.changeMedian ?? NaN)} / ${f1(b.changeP95 ?? NaN)} (${b.journeyChanges}) |`,
    '',
    `RSS first ${f1(m.first)} MB, ${f1(m.afterWarm)} MB after warm-up. A journey is ${k(s.journeyJsonBytes)} B of JSON (median of those shown). Series (one row per second): \`${series.replace(ROOT, '')}\`.`,
    '',
  ].join('\n');
}

async function cleanUp(): Promise<void> {
  await children.endAll();
  if (labIsOurs) await labDown().catch((e: unknown) => console.error(`lab down: ${String(e)}`));
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}

runBench('classroom-load', main, cleanUp);
